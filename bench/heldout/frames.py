"""One held-out frame: a document, a scene, a pose, the camera; and its ground truth.

Frame ``n`` of a seed is drawn from its own generator (``[seed, n]``), so it is the same
frame whatever the count asked for, and a failure can be looked at again alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from heldout import camera, scenes
from heldout.document import Document, open_booklet, render
from heldout.identity import Format, identity
from media.vision.geometry import Quad

Image = npt.NDArray[Any]
_SIZE_MM: dict[Format, tuple[float, float]] = {"TD1": (85.6, 54.0), "TD3": (125.0, 88.0)}
_ASPECT = {fmt: w / h for fmt, (w, h) in _SIZE_MM.items()}
SPECIMEN_SHARE = 0.15
# Single documents printed flat, big enough to be pasted without upscaling much.
_SPECIMEN_CAPTURES = {"flat_specimen_render", "flat_render", "flat_scan", "flat_specimen_marked"}


@dataclass(frozen=True)
class HeldOutFrame:
    image: Image  # 1280 x 720 BGR, as decoded from the JPEG
    quad: Quad  # the document's corners in the frame, TL TR BR BL
    mrz: tuple[str, ...]  # as printed
    source: str  # "TD1 card", "TD3 page", "TD3 booklet" or a specimen's file name
    scene: str  # a key of scenes.KINDS, with " + hand" when a hand holds it


@dataclass(frozen=True)
class Specimen:
    file: str
    document: Document


def specimens(samples: Path) -> tuple[Specimen, ...]:
    """The shared specimens that can stand in for a held-up document: one flat TD1 or
    TD3 document per image, whose MRZ validates. Empty when the folder is missing."""
    manifest = samples / "manifest.json"
    if not manifest.is_file():
        return ()
    found = []
    for entry in json.loads(manifest.read_text("utf-8")):
        fmt = entry.get("mrz_format")
        if not (
            (fmt == "TD1" or fmt == "TD3")
            and entry["mrz_valid"] is True
            and entry["capture"] in _SPECIMEN_CAPTURES
            and entry["width"] >= 450
            # the image is the document, not a scan with a margin round it
            and abs(entry["width"] / entry["height"] / _ASPECT[fmt] - 1) < 0.04
        ):
            continue
        image = cv2.imread(str(samples / entry["file"]), cv2.IMREAD_UNCHANGED)
        if image is None:
            continue
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.shape[2] == 3:
            image = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        h, w = image.shape[:2]
        outline = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
        found.append(Specimen(entry["file"], Document(image, outline, tuple(entry["mrz"]), fmt)))
    return tuple(found)


def _document(rng: np.random.Generator, pool: Sequence[Specimen]) -> tuple[Document, str]:
    if pool and rng.random() < SPECIMEN_SHARE:
        chosen = pool[int(rng.integers(0, len(pool)))]
        return chosen.document, chosen.file
    fmt: Format = "TD1" if rng.random() < 0.5 else "TD3"
    document = render(fmt, identity(rng), rng)
    if fmt == "TD3" and rng.random() < 0.35:
        return open_booklet(document, rng), "TD3 booklet"
    return document, "TD1 card" if fmt == "TD1" else "TD3 page"


def frame(rng: np.random.Generator, pool: Sequence[Specimen] = ()) -> HeldOutFrame:
    document, source = _document(rng, pool)
    kind = str(rng.choice(list(scenes.KINDS)))
    image = scenes.KINDS[kind](rng)
    target = None
    while target is None:  # a pose whose fitted outline still covers MIN_FILL
        target = camera.place(_SIZE_MM[document.format], camera.random_pose(rng), rng)
    hand = rng.random() < 0.35
    if hand:
        scenes.palm(image, target, rng)
    image = camera.paste(image, document.image, document.outline, target)
    if hand and rng.random() < 0.6:
        scenes.thumb(image, target, rng)
    image = camera.light(image, rng)
    if rng.random() < 0.35:
        image = camera.glare(image, target, rng)
    image = camera.sensor(camera.blur(image, rng), rng)
    return HeldOutFrame(
        image=camera.jpeg(image, rng),
        quad=Quad.of(target),
        mrz=document.mrz,
        source=source,
        scene=kind + (" + hand" if hand else ""),
    )


def frames(count: int, seed: int, pool: Sequence[Specimen] = ()) -> Iterator[HeldOutFrame]:
    for n in range(count):
        yield frame(np.random.default_rng([seed, n]), pool)
