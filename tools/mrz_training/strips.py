"""MRZ zones rendered in OCR-B and degraded like a webcam frame, cut as the product cuts.

Each sample starts as a 2- or 3-row zone drawn at high resolution on printed paper
(tinted, guilloche, field boxes), with what sits around a real zone: text of the
visual zone above it, a card edge beside it, a signature or a hologram stripe. It then
goes through what a camera and our own warp do to it: slight rotation and perspective,
uneven light and glare, loss of resolution (the card fills a tenth of a 720p frame or
the whole of a scan), defocus and motion blur, sensor noise and JPEG, and the way back
up to the flattened card's scale. Rows are finally located and cut by the product's own
functions (:func:`media.vision.mrz_reader.locate`, ``refine_row``, ``cut_rows``), so the
recogniser trains on the crops it will be given, margins and mistakes included.

The training data are generated only: no specimen document is ever used for training.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from media.vision import mrz_reader
from media.vision.mrz_reader import Box
from tools.mrz_training import texts

Image = npt.NDArray[Any]
OCRB_DIR = Path("/usr/share/fonts/opentype/ocr-b")  # Debian's fonts-ocr-b (public domain)
MONO_DIR = Path("/usr/share/fonts/truetype")
# OCR-B as printed on documents, and in a share of samples another monospace font, so
# the model keys on shapes common to OCR-B rather than on one rendering's details.
MRZ_FONTS = (
    (OCRB_DIR / "OCRB.otf", 0.70),
    (OCRB_DIR / "OCRBS.otf", 0.15),
    (MONO_DIR / "dejavu/DejaVuSansMono.ttf", 0.05),
    (MONO_DIR / "dejavu/DejaVuSansMono-Bold.ttf", 0.03),
    (MONO_DIR / "liberation/LiberationMono-Regular.ttf", 0.04),
    (MONO_DIR / "liberation/LiberationMono-Bold.ttf", 0.03),
)
CLUTTER_FONTS = (
    MONO_DIR / "dejavu/DejaVuSans.ttf",
    MONO_DIR / "dejavu/DejaVuSans-Bold.ttf",
    MONO_DIR / "dejavu/DejaVuSerif.ttf",
    MONO_DIR / "liberation/LiberationSans-Regular.ttf",
)


@lru_cache(maxsize=256)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True)
class Zone:
    image: Image  # BGR, at the scale of a flattened card
    boxes: tuple[Box, ...]  # each row's ink, as the product's row finder would box it
    lines: tuple[str, ...]
    pitch: float


def _pick_font(rng: random.Random) -> Path:
    paths = [path for path, _ in MRZ_FONTS]
    return rng.choices(paths, [weight for _, weight in MRZ_FONTS])[0]


def _paper(rng: random.Random, width: int, height: int) -> Image:
    base = np.array([rng.uniform(175, 255) for _ in range(3)], np.float32)
    if rng.random() < 0.5:  # the pale tint of security paper
        base = np.clip(base * np.array([rng.uniform(0.85, 1.0) for _ in range(3)]), 0, 255)
    image = np.empty((height, width, 3), np.float32)
    image[:] = base
    for _ in range(rng.randint(0, 12)):  # guilloche: fine coloured waves
        colour = tuple(float(c) for c in np.clip(base - rng.uniform(15, 90), 0, 255))
        phase, period = rng.uniform(0, 6.3), rng.uniform(0.05, 0.4) * width
        amplitude, y0 = rng.uniform(0.05, 0.5) * height, rng.uniform(0, height)
        xs = np.arange(0, width, 3)
        ys = y0 + amplitude * np.sin(xs / period * 2 * np.pi + phase)
        points = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(image, [points], False, colour, rng.choice((1, 1, 2)), cv2.LINE_AA)
    return image


def _clutter(
    rng: random.Random, draw: ImageDraw.ImageDraw, area: tuple[int, int, int, int], cap: float
) -> None:
    """Printed text of the visual zone inside ``area`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = area
    if y1 - y0 < cap * 0.6:
        return
    size = max(8, int(cap * rng.uniform(0.6, 1.3)))
    font = _font(rng.choice(CLUTTER_FONTS), size)
    y = y0
    while y < y1 - size:
        words = " ".join(texts._word(rng, 2, 9).capitalize() for _ in range(rng.randint(1, 6)))
        grey = rng.randint(0, 120)
        draw.text(
            (x0 + rng.uniform(0, 0.4) * (x1 - x0), y), words, fill=(grey, grey, grey), font=font
        )
        y += int(size * rng.uniform(1.3, 2.5))


def render(rng: random.Random, lines: list[str]) -> Zone:
    """The zone ``lines`` printed on paper at high resolution, with what surrounds it."""
    font_path = _pick_font(rng)
    size = rng.randint(30, 56)
    font = _font(font_path, size)
    left, top, right, bottom = font.getbbox("A")
    cap = bottom - top
    pitch = font.getlength("A") * rng.uniform(0.97, 1.1)
    spacing = cap * rng.uniform(1.45, 2.3)
    columns = len(lines[0])
    margin_x = [pitch * rng.uniform(0.6, 4.0) for _ in range(2)]
    margin_top, margin_bottom = cap * rng.uniform(0.8, 6.0), cap * rng.uniform(0.6, 3.0)
    width = int(margin_x[0] + columns * pitch + margin_x[1])
    height = int(margin_top + (len(lines) - 1) * spacing + cap + margin_bottom)
    paper = _paper(rng, width, height)
    canvas = PilImage.fromarray(np.clip(paper, 0, 255).astype(np.uint8)[:, :, ::-1])
    draw = ImageDraw.Draw(canvas)
    if rng.random() < 0.25:  # a field box printed around the zone
        box_colour = (rng.randint(120, 255), rng.randint(0, 120), rng.randint(0, 120))
        draw.rectangle(
            (
                margin_x[0] * 0.5,
                margin_top - cap * 0.5,
                width - margin_x[1] * 0.5,
                height - margin_bottom * 0.5,
            ),
            outline=box_colour,
            width=2,
        )
    if rng.random() < 0.6:
        _clutter(rng, draw, (int(margin_x[0]), 0, width, int(margin_top - cap * 0.7)), cap)
    ink = rng.randint(0, 70)
    tint = [max(0, min(255, ink + rng.randint(-15, 15))) for _ in range(3)]
    stroke = 1 if size > 40 and rng.random() < 0.25 else 0
    boxes: list[Box] = []
    for row, text in enumerate(lines):
        y = margin_top + row * spacing - top
        for column, char in enumerate(text):
            jitter = rng.uniform(-0.03, 0.03) * pitch
            draw.text(
                (margin_x[0] + column * pitch + jitter, y),
                char,
                font=font,
                fill=tuple(tint),
                stroke_width=stroke,
                stroke_fill=tuple(tint),
            )
        x0 = margin_x[0] + left
        x1 = margin_x[0] + (columns - 1) * pitch + right
        boxes.append((round(x0), round(y + top), round(x1 - x0), round(cap)))
    image = np.asarray(canvas)[:, :, ::-1].astype(np.float32)
    _edges(rng, image, boxes, pitch)
    return Zone(image, tuple(boxes), tuple(lines), pitch)


def _condensed(rng: random.Random, zone: Zone) -> Zone:
    """The zone printed narrower or wider than OCR-B's own proportions (documents print
    condensed OCR-B; a warp with the wrong aspect does the same): scaled sideways only."""
    if rng.random() >= 0.35:
        return zone
    factor = rng.uniform(0.7, 1.3)
    image = cv2.resize(zone.image, None, fx=factor, fy=1.0, interpolation=cv2.INTER_AREA)
    boxes = tuple((round(x * factor), y, round(w * factor), h) for x, y, w, h in zone.boxes)
    return Zone(image, boxes, zone.lines, zone.pitch * factor)


def _edges(rng: random.Random, image: Image, boxes: list[Box], pitch: float) -> None:
    """A card edge beside the zone (background beyond it), a signature, a stripe."""
    height, width = image.shape[:2]
    right = boxes[0][0] + boxes[0][2]
    if rng.random() < 0.3:
        x = int(right + pitch * rng.uniform(0.4, 2.0))
        if x < width:
            image[:, x:] = [rng.uniform(0, 255) for _ in range(3)]
    if rng.random() < 0.15:
        x = int(boxes[0][0] - pitch * rng.uniform(0.4, 2.0))
        if x > 0:
            image[:, :x] = [rng.uniform(0, 255) for _ in range(3)]
    if rng.random() < 0.15:  # a signature stroke dipping toward the first row
        xs = np.linspace(rng.uniform(0, width / 2), rng.uniform(width / 2, width), 40)
        ys = boxes[0][1] - rng.uniform(0.2, 1.0) * boxes[0][3] + 8 * np.sin(xs / 17)
        points = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(image, [points], False, (60, 40, 30), 2, cv2.LINE_AA)
    if rng.random() < 0.15:  # a translucent hologram stripe across the zone
        y0 = int(rng.uniform(0, height))
        band = slice(y0, y0 + int(rng.uniform(0.2, 0.8) * boxes[0][3]))
        colour = np.array([rng.uniform(150, 255) for _ in range(3)], np.float32)
        image[band] = image[band] * 0.7 + colour * 0.3


def _light(rng: random.Random, image: Image, clean: bool = False) -> Image:
    """Uneven light across the zone and, sometimes, a glare spot washing print out
    (a scan: nearly even light, no glare)."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xs / width - 0.5) * math.cos(angle) + (ys / height - 0.5) * math.sin(angle)
    unevenness = 0.1 if clean else 0.5
    image = image * (1 + rng.uniform(-unevenness, unevenness) * ramp)[:, :, None]
    image = image * (rng.uniform(0.9, 1.05) if clean else rng.uniform(0.55, 1.1))
    if not clean and rng.random() < 0.3:
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.05, 0.4) * width
        spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
        strength = rng.uniform(0.3, 0.85)
        image = image * (1 - strength * spot[:, :, None]) + 255 * strength * spot[:, :, None]
    return image


def _geometry(rng: random.Random, zone: Zone, image: Image) -> tuple[Image, list[Box]]:
    """Slight rotation and keystone left over after flattening a tilted card."""
    height, width = image.shape[:2]
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    wobble = 0.012 * width
    moved = corners + np.array(
        [[rng.uniform(-wobble, wobble), rng.uniform(-wobble, wobble)] for _ in range(4)],
        np.float32,
    )
    turn = math.radians(rng.uniform(-1.2, 1.2))
    centre = np.array([width / 2, height / 2], np.float32)
    cos, sin = math.cos(turn), math.sin(turn)
    rotation = np.array([[cos, -sin], [sin, cos]], np.float32)
    moved = ((moved - centre) @ rotation.T + centre).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    out = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    boxes = []
    for x, y, w, h in zone.boxes:
        points = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], np.float32)
        mapped = cv2.perspectiveTransform(points, matrix)[0]
        x0, y0 = mapped.min(axis=0)
        x1, y1 = mapped.max(axis=0)
        boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return out, boxes


def _sensor(
    rng: random.Random, image: Image, *, noise: float, jpeg: float, quality: tuple[int, int]
) -> Image:
    """Sensor noise up to ``noise`` (sigma), then, with chance ``jpeg``, JPEG at a quality
    in ``quality`` (the rng draws in the order the seeded data was made with)."""
    noisy = image + np.random.default_rng(rng.randrange(2**32)).normal(
        0, rng.uniform(0, noise), image.shape
    )
    result: Image = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < jpeg:
        _, data = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(*quality)])
        result = np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR))
    return result


def _camera(
    rng: random.Random, image: Image, cap: float, clean: bool = False
) -> tuple[Image, float]:
    """Loss of resolution, blur, noise and JPEG at the camera's scale, then the way back
    up to the flattened card's scale; returns the image and the factor applied.

    ``clean``: a sharp scan or render at high resolution instead (glyphs 20-45 px high,
    no blur, little noise, light JPEG at most), where nothing but the glyph's exact
    shape tells 0 from O and D, or M from H: the network must learn those shapes, not
    only what survives a webcam."""
    if clean:
        seen_cap = rng.uniform(20.0, 45.0)
        down = min(1.0, seen_cap / cap)
        small: Image = cv2.resize(image, None, fx=down, fy=down, interpolation=cv2.INTER_AREA)
        return _sensor(rng, small, noise=2.5, jpeg=0.4, quality=(85, 98)), down
    seen_cap = math.exp(rng.uniform(math.log(6.5), math.log(30)))
    down = min(1.0, seen_cap / cap)
    small = cv2.resize(image, None, fx=down, fy=down, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        sigma = rng.uniform(0.3, 1.4)
        small = cv2.GaussianBlur(small, (0, 0), sigma)
    if rng.random() < 0.2:
        length = rng.randint(2, 5)
        kernel: Image = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        angle = rng.uniform(0, 180)
        rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        small = cv2.filter2D(small, -1, kernel / max(kernel.sum(), 1e-6))
    small = _sensor(rng, small, noise=9.0, jpeg=0.75, quality=(35, 95))
    work_cap = rng.uniform(max(10.0, seen_cap), 40.0) if rng.random() < 0.8 else seen_cap
    up = work_cap / (cap * down)
    interpolation = rng.choice((cv2.INTER_LINEAR, cv2.INTER_CUBIC))
    out = cv2.resize(small, None, fx=up, fy=up, interpolation=interpolation)
    return out, down * up


def _scaled(boxes: list[Box], factor: float) -> list[Box]:
    return [tuple(round(v * factor) for v in box) for box in boxes]  # type: ignore[misc]


def _iou(a: Box, b: Box) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / max(1, a[2] * a[3] + b[2] * b[3] - inter)


def _rows(rng: random.Random, image: Image, truth: list[Box]) -> tuple[Box, ...]:
    """The rows as the product finds them when it finds these, else the true boxes
    jittered the way a row finder errs; then refined and aligned as the product does."""
    for stack in mrz_reader.locate(image)[:3]:
        if len(stack) == len(truth) and all(
            _iou(a, b) > 0.5 for a, b in zip(stack, truth, strict=True)
        ):
            found = stack
            break
    else:
        found = []
        for x, y, w, h in truth:
            dy, grow = rng.uniform(-0.12, 0.12) * h, rng.uniform(0.9, 1.15)
            dx0, dx1 = rng.uniform(-0.3, 0.3) * h, rng.uniform(-0.3, 0.3) * h
            found.append((round(x + dx0), round(y + dy), round(w - dx0 + dx1), round(h * grow)))
    if rng.random() < 0.35:
        found = _taller(rng, found)
    refined = tuple(mrz_reader.refine_row(image, box) for box in found)
    return mrz_reader._align_left(refined)


def _taller(rng: random.Random, boxes: list[Box]) -> list[Box]:
    """Row boxes up to about twice the glyphs' height, the glyphs anywhere inside (at
    the top, the bottom, or between): the row finder boxes rows that touch a stroke,
    a guilloche line or the next row that way, and the cut then includes real
    surroundings (part of a neighbouring row too), not a plain margin."""
    grow = rng.uniform(1.1, 2.1)
    out = []
    for x, y, w, h in boxes:
        extra = (grow - 1) * h
        above = extra * rng.uniform(-0.05, 1.05)
        out.append((x, round(y - above), w, round(h + extra)))
    return out


def sample(rng: random.Random) -> list[tuple[Image, str]]:
    """One generated zone's rows: (grey crop as the product cuts it, its text)."""
    lines = texts.zone(rng)
    zone = _condensed(rng, render(rng, lines))
    cap = float(zone.boxes[0][3])
    clean = rng.random() < 0.2  # a flat scan or render rather than a webcam frame
    lit = _light(rng, zone.image, clean)
    bent, boxes = _geometry(rng, zone, lit)
    seen, factor = _camera(rng, np.clip(bent, 0, 255).astype(np.uint8), cap, clean)
    rows = _rows(rng, seen, _scaled(boxes, factor))
    crops = mrz_reader.cut_rows(seen, rows, mrz_reader.FIRST_CUT)
    pairs = zip(crops, lines, strict=True)
    return [(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), text) for crop, text in pairs]
