"""Our own MRZ recogniser: a small CTC network trained on OCR-B, read under the MRZ grammar.

The model (``models/mrz_ocrb.onnx``, trained by ``tools/mrz_training``) takes one MRZ row
as cut by :func:`media.vision.mrz_reader.cut_rows`, scaled to :data:`HEIGHT` pixels, and
gives per column of 4 pixels a score for the CTC blank and each of the 37 MRZ
characters. The row is then decoded to exactly the number of characters its format
has, choosing at each position only among the characters that position's field allows
(:func:`media.mrz.position_alphabets`): a digit can't be read into a name and a name's
fillers come out as '<'. That is a constraint on the reading, found by dynamic
programming over the network's own scores; no check digit takes part in it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from common.once import Once
from media.mrz import MrzFormat, position_alphabets

Image = npt.NDArray[Any]
Scores = npt.NDArray[np.float32]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"  # class i + 1; class 0 is the blank
HEIGHT = 24  # pixels of the network's input rows: glyphs of ~20 px
MODEL = Path(__file__).with_name("models") / "mrz_ocrb.onnx"
# One analysis already runs per executor thread; a session that grabs every core per
# row would only make them queue (see media.vision.ocr for the same reasoning).
THREADS = max(1, min(2, os.cpu_count() or 1))


def scaled(crop: Image) -> npt.NDArray[np.uint8]:
    """A row crop (grey or BGR) at the network's height, its aspect kept."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    height, width = grey.shape[:2]
    target = max(HEIGHT, round(width * HEIGHT / max(1, height)))
    shrink = height > HEIGHT
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    out: npt.NDArray[np.uint8] = np.asarray(
        cv2.resize(grey, (target, HEIGHT), interpolation=interpolation), dtype=np.uint8
    )
    return out


