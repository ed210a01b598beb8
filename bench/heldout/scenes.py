"""What is behind the document: five kinds of 720p scene, and the hand that holds it.

Chosen to be what breaks outline finders, and unlike media.vision.synthetic's shaded wall
with a few blocks: an office full of straight edges (desks, shelves, monitors), a
photograph-like texture with detail at every scale, a dark starfield, a plain wall, and a
coloured wall with posters and other cards the size of the one held up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]  # float32 BGR, 0-255
FRAME_SIZE = (1280, 720)


def _colour(rng: np.random.Generator, low: float = 0, high: float = 255) -> tuple[float, ...]:
    return tuple(float(c) for c in rng.uniform(low, high, 3))


def _canvas(colour: tuple[float, ...]) -> Image:
    width, height = FRAME_SIZE
    image: Image = np.empty((height, width, 3), np.float32)
    image[:] = colour
    return image


def office(rng: np.random.Generator) -> Image:
    """Wall, a window, shelves of books, monitors with lines of text, a desk edge."""
    width, height = FRAME_SIZE
    image = _canvas(_colour(rng, 120, 230))
    image *= np.linspace(1.1, 0.85, width, dtype=np.float32)[None, :, None]
    if rng.random() < 0.6:  # a bright window
        x, y = int(rng.integers(0, width - 300)), int(rng.integers(0, 200))
        cv2.rectangle(image, (x, y), (x + int(rng.integers(200, 420)), y + 300), (250,) * 3, -1)
        cv2.rectangle(image, (x, y), (x + 12, y + 300), (90, 90, 90), -1)
    for _ in range(int(rng.integers(1, 4))):  # shelves with books
        x0, y0 = int(rng.integers(-100, width - 200)), int(rng.integers(0, height - 150))
        shelf_w = int(rng.integers(200, 600))
        for level in range(int(rng.integers(2, 5))):
            y = y0 + level * 90
            cv2.rectangle(image, (x0, y + 80), (x0 + shelf_w, y + 88), _colour(rng, 40, 160), -1)
            x = x0
            while x < x0 + shelf_w:
                w = int(rng.integers(8, 30))
                h = int(rng.integers(50, 80))
                cv2.rectangle(image, (x, y + 80 - h), (x + w, y + 80), _colour(rng), -1)
                x += w + int(rng.integers(0, 4))
    for _ in range(int(rng.integers(1, 3))):  # monitors
        x, y = int(rng.integers(-50, width - 200)), int(rng.integers(100, height - 200))
        w, h = int(rng.integers(220, 420)), int(rng.integers(140, 260))
        cv2.rectangle(image, (x, y), (x + w, y + h), (25, 25, 25), -1)
        screen = _colour(rng, 150, 255)
        cv2.rectangle(image, (x + 10, y + 10), (x + w - 10, y + h - 10), screen, -1)
        for row in range(y + 25, y + h - 20, 14):
            cv2.line(image, (x + 20, row), (x + 20 + int(rng.integers(40, w - 40)), row),
                     (60, 60, 60), 2)  # fmt: skip
    desk_y = int(rng.integers(height * 2 // 3, height))
    cv2.rectangle(image, (0, desk_y), (width, height), _colour(rng, 60, 200), -1)
    cv2.line(image, (0, desk_y), (width, desk_y), (30, 30, 30), 3)
    return image


def photo(rng: np.random.Generator) -> Image:
    """Detail at every scale (summed noise octaves), coloured through a random palette,
    with out-of-focus highlights: what a photograph on the wall or a screen shows."""
    width, height = FRAME_SIZE
    field = np.zeros((height, width), np.float32)
    for octave in range(1, 8):
        cells = rng.random((2 + 2**octave // 2, 3 + 2**octave)).astype(np.float32)
        field += cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC) / octave
    field = (field - field.min()) / (np.ptp(field) + 1e-6)
    palette = rng.uniform(0, 255, (4, 3)).astype(np.float32)
    steps = np.linspace(0, 1, 4, dtype=np.float32)
    image = np.stack([np.interp(field, steps, palette[:, c]) for c in range(3)], axis=2)
    for _ in range(int(rng.integers(5, 25))):  # bokeh
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, centre, int(rng.integers(8, 50)), _colour(rng, 150, 255), -1)
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.2)


def starfield(rng: np.random.Generator) -> Image:
    """Near-black sky, faint nebula, thousands of stars, a few bright ones with halos."""
    width, height = FRAME_SIZE
    image = _canvas(_colour(rng, 0, 25))
    haze = cv2.resize(rng.random((6, 10)).astype(np.float32), (width, height))
    image += (haze[:, :, None] * np.array(_colour(rng, 0, 60), np.float32)).astype(np.float32)
    count = int(rng.integers(800, 4000))
    xs, ys = rng.integers(0, width, count), rng.integers(0, height, count)
    image[ys, xs] = rng.uniform(80, 255, (count, 1))
    for _ in range(int(rng.integers(5, 30))):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, centre, int(rng.integers(2, 6)), (255, 255, 255), -1, cv2.LINE_AA)
    return image


def plain_wall(rng: np.random.Generator) -> Image:
    """A painted wall, lit from one side: almost no edges at all."""
    width = FRAME_SIZE[0]
    image = _canvas(_colour(rng, 60, 245))
    image *= np.linspace(rng.uniform(0.7, 1.0), rng.uniform(1.0, 1.2), width, dtype=np.float32)[
        None, :, None
    ]
    return image


def wall_with_cards(rng: np.random.Generator) -> Image:
    """A coloured wall with posters, sticky notes and other cards, some of them the size
    and shape of an ID-1 card: the outline finder's most confusing neighbours."""
    width, height = FRAME_SIZE
    image = plain_wall(rng)
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(80, 220), 200]]], dtype=np.uint8)
    tint = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32) / 200
    image *= tint
    for _ in range(int(rng.integers(3, 10))):
        w = int(rng.integers(60, 400))
        h = int(w * rng.choice([0.63, 0.7, 1.0, 1.41, 0.5]))
        centre = (float(rng.integers(0, width)), float(rng.integers(0, height)))
        box = cv2.boxPoints((centre, (w, h), float(rng.uniform(-20, 20))))
        cv2.fillConvexPoly(image, box.astype(np.int32), _colour(rng), cv2.LINE_AA)
        if rng.random() < 0.5:  # printed lines on it
            inner = cv2.boxPoints((centre, (w * 0.8, h * 0.15), 0.0)).astype(np.int32)
            cv2.fillConvexPoly(image, inner, _colour(rng, 0, 120), cv2.LINE_AA)
    return image


