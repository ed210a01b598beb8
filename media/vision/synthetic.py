"""Synthetic webcam frames: a flat document image pasted with perspective onto a background.

Used by the tests and ``bench/documents.py`` (no real captures of citizens' documents may be
kept). The ground-truth quad is where the document image's corners land, which is exactly
what :func:`media.vision.quad.detect_quads` should find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from media.vision.clutter import SCENES, finish
from media.vision.geometry import Quad

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
FRAME_SIZE = (1280, 720)  # 720p, the resolution the browser call sends


@dataclass(frozen=True)
class Frame:
    image: Image
    quad: Quad  # where the document is (TL, TR, BR, BL of the pasted image)


def background(rng: np.random.Generator, size: tuple[int, int] = FRAME_SIZE) -> Image:
    """A plausible room behind the citizen: shaded wall, some furniture blocks, sensor noise."""
    width, height = size
    base = rng.uniform(40, 200, 3)
    tilt = rng.uniform(-60, 60, 3)
    ramp = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :, None]
    image: Image = np.broadcast_to(base + tilt * ramp, (height, width, 3)).astype(np.float32)
    image = image.copy()
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(80, 500)), y0 + int(rng.integers(60, 400))
        colour = tuple(float(c) for c in rng.uniform(20, 230, 3))
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1)
    if rng.random() < 0.5:  # wood-grain-like stripes
        stripes = np.sin(np.arange(height, dtype=np.float32) / rng.uniform(3, 12)) * 12
        image += stripes[:, None, None]
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(1.0, 4.0))
    image += rng.normal(0, 4, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def target_quad(
    doc_size: tuple[int, int],
    rng: np.random.Generator,
    frame_size: tuple[int, int] = FRAME_SIZE,
    fill: float = 0.45,
    rotation: float = 0.0,
    tilt: float = 0.0,
) -> Quad:
    """Where to put a document of ``doc_size``: ``fill`` = its width over the frame width,
    ``rotation`` in degrees, ``tilt`` = random corner shift as a fraction of its width."""
    width, height = frame_size
    doc_w, doc_h = doc_size
    w = fill * width
    h = w * doc_h / doc_w
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) / 2
    angle = np.radians(rotation)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = half @ turn.T + rng.uniform(-tilt, tilt, (4, 2)) * w
    span = corners.max(axis=0) - corners.min(axis=0)
    margin = np.array([width, height]) - span
    if (margin < 0.04 * width).any():  # does not fit: shrink around its centre
        corners *= 0.95 * min(width / span[0], height / span[1])
        span = corners.max(axis=0) - corners.min(axis=0)
        margin = np.array([width, height]) - span
    # at least 1 % of the width from the frame edge: fully in view
    edge = 0.01 * width
    origin = rng.uniform(edge, np.maximum(margin - edge, edge + 1)) - corners.min(axis=0)
    return Quad.of(corners + origin)


def paste(document: Image, quad: Quad, backdrop: Image) -> Image:
    """``document`` (BGR, or BGRA with transparent corners) warped onto ``backdrop``."""
    doc_h, doc_w = document.shape[:2]
    source = np.array([[0, 0], [doc_w, 0], [doc_w, doc_h], [0, doc_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, quad.array())
    size = (backdrop.shape[1], backdrop.shape[0])
    if document.ndim == 3 and document.shape[2] == 4:
        colour, alpha = document[:, :, :3], document[:, :, 3]
    else:
        colour, alpha = document, np.full((doc_h, doc_w), 255, np.uint8)
    warped = cv2.warpPerspective(colour, matrix, size, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(alpha, matrix, size, flags=cv2.INTER_LINEAR)
    weight = (mask.astype(np.float32) / 255)[:, :, None]
    out = warped.astype(np.float32) * weight + backdrop.astype(np.float32) * (1 - weight)
    return np.clip(out, 0, 255).astype(np.uint8)


def add_glare(image: Image, centre: tuple[float, float], radius: float) -> Image:
    """A specular highlight: a saturated white spot with a soft rim."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dist2 = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2
    spot = np.exp(-dist2 / (2 * (radius / 2) ** 2)) * 400
    out: Image = np.clip(image.astype(np.float32) + spot[:, :, None], 0, 255).astype(np.uint8)
    return out


def shade(image: Image, rng: np.random.Generator, strength: float = 0.3) -> Image:
    """Uneven lighting: a linear brightness ramp in a random direction."""
    height, width = image.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height) * strength
    gain = (1 - strength / 2 + ramp - ramp.min())[:, :, None]
    out: Image = np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return out


def jpeg(image: Image, quality: int) -> Image:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return decoded


def webcam_frame(
    document: Image,
    rng: np.random.Generator,
    *,
    fill: float | None = None,
    rotation: float | None = None,
    tilt: float | None = None,
    blur: float | None = None,
    glare: bool | None = None,
    quality: int | None = None,
    scene: str | None = None,
) -> Frame:
    """A 720p frame of ``document``; every unset parameter is drawn at random, within the
    range a citizen holding a card to a laptop camera produces. ``scene``: one of the busy
    backgrounds of :data:`media.vision.clutter.SCENES` instead of a plain room."""
    fill = rng.uniform(0.4, 0.75) if fill is None else fill
    rotation = rng.uniform(-15, 15) if rotation is None else rotation
    tilt = rng.uniform(0.0, 0.06) if tilt is None else tilt
    blur = rng.uniform(0.0, 1.2) if blur is None else blur
    glare = rng.random() < 0.2 if glare is None else glare
    quality = int(rng.integers(70, 95)) if quality is None else quality
    quad = target_quad(
        (document.shape[1], document.shape[0]), rng, fill=fill, rotation=rotation, tilt=tilt
    )
    backdrop = (
        background(rng) if scene is None else finish(SCENES[scene](rng, quad, FRAME_SIZE), rng)
    )
    image = paste(document, quad, backdrop)
    image = shade(image, rng, float(rng.uniform(0.0, 0.3)))
    if glare:
        pts = quad.array()
        weights = rng.dirichlet(np.ones(4))
        spot = weights @ pts
        image = add_glare(image, (float(spot[0]), float(spot[1])), float(rng.uniform(20, 45)))
    if blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    return Frame(jpeg(image, quality), quad)
