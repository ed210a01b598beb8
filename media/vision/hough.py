"""Outline candidates from straight lines (Hough), for when contours fail: something
the same brightness touching the card merges the two outlines into one contour that
no four-gon fits, while the card's straight sides still show as lines."""

from __future__ import annotations

import cv2
import numpy as np

from media.vision.geometry import MIN_AREA, Image, Points, order_corners


def line_candidates(
    edges: Image, frame_area: float, keep: int = 18, limit: int = 30
) -> list[Points]:
    """Quads from two pairs of roughly parallel straight lines that cross, ranked
    by how much of each side the lines cover, times the area."""
    short_side = min(edges.shape)
    segments = cv2.HoughLinesP(
        edges, 1, np.pi / 180, 30, minLineLength=0.12 * short_side, maxLineGap=6
    )
    if segments is None:
        return []
    lines = _strong_lines(segments, keep)
    if len(lines) < 4:
        return []
    theta = np.array([line[0] for line in lines])
    rho = np.array([line[1] for line in lines])
    evidence = np.array([line[2] for line in lines])  # Hough support per line, px
    diff = np.abs(theta[:, None] - theta[None, :])
    parallel = np.minimum(diff, np.pi - diff) < np.radians(25)
    with np.errstate(divide="ignore", invalid="ignore"):  # parallel pairs: never used
        sin = np.sin(theta[None, :] - theta[:, None])
        cross_x = rho[:, None] * np.sin(theta[None, :]) - rho[None, :] * np.sin(theta[:, None])
        cross_y = rho[None, :] * np.cos(theta[:, None]) - rho[:, None] * np.cos(theta[None, :])
        meet = np.stack([cross_x / sin, cross_y / sin], axis=-1)  # meet[i, j]: intersection
    first, second = np.nonzero(np.triu(parallel, 1))
    if len(first) < 2:
        return []
    # every two parallel pairs (a, b) and (c, d) that cross each other
    p, q = np.nonzero(np.triu(np.ones((len(first), len(first)), dtype=bool), 1))
    a, b, c, d = first[p], second[p], first[q], second[q]
    crossing = ~parallel[a, c]
    a, b, c, d = a[crossing], b[crossing], c[crossing], d[crossing]
    # lines that barely cross meet far away or not at all (inf/nan): rejected below
    with np.errstate(invalid="ignore", over="ignore"):
        corners = np.stack([meet[a, c], meet[c, b], meet[b, d], meet[d, a]], axis=1)
        sides_vec = np.roll(corners, -1, axis=1) - corners
        sides = np.linalg.norm(sides_vec, axis=2)
        area = 0.5 * np.abs(
            (corners[:, :, 0] * np.roll(corners[:, :, 1], -1, axis=1)).sum(axis=1)
            - (corners[:, :, 1] * np.roll(corners[:, :, 0], -1, axis=1)).sum(axis=1)
        )
        following = np.roll(sides_vec, -1, axis=1)
        turn = sides_vec[..., 0] * following[..., 1] - sides_vec[..., 1] * following[..., 0]
        convex = (turn > 0).all(axis=1) | (turn < 0).all(axis=1)
        long_pair = np.maximum(sides[:, 0] + sides[:, 2], sides[:, 1] + sides[:, 3])
        short_pair = np.minimum(sides[:, 0] + sides[:, 2], sides[:, 1] + sides[:, 3])
        height, width = edges.shape
        margin = 0.02 * width
        inside = (
            (corners[:, :, 0] > -margin).all(axis=1)
            & (corners[:, :, 0] < width + margin).all(axis=1)
            & (corners[:, :, 1] > -margin).all(axis=1)
            & (corners[:, :, 1] < height + margin).all(axis=1)
        )
        ok = (
            np.isfinite(corners).all(axis=(1, 2))
            & convex
            & inside
            & (area >= MIN_AREA * frame_area)
            & (sides.min(axis=1) >= 0.2 * sides.max(axis=1))
            & (long_pair <= 2.6 * short_pair)
        )
    # cheap pre-rank: Hough evidence of the weakest side, times size
    found_len = np.stack([evidence[c], evidence[b], evidence[d], evidence[a]], axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        cover = np.minimum(found_len / np.maximum(sides, 1e-6), 1.0).min(axis=1)
        rank = np.where(ok, cover**2 * area, -1.0)
    best = np.argsort(-rank)[:limit]
    return [order_corners(corners[i]) for i in best if rank[i] > 0]


def _strong_lines(segments: Image, keep: int) -> list[list[float]]:
    """Segments merged into lines (theta, rho, total length), the longest first: at
    most five of each direction, ``keep`` in all."""
    lines: list[list[float]] = []
    for x1, y1, x2, y2 in segments.reshape(-1, 4).astype(np.float64):
        angle = float(np.arctan2(x2 - x1, -(y2 - y1)) % np.pi)  # direction of the normal
        offset = float(x1 * np.cos(angle) + y1 * np.sin(angle))
        length = float(np.hypot(x2 - x1, y2 - y1))
        for line in lines:
            dtheta = abs(line[0] - angle)
            if min(dtheta, np.pi - dtheta) < np.radians(3):
                same_offset = offset if dtheta < np.pi / 2 else -offset
                if abs(line[1] - same_offset) < 6:
                    line[2] += length
                    break
        else:
            lines.append([angle, offset, length])
    # Text lines and MRZ rows are long and parallel to the card's top: keep the best few
    # of each direction so the card's short sides are not crowded out.
    lines.sort(key=lambda line: -line[2])
    per_bin: dict[int, int] = {}
    kept = []
    for line in lines:
        direction = int(line[0] / np.radians(15)) % 12
        if per_bin.get(direction, 0) < 5:
            per_bin[direction] = per_bin.get(direction, 0) + 1
            kept.append(line)
    return kept[:keep]