def normalised(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Zero mean, unit contrast per row: the light and the paper's shade vary, the print
    does not. ``rows``: (..., HEIGHT, width) uint8."""
    values = rows.astype(np.float32)
    mean = values.mean(axis=(-2, -1), keepdims=True)
    spread = values.std(axis=(-2, -1), keepdims=True)
    out: npt.NDArray[np.float32] = (values - mean) / (spread + 8.0)
    return out


def _open_session() -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])


_load: Once[Any] = Once(_open_session)  # onnxruntime.InferenceSession, built on first use


def warm_up() -> None:
    """Build the session now (about 50 ms), not on a citizen's first capture."""
    _load()


def log_scores(crop: Image) -> Scores:
    """Per time step, the log-probability of blank and each character: (steps, 38)."""
    row = normalised(scaled(crop))[np.newaxis, np.newaxis]
    out: Scores = _load().run(None, {"row": row})[0][0]
    return out


@cache
def _masks(fmt: MrzFormat) -> tuple[npt.NDArray[np.bool_], ...]:
    """Per line, (columns, 38): which classes each column may take (never the blank)."""
    masks = []
    for line in position_alphabets(fmt):
        mask = np.zeros((len(line), len(ALPHABET) + 1), dtype=bool)
        for column, allowed in enumerate(line):
            mask[column, [ALPHABET.index(char) + 1 for char in allowed]] = True
        masks.append(mask)
    return tuple(masks)


def greedy(scores: Scores) -> str:
    """Best class per step, repeats collapsed, blanks dropped (plain CTC)."""
    best = np.argmax(scores, axis=1)
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    return "".join(ALPHABET[i - 1] for i in best[keep] if i != 0)


def constrained(scores: Scores, allowed: npt.NDArray[np.bool_]) -> tuple[str, float]:
    """The most probable reading of exactly ``len(allowed)`` characters, each from its
    column's classes; returns it with its log-probability (``-inf`` if none fits).

    Viterbi over the CTC lattice: per column a state per allowed character (emitting
    it, possibly over several steps) and a blank state after it. A character follows
    the one before directly only if it differs (CTC needs a blank between two equal
    ones), which is why the states keep the character and not only the column.
    """
    steps, classes = scores.shape
    columns = len(allowed)
    if steps < columns:
        return "", float("-inf")
    ninf = np.float32(-np.inf)
    emit = np.where(allowed[np.newaxis], scores[:, np.newaxis, :], ninf)  # (T, N, C)
    labels = np.full((steps, columns, classes), ninf, dtype=np.float32)
    blanks = np.full((steps, columns), ninf, dtype=np.float32)
    starts = np.cumsum(scores[:, 0])  # only blanks so far
    labels[0, 0] = emit[0, 0]
    every_class = np.arange(classes)[np.newaxis]
    stayed = np.zeros(labels.shape, dtype=bool)  # label state kept from the step before
    from_blank = np.zeros(labels.shape, dtype=bool)  # else entered from a blank / a label
    blank_stayed = np.zeros(blanks.shape, dtype=bool)
    for t in range(1, steps):
        label, blank = labels[t - 1], blanks[t - 1]
        best_class = np.argmax(label, axis=1)
        best = np.take_along_axis(label, best_class[:, np.newaxis], axis=1)[:, 0]
        second = np.partition(label, classes - 2, axis=1)[:, classes - 2]
        # into column i: from the blank after column i-1, or straight from column i-1's
        # label if that is another character (else from its second best)
        before = np.concatenate(([starts[t - 1]], blank[:-1]))
        direct = np.where(
            every_class == np.concatenate(([-1], best_class[:-1]))[:, np.newaxis],
            np.concatenate(([ninf], second[:-1]))[:, np.newaxis],
            np.concatenate(([ninf], best[:-1]))[:, np.newaxis],
        )
        from_blank[t] = before[:, np.newaxis] >= direct
        entry = np.maximum(before[:, np.newaxis], direct)
        stayed[t] = label >= entry
        labels[t] = np.maximum(label, entry) + emit[t]
        blank_stayed[t] = blank >= best
        blanks[t] = np.maximum(blank, best) + scores[t, 0]
    path = _Path(labels, blanks, stayed, from_blank, blank_stayed)
    return path.text(), path.total


@dataclass(frozen=True)
class _Path:
    """The end states of :func:`constrained` and how each step reached them."""

    labels: Scores  # (T, N, C): best score of emitting class C as column N at step T
    blanks: Scores  # (T, N): best score of the blank after column N at step T
    stayed: npt.NDArray[np.bool_]
    from_blank: npt.NDArray[np.bool_]
    blank_stayed: npt.NDArray[np.bool_]

    @property
    def total(self) -> float:
        return max(float(self.labels[-1, -1].max()), float(self.blanks[-1, -1]))

    def text(self) -> str:
        """Walk the best path back from its end, noting each column's character."""
        if self.total == float("-inf"):
            return ""
        steps, columns, _classes = self.labels.shape
        chars = [0] * columns
        column = columns - 1
        in_blank = self.blanks[-1, -1] > self.labels[-1, -1].max()
        cls = int(np.argmax(self.labels[-1, -1]))
        for t in range(steps - 1, 0, -1):
            if in_blank:
                if not self.blank_stayed[t, column]:
                    in_blank, cls = False, int(np.argmax(self.labels[t - 1, column]))
                continue
            chars[column] = cls
            if self.stayed[t, column, cls]:
                continue
            if column == 0:
                return _spelled(chars)
            if self.from_blank[t, column, cls]:
                column -= 1
                in_blank = True
                continue
            previous = self.labels[t - 1, column - 1].copy()
            previous[cls] = -np.inf  # a direct step is always to another character
            column, cls = column - 1, int(np.argmax(previous))
        chars[column] = cls
        return _spelled(chars)


def _spelled(classes: Sequence[int]) -> str:
    return "".join(ALPHABET[c - 1] for c in classes)


_WIDTHS: dict[MrzFormat, int] = {"TD1": 30, "TD2": 36, "TD3": 44}


def _candidates(rows: Sequence[Scores]) -> tuple[MrzFormat, ...]:
    """The formats a zone of these rows can be: three rows are TD1, unless their plain
    reading is far longer than 30 (a passport's two rows with a line of print below);
    of two rows, the width the plain reading comes nearest to, or both when it lies
    between them."""
    if len(rows) not in (2, 3):
        return ()
    length = sum(len(greedy(row)) for row in rows[:2]) / 2
    if len(rows) == 3:
        return ("TD1",) if length < 38 else ()
    if length <= 38:
        return ("TD2",)
    if length >= 42:
        return ("TD3",)
    return ("TD2", "TD3")


def read_row(crop: Image, fmt: MrzFormat, line: int) -> tuple[str, float]:
    """Row ``line`` of a ``fmt`` zone read from ``crop``, and what the grammar cost the
    reading: how much less probable it is than the network's own best path (0 when the
    network read the row just so; more when it saw another length or characters the
    row's fields exclude). Of two cuts of one row, the cheaper reading is the surer."""
    scores = log_scores(crop)
    text, total = constrained(scores, _masks(fmt)[line])
    return text, float(scores.max(axis=1).sum()) - total


def read_zone(crops: Sequence[Image]) -> tuple[str, ...]:
    """The text of an MRZ's rows, each read to its format's length under its grammar.

    Rows that fit no format (not 2 or 3 of them, or too short for their length) come
    back as the network's plain reading, which the parser then rejects with a reason.
    """
    rows = [log_scores(crop) for crop in crops]
    best: tuple[float, tuple[str, ...]] | None = None
    for fmt in _candidates(rows):
        readings = [constrained(row, mask) for row, mask in zip(rows, _masks(fmt), strict=True)]
        score = sum(score for _, score in readings)
        if score > float("-inf") and (best is None or score > best[0]):
            best = (score, tuple(text for text, _ in readings))
    if best is None:
        return tuple(greedy(row) for row in rows)
    return best[1]
