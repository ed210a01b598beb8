"""Train the MRZ recogniser (media/vision/models/mrz_ocrb.onnx) from generated zones.

Run from the repository root, in a virtual environment of its own (PyTorch is a tool
of training, not a dependency of the product)::

    python3 -m venv .train && .train/bin/pip install -r tools/mrz_training/requirements.txt
    PYTHONPATH=. .train/bin/python -m tools.mrz_training.train

Everything is seeded: the generated zones (``--seed``), the weights' initialisation and
the batch order. The data are made by :mod:`tools.mrz_training.strips` only; no
specimen document is used for training or for choosing the model.

The network: five 3x3 convolutions with batch norm that take the height from 24 to 1
and the width to a quarter (one step per 4 pixels, about 5 steps per character of a
row cut tightly, still 2-3 in a row whose box is twice the glyphs' height or condensed:
CTC needs two steps for each of a run of equal characters, as '<<<<'), a 1-D
convolution over neighbouring steps, and a linear layer to the blank and the 37 MRZ
characters, trained with CTC. About 0.1 M parameters.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from media.vision import ocrb
from tools.mrz_training import strips

Rows = list[tuple[np.ndarray, str]]
STRIDE = 4  # input pixels per output step


def _shard(seed: int, index: int, zones: int) -> Rows:
    rng = random.Random(seed * 1_000_003 + index)
    rows: Rows = []
    for _ in range(zones):
        for crop, text in strips.sample(rng):
            rows.append((ocrb.scaled(crop), text))
    return rows


PER_SHARD = 200  # zones made by one worker call
PER_FILE = 80  # shards kept in one cache file


def generate(seed: int, zones: int, workers: int, cache: Path) -> Rows:
    """``zones`` generated zones' rows, cut and scaled. Kept in ``cache`` in blocks of
    shards, so a longer run reuses what a shorter one with the same seed made."""
    shards = math.ceil(zones / PER_SHARD)
    rows: Rows = []
    for first in range(0, shards, PER_FILE):
        block = range(first, min(shards, first + PER_FILE))
        path = cache / f"rows-{seed}-shards-{block.start}-{block.stop}.npz"
        if path.exists():
            data = np.load(path, allow_pickle=True)
            rows += list(zip(data["images"], data["texts"], strict=True))
            continue
        made: Rows = []
        with ProcessPoolExecutor(workers) as pool:
            for part in pool.map(_shard, [seed] * len(block), block, [PER_SHARD] * len(block)):
                made += part
        cache.mkdir(parents=True, exist_ok=True)
        images = np.empty(len(made), dtype=object)
        images[:] = [image for image, _ in made]
        np.savez(path, images=images, texts=np.array([text for _, text in made]))
        rows += made
    return rows


class Recogniser(nn.Module):
    def __init__(self, classes: int = len(ocrb.ALPHABET) + 1) -> None:
        super().__init__()

        def block(
            cin: int, cout: int, pool: tuple[int, int] | None, stride: int = 1
        ) -> list[nn.Module]:
            layers: list[nn.Module] = [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
            if pool:
                layers.append(nn.MaxPool2d(pool, pool))
            return layers

        self.features = nn.Sequential(
            # strided, not pooled: full-resolution activations cost more than they add
            *block(1, 16, None, stride=2),  # 12 x W/2
            *block(16, 32, (2, 2)),  # 6 x W/4
            *block(32, 48, None),
            *block(48, 48, (2, 1)),  # 3 x W/4
            *block(48, 64, (3, 1)),  # 1 x W/4
        )
        self.context = nn.Sequential(
            nn.Conv1d(64, 96, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv1d(96, classes, 1),
        )

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """(B, 1, 24, W) normalised rows -> (B, W/4, classes) log-probabilities."""
        steps = self.features(rows).squeeze(2)
        return torch.log_softmax(self.context(steps), dim=1).transpose(1, 2)


def initialise(model: Recogniser, path: Path, rows: Rows) -> None:
    """Start from the weights of an exported model (``path``, ONNX, whose convolutions
    have their batch norm folded in), e.g. the shipped one. Each batch norm is set so
    that the network computes exactly what the exported one did (in evaluation) and
    nearly that in training: its statistics measured on ``rows``, its scale and shift
    undoing them. The pooling may differ from the exported network's (a finer stride):
    the weights' shapes do not depend on it."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    pairs = [
        (model.features[i], model.features[i + 1])
        for i in range(len(model.features))
        if isinstance(model.features[i], nn.Conv2d)
    ]
    folded: list[torch.Tensor] = []
    with torch.no_grad():
        for (conv, norm), node in zip(pairs, convs, strict=False):
            conv.weight.copy_(torch.from_numpy(weights[node.input[1]]))
            folded.append(torch.from_numpy(weights[node.input[2]]))
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0)
            norm.weight.fill_(math.sqrt(1.0 + norm.eps))
            norm.bias.copy_(folded[-1])
        for layer, node in zip(
            [model.context[0], model.context[3]], convs[len(pairs) :], strict=True
        ):
            layer.weight.copy_(torch.from_numpy(weights[node.input[1]]))
            layer.bias.copy_(torch.from_numpy(weights[node.input[2]]))
        seen: list[torch.Tensor] = []
        hooks = [
            conv.register_forward_hook(lambda _m, _i, out: seen.append(out)) for conv, _ in pairs
        ]
        model.eval()
        sample = random.Random(0).sample(range(len(rows)), min(512, len(rows)))
        for start in range(0, len(sample), 64):
            model(tensors(rows, sample[start : start + 64])[0])
        for hook in hooks:
            hook.remove()
        for k, (_conv, norm) in enumerate(pairs):
            outs = seen[k :: len(pairs)]
            flat = torch.cat([out.transpose(0, 1).reshape(out.shape[1], -1) for out in outs], 1)
            mean, var = flat.mean(1), flat.var(1)
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.copy_(mean + folded[k])
    model.train()


