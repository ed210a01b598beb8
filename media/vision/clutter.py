"""Busy backgrounds for synthetic webcam frames: what makes an outline detector take the
wrong quad.

Each scene is drawn around the document's place in the frame, because the hard cases
depend on it: a printed photo lying behind the card (a larger quad with print inside it,
sharing the card's orientation), other cards and posters beside it, a dark starfield
whose points are strong edges everywhere, an office with a monitor, a keyboard and
sheets of paper. Used by :func:`media.vision.synthetic.webcam_frame` (``scene=``), by
the tests and by ``bench/documents.py --cluttered``.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from media.vision.geometry import Image, Quad

Scene = Callable[[np.random.Generator, Quad, tuple[int, int]], Image]


def _colour(rng: np.random.Generator, low: float = 20, high: float = 235) -> tuple[float, ...]:
    return tuple(float(c) for c in rng.uniform(low, high, 3))


def _texture(rng: np.random.Generator, height: int, width: int, cells: int) -> Image:
    """Photo-like colour texture: smooth blobs of colour with finer detail on top."""
    out = np.zeros((height, width, 3), np.float32)
    for scale, weight in ((cells, 1.0), (cells * 4, 0.45), (cells * 16, 0.2)):
        coarse = rng.uniform(0, 255, (max(2, scale * height // width), scale, 3))
        out += weight * cv2.resize(coarse.astype(np.float32), (width, height))
    out /= 1.65
    return out


def _rotated_rect(centre: np.ndarray, size: tuple[float, float], angle: float) -> np.ndarray:
    w, h = size
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) / 2
    turn = np.radians(angle)
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    return np.asarray(half @ rot.T + centre, dtype=np.float64)


def _card_angle(quad: Quad) -> float:
    top = quad.array()[1] - quad.array()[0]
    return float(np.degrees(np.arctan2(top[1], top[0])))


def _fake_print(rng: np.random.Generator, canvas: Image, corners: np.ndarray) -> None:
    """Lines of dark 'text' inside a rectangle (a sheet, a poster, another card)."""
    origin, right, down = corners[0], corners[1] - corners[0], corners[3] - corners[0]
    rows = int(rng.integers(3, 12))
    for row in range(rows):
        y = 0.12 + 0.76 * row / max(rows - 1, 1)
        x1 = float(rng.uniform(0.35, 0.9))
        a = origin + 0.08 * right + y * down
        b = origin + x1 * right + y * down
        thickness = max(1, int(np.linalg.norm(down) / (rows * 4)))
        cv2.line(
            canvas,
            tuple(int(v) for v in a),
            tuple(int(v) for v in b),
            _colour(rng, 0, 90),
            thickness,
        )


def _card_like(
    rng: np.random.Generator, canvas: Image, centre: np.ndarray, width: float, angle: float
) -> None:
    """Another ID-1 sized card (bank card, loyalty card): filled, printed, outlined."""
    corners = _rotated_rect(centre, (width, width / 1.585), angle)
    cv2.fillConvexPoly(canvas, corners.astype(np.int32), _colour(rng))
    _fake_print(rng, canvas, corners)


def photo_behind(rng: np.random.Generator, quad: Quad, size: tuple[int, int]) -> Image:
    """A textured room with a printed photo lying behind the card, turned about as the
    card is and 1.15-1.8 times its size: the classic quad that is 'the card, but larger'."""
    width, height = size
    canvas = _texture(rng, height, width, int(rng.integers(3, 8)))
    pts = quad.array().astype(np.float64)
    card_w = float(np.linalg.norm(pts[1] - pts[0]))
    grow = float(rng.uniform(1.15, 1.8))
    aspect = float(rng.choice([1.5, 1.333, 1.42, 1.6]))
    shift = rng.uniform(-0.2, 0.2, 2) * card_w
    photo = _rotated_rect(
        pts.mean(axis=0) + shift,
        (grow * card_w, grow * card_w / aspect),
        _card_angle(quad) + float(rng.uniform(-6, 6)),
    )
    border = photo.mean(axis=0) + 1.0 * (photo - photo.mean(axis=0))
    cv2.fillConvexPoly(canvas, border.astype(np.int32), _colour(rng, 200, 250))
    inner = photo.mean(axis=0) + 0.93 * (photo - photo.mean(axis=0))
    picture = _texture(rng, height, width, int(rng.integers(4, 12)))
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, inner.astype(np.int32), 255)
    canvas[mask > 0] = picture[mask > 0]
    return canvas


def starfield(rng: np.random.Generator, quad: Quad, size: tuple[int, int]) -> Image:
    """A dark sky poster: near black, hundreds of sharp points, a faint glow."""
    width, height = size
    canvas: Image = np.zeros((height, width, 3), np.float32) + np.array(_colour(rng, 2, 30))
    glow = _texture(rng, height, width, 3) * float(rng.uniform(0.05, 0.3))
    canvas += glow
    count = int(rng.integers(300, 1500))
    xs, ys = rng.integers(0, width, count), rng.integers(0, height, count)
    for x, y in zip(xs, ys, strict=True):
        radius = int(rng.choice([0, 0, 0, 1, 1, 2]))
        cv2.circle(canvas, (int(x), int(y)), radius, _colour(rng, 150, 255), -1)
    return canvas


def wall_with_cards(rng: np.random.Generator, quad: Quad, size: tuple[int, int]) -> Image:
    """A coloured wall with posters, frames and other cards, some touching the card."""
    width, height = size
    canvas: Image = np.zeros((height, width, 3), np.float32) + np.array(_colour(rng))
    pts = quad.array().astype(np.float64)
    card_w = float(np.linalg.norm(pts[1] - pts[0]))
    for _ in range(int(rng.integers(2, 6))):  # posters and picture frames
        centre = rng.uniform(0, 1, 2) * np.array([width, height])
        frame = _rotated_rect(centre, tuple(rng.uniform(150, 600, 2)), float(rng.uniform(-8, 8)))
        cv2.fillConvexPoly(canvas, frame.astype(np.int32), _colour(rng))
        if rng.random() < 0.6:
            _fake_print(rng, canvas, frame)
        else:
            cv2.polylines(canvas, [frame.astype(np.int32)], True, _colour(rng, 0, 80), 6)
    for _ in range(int(rng.integers(1, 4))):  # other cards, often under the edge of ours
        direction = rng.uniform(-1, 1, 2)
        direction /= max(float(np.linalg.norm(direction)), 1e-6)
        centre = pts.mean(axis=0) + direction * card_w * float(rng.uniform(0.6, 1.2))
        angle = _card_angle(quad) + float(rng.uniform(-20, 20))
        _card_like(rng, canvas, centre, card_w * float(rng.uniform(0.7, 1.1)), angle)
    return canvas


def office(rng: np.random.Generator, quad: Quad, size: tuple[int, int]) -> Image:
    """A desk in front of a monitor, a keyboard, papers and a window."""
    width, height = size
    canvas: Image = np.zeros((height, width, 3), np.float32) + np.array(_colour(rng, 120, 230))
    desk_top = int(rng.uniform(0.45, 0.7) * height)
    stripes = np.sin(np.arange(width, dtype=np.float32) / rng.uniform(4, 14))[None, :, None]
    canvas[desk_top:] = np.array(_colour(rng, 60, 170)) + 10 * stripes
    window = _rotated_rect(
        np.array([rng.uniform(0, width), rng.uniform(0, desk_top)]),
        (float(rng.uniform(200, 500)), float(rng.uniform(150, 350))),
        0.0,
    )
    cv2.fillConvexPoly(canvas, window.astype(np.int32), _colour(rng, 220, 255))
    middle = window.mean(axis=0).astype(int)
    cv2.line(canvas, (int(middle[0]), 0), (int(middle[0]), desk_top), _colour(rng, 60, 140), 8)
    screen = _rotated_rect(
        np.array([rng.uniform(0.2, 0.8) * width, desk_top * 0.55]),
        (float(rng.uniform(350, 650)), float(rng.uniform(220, 380))),
        0.0,
    )
    cv2.fillConvexPoly(canvas, screen.astype(np.int32), (20, 20, 25))
    lit = screen.mean(axis=0) + 0.9 * (screen - screen.mean(axis=0))
    cv2.fillConvexPoly(canvas, lit.astype(np.int32), _colour(rng, 170, 250))
    _fake_print(rng, canvas, lit)
    x0, y0 = int(rng.uniform(0, 0.5) * width), desk_top + int(rng.uniform(20, 80))
    for row in range(5):  # a keyboard: a grid of small bright keys
        for col in range(14):
            x, y = x0 + col * 34, y0 + row * 30
            cv2.rectangle(canvas, (x, y), (x + 28, y + 24), _colour(rng, 180, 240), -1)
    for _ in range(int(rng.integers(1, 4))):  # sheets of paper on the desk
        centre = np.array([rng.uniform(0, width), rng.uniform(desk_top, height)])
        sheet = _rotated_rect(centre, (300.0, 424.0), float(rng.uniform(-30, 30)))
        cv2.fillConvexPoly(canvas, sheet.astype(np.int32), _colour(rng, 225, 255))
        _fake_print(rng, canvas, sheet)
    return canvas


SCENES: dict[str, Scene] = {
    "photo": photo_behind,
    "stars": starfield,
    "wall": wall_with_cards,
    "office": office,
}


def finish(canvas: Image, rng: np.random.Generator) -> Image:
    """Camera softness and sensor noise over a drawn scene, as 8-bit BGR."""
    soft: Image = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), float(rng.uniform(0.6, 2.0)))
    soft += rng.normal(0, 3, soft.shape).astype(np.float32)
    out: Image = np.clip(soft, 0, 255).astype(np.uint8)
    return out
