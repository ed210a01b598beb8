"""The printed artwork of a made-up document: background tint, guilloche, portrait,
signature. Drawn with OpenCV into BGR float images at the document's own resolution.

None of it is meant to look like a real state's design; it is meant to give an outline
finder and an MRZ locator the kinds of distraction real documents give: fine coloured
line work everywhere, a dark photo block, hand-drawn strokes near the text.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]
Colour = tuple[float, float, float]


def pastel(rng: np.random.Generator) -> Colour:
    """A light security-print tint (BGR): rose, mint, sand, sky, lilac, grey."""
    hue = rng.uniform(0, 180)
    hsv = np.array([[[hue, rng.uniform(20, 90), rng.uniform(200, 250)]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return float(b), float(g), float(r)


def tinted_sheet(size: tuple[int, int], rng: np.random.Generator) -> Image:
    """``size`` = (width, height): a two-colour gradient in a random direction."""
    width, height = size
    first, second = np.array(pastel(rng)), np.array(pastel(rng))
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (np.cos(angle) * xs / width + np.sin(angle) * ys / height) / 1.5 + 0.25
    sheet: Image = first * (1 - t[:, :, None]) + second * t[:, :, None]
    return sheet.astype(np.float32)


def _darker(colour: npt.ArrayLike, rng: np.random.Generator) -> Colour:
    scaled = np.asarray(colour, dtype=np.float64) * rng.uniform(0.55, 0.85)
    return float(scaled[0]), float(scaled[1]), float(scaled[2])


def guilloche(sheet: Image, rng: np.random.Generator, scale: float) -> None:
    """Rosettes (hypotrochoids) and bands of interlaced sine lines, hairline thin."""
    height, width = sheet.shape[:2]
    t = np.linspace(0, 2 * np.pi * 12, 6000)
    for _ in range(int(rng.integers(1, 4))):
        big, small = rng.uniform(10, 25) * scale, rng.uniform(2, 7) * scale
        reach = rng.uniform(0.5, 1.5) * small
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        xs = cx + (big - small) * np.cos(t) + reach * np.cos((big - small) / small * t)
        ys = cy + (big - small) * np.sin(t) - reach * np.sin((big - small) / small * t)
        points = np.stack([xs, ys], axis=1).astype(np.int32)
        colour = _darker(sheet[int(cy) % height, int(cx) % width], rng)
        cv2.polylines(sheet, [points], False, colour, 1, cv2.LINE_AA)
    xs = np.arange(0, width, 2, dtype=np.float64)
    for _ in range(int(rng.integers(1, 3))):
        y0, amplitude = rng.uniform(0, height), rng.uniform(1, 6) * scale
        period, phase = rng.uniform(8, 30) * scale, rng.uniform(0, 2 * np.pi)
        colour = _darker(sheet[int(y0) % height, width // 2], rng)
        for k in range(int(rng.integers(6, 16))):
            ys = y0 + k * 0.6 * scale + amplitude * np.sin(xs / period * 2 * np.pi + phase + k / 3)
            line = np.stack([xs, ys], axis=1).astype(np.int32)
            cv2.polylines(sheet, [line], False, colour, 1, cv2.LINE_AA)


def _skin(rng: np.random.Generator) -> Colour:
    tone = rng.uniform(0, 1)
    light, dark = np.array([170, 200, 240]), np.array([50, 85, 125])  # BGR
    b, g, r = light * (1 - tone) + dark * tone
    return float(b), float(g), float(r)


def portrait(size: tuple[int, int], rng: np.random.Generator, grey: bool) -> Image:
    """A photo-like head and shoulders on a plain backdrop, ``size`` = (width, height)."""
    width, height = size
    backdrop = np.array(pastel(rng)) * rng.uniform(0.75, 1.0)
    photo: Image = np.empty((height, width, 3), np.float32)
    photo[:] = backdrop
    photo *= np.linspace(1.05, 0.9, height, dtype=np.float32)[:, None, None]
    skin = _skin(rng)
    clothes = tuple(float(c) for c in rng.uniform(10, 140, 3))
    hair = tuple(float(c) for c in rng.uniform(10, 90) * rng.uniform(0.7, 1.2, 3))
    cx = width * rng.uniform(0.45, 0.55)
    head = (int(width * 0.26), int(height * 0.26))
    head_y = int(height * 0.42)
    cv2.ellipse(photo, (int(cx), height), (int(width * 0.5), int(height * 0.3)), 0, 180, 360,
                clothes, -1, cv2.LINE_AA)  # fmt: skip
    cv2.rectangle(photo, (int(cx - width * 0.09), head_y), (int(cx + width * 0.09),
                  int(height * 0.8)), skin, -1)  # fmt: skip
    cv2.ellipse(photo, (int(cx), head_y - head[1] // 4), (head[0] + 3, head[1]), 0, 180, 360,
                hair, -1, cv2.LINE_AA)  # fmt: skip
    cv2.ellipse(photo, (int(cx), head_y), head, 0, 0, 360, skin, -1, cv2.LINE_AA)
    eye_y, eye_dx = head_y - head[1] // 6, head[0] // 2.4
    for side in (-1, 1):
        cv2.circle(photo, (int(cx + side * eye_dx), eye_y), max(2, head[0] // 9),
                   (40, 40, 40), -1, cv2.LINE_AA)  # fmt: skip
    cv2.ellipse(photo, (int(cx), head_y + head[1] // 2), (head[0] // 3, head[1] // 10), 0,
                0, 180, (60, 60, 140), 2, cv2.LINE_AA)  # fmt: skip
    photo = cv2.GaussianBlur(photo, (0, 0), max(width / 120, 0.8))
    if grey:  # laser-engraved polycarbonate cards print the portrait in grey
        photo = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return photo


def signature(sheet: Image, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """A hand-written-looking stroke inside ``box`` (x, y, width, height)."""
    x, y, w, h = box
    t = np.linspace(0, 1, 200)
    loops = rng.uniform(3, 9)
    xs = x + w * t + w * 0.04 * np.sin(t * loops * 2 * np.pi)
    ys = y + h / 2 + h * 0.35 * np.sin(t * loops * 2 * np.pi + rng.uniform(0, 3)) * (1 - t / 2)
    points = np.stack([xs, ys], axis=1).astype(np.int32)
    ink = (float(rng.uniform(60, 140)), float(rng.uniform(20, 60)), float(rng.uniform(0, 40)))
    cv2.polylines(sheet, [points], False, ink, max(1, h // 18), cv2.LINE_AA)