def batches(rows: Rows, size: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped by similar width (little padding), in a shuffled order."""
    order = sorted(range(len(rows)), key=lambda i: rows[i][0].shape[1] + rng.random())
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def augmented(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """A cached row as another row finder or warp could have cut it: with more paper
    above and below (a box taller than the glyphs: they come out smaller), trimmed to
    the glyphs, or stretched sideways (a condensed font, a warp with the wrong aspect)."""
    height, width = image.shape
    if rng.random() < 0.35:
        top, bottom = (round(rng.uniform(0, 0.5) * height) for _ in range(2))
        image = cv2.copyMakeBorder(image, top, bottom, 0, 0, cv2.BORDER_REPLICATE)
    elif rng.random() < 0.2:
        top, bottom = (round(rng.uniform(0, 0.1) * height) for _ in range(2))
        image = image[top : height - bottom]
    stretch = rng.uniform(0.75, 1.3) if rng.random() < 0.5 else 1.0
    scale = ocrb.HEIGHT / image.shape[0]
    size = (max(ocrb.HEIGHT, round(width * scale * stretch)), ocrb.HEIGHT)
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def tensors(
    rows: Rows, group: list[int], rng: random.Random | None = None
) -> tuple[torch.Tensor, ...]:
    """A batch: rows normalised (augmented when given ``rng``), padded to one width."""
    images = [rows[i][0] if rng is None else augmented(rows[i][0], rng) for i in group]
    width = max(image.shape[1] for image in images)
    batch = np.zeros((len(group), 1, ocrb.HEIGHT, width), np.float32)
    lengths, targets, target_lengths = [], [], []
    for k, (image, i) in enumerate(zip(images, group, strict=True)):
        text = rows[i][1]
        row = ocrb.normalised(image)
        batch[k, 0, :, : row.shape[1]] = row
        batch[k, 0, :, row.shape[1] :] = row[:, -1:]  # padding continues the paper
        lengths.append(row.shape[1] // STRIDE)
        targets += [ocrb.ALPHABET.index(c) + 1 for c in text]
        target_lengths.append(len(text))
    return (
        torch.from_numpy(batch),
        torch.tensor(lengths),
        torch.tensor(targets),
        torch.tensor(target_lengths),
    )


def evaluate(model: Recogniser, rows: Rows) -> tuple[float, float]:
    """Exact rows with greedy decoding, and with the grammar-free exact-length decoding."""
    model.eval()
    exact = exact_length = 0
    with torch.no_grad():
        for image, text in rows:
            row = torch.from_numpy(ocrb.normalised(image))[None, None]
            scores = model(row)[0].numpy()
            exact += ocrb.greedy(scores) == text
            allowed = np.ones((len(text), len(ocrb.ALPHABET) + 1), bool)
            allowed[:, 0] = False
            exact_length += ocrb.constrained(scores, allowed)[0] == text
    model.train()
    return exact / len(rows), exact_length / len(rows)


def export(model: Recogniser, path: Path) -> None:
    model.eval()
    example = torch.zeros(1, 1, ocrb.HEIGHT, 400)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["row"],
        output_names=["scores"],
        dynamic_axes={"row": {3: "width"}, "scores": {1: "steps"}},
        opset_version=17,
        dynamo=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=32000)
    parser.add_argument("--validation-zones", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=3, help="phase 1: rows as cut")
    parser.add_argument("--augmented-epochs", type=int, default=2, help="phase 2")
    parser.add_argument("--start-phase", type=int, default=1, help="2: resume from phase 1")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("var/mrz-training"))
    parser.add_argument("--out", type=Path, default=ocrb.MODEL)
    parser.add_argument(
        "--init", type=Path, default=None, help="start from this exported model's weights"
    )
    args = parser.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    started = time.time()
    train = generate(args.seed, args.zones, args.workers, args.cache)
    held = generate(args.seed + 1, args.validation_zones, args.workers, args.cache)
    print(
        f"{len(train)} training rows, {len(held)} validation rows ({time.time() - started:.0f} s)",
        flush=True,
    )
    model = Recogniser()
    print(f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
    if args.init is not None:
        initialise(model, args.init, train)
        greedy, exact = evaluate(model, held)
        print(
            f"from {args.init}: validation exact rows greedy {100 * greedy:.1f} %, "
            f"exact length {100 * exact:.1f} %",
            flush=True,
        )
    # Phase 1 learns the glyphs from the rows as cut; phase 2 goes on with the rows
    # augmented (taller or tighter boxes, condensed or widened), at a lower rate.
    phases = ((args.epochs, 3e-3, False), (args.augmented_epochs, 1.5e-3, True))
    for phase, (epochs, rate, augment) in enumerate(phases, 1):
        if phase < args.start_phase:
            continue
        if phase == args.start_phase and phase > 1:
            model.load_state_dict(torch.load(args.cache / f"weights-{phase - 1}.pt"))
        augment_rng = random.Random(args.seed + 100) if augment else None
        _train(model, train, held, (phase, epochs, rate), augment_rng, args, started)
        torch.save(model.state_dict(), args.cache / f"weights-{phase}.pt")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


def _train(
    model: Recogniser,
    train: Rows,
    held: Rows,
    schedule_of: tuple[int, int, float],
    augment: random.Random | None,
    args: argparse.Namespace,
    started: float,
) -> None:
    phase, epochs, rate = schedule_of
    rng = random.Random(args.seed + phase - 1)  # the order of batches
    steps_per_epoch = math.ceil(len(train) / args.batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=rate, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    for epoch in range(epochs):
        total = 0.0
        for step, group in enumerate(batches(train, args.batch, rng), 1):
            rows, lengths, targets, target_lengths = tensors(train, group, augment)
            scores = model(rows).transpose(0, 1)  # CTC wants (T, B, C)
            loss = ctc(scores, targets, lengths, target_lengths)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += float(loss)
            if step % 400 == 0:
                print(f"  step {step}: loss {float(loss):.4f} ({time.time() - started:.0f} s)")
        greedy, exact = evaluate(model, held)
        print(
            f"epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.4f}, validation "
            f"exact rows greedy {100 * greedy:.1f} %, exact length {100 * exact:.1f} % "
            f"({time.time() - started:.0f} s)",
            flush=True,
        )
        export(model, args.out)  # after every epoch: a long run may be stopped early


if __name__ == "__main__":
    main()