KINDS: dict[str, Callable[[np.random.Generator], Image]] = {
    "office": office,
    "photo": photo,
    "starfield": starfield,
    "plain wall": plain_wall,
    "wall with cards": wall_with_cards,
}


def skin(rng: np.random.Generator) -> tuple[float, float, float]:
    tone = rng.uniform(0, 1)
    b, g, r = np.array([165, 195, 235]) * (1 - tone) + np.array([45, 75, 120]) * tone
    return float(b), float(g), float(r)


def palm(image: Image, quad: npt.NDArray[np.float64], rng: np.random.Generator) -> None:
    """Fingers and palm behind the card, showing around its lower edge and sides."""
    colour = skin(rng)
    centre = quad.mean(axis=0)
    span = float(np.linalg.norm(quad[1] - quad[0]))
    down = quad[3] - quad[0]
    base = centre + down * rng.uniform(0.3, 0.6)
    axes = (int(span * rng.uniform(0.45, 0.65)), int(span * rng.uniform(0.3, 0.45)))
    angle = float(np.degrees(np.arctan2(down[1], down[0])) - 90)
    cv2.ellipse(image, (int(base[0]), int(base[1])), axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
    wrist = base + down * 1.2
    cv2.line(image, (int(base[0]), int(base[1])), (int(wrist[0]), int(wrist[1])), colour,
             int(axes[0] * 0.9), cv2.LINE_AA)  # fmt: skip


def thumb(image: Image, quad: npt.NDArray[np.float64], rng: np.random.Generator) -> None:
    """A thumb over one short edge of the card, in its upper half (the MRZ stays clear)."""
    colour = skin(rng)
    side = int(rng.integers(0, 2))
    top, bottom = (quad[0], quad[3]) if side == 0 else (quad[1], quad[2])
    tip = top + (bottom - top) * rng.uniform(0.2, 0.45)
    inward = (quad[1] - quad[0]) * (0.08 if side == 0 else -0.08)
    start, end = tip - inward * 1.5, tip + inward
    width = max(6, int(np.linalg.norm(bottom - top) * rng.uniform(0.18, 0.26)))
    cv2.line(image, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), colour, width,
             cv2.LINE_AA)  # fmt: skip
