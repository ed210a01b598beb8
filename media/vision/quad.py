"""Find an ID document's outline in a camera frame and warp it flat to its real aspect.

Classical OpenCV on purpose (no detection model): edges -> closed contours -> convex
four-gons, each side then refitted as a straight line through the contour points near it
(cards have rounded corners and fingers cover bits of the edge, so the polygon vertices
alone are a few pixels inside the true corner). Candidates are ranked by area and by how
much of their outline actually lies on an image edge, which rejects the quads that
background clutter or the text block inside the card produce.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from media.vision.geometry import MIN_AREA, Image, Points, Quad, order_corners, quad_iou
from media.vision.hough import line_candidates

_WORK_SIDE = 640  # detection runs on a copy whose longer side is this (speed)
_MIN_TEXTURE = 0.03  # edge pixels inside the outline; the specimens have 0.1-0.2
_Vector = npt.NDArray[np.floating]  # a point, shape (2,)


_STRONG = 40.0  # gradient magnitude of an edge worth following


@dataclass(frozen=True)
class _Gradients:
    """Sobel gradients of brightness and saturation (whichever is stronger per pixel).

    Kept as the gradient's unit direction ``x + iy`` where it is strong, 0 elsewhere: the
    side tests sample thousands of points per outline, and one gather of this array
    replaces three (x, y, magnitude) and the arithmetic between them.
    """

    direction: npt.NDArray[np.complex64]

    @classmethod
    def of(cls, channels: list[Image]) -> _Gradients:
        gx = cv2.Sobel(channels[0], cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(channels[0], cv2.CV_32F, 0, 1, ksize=3)
        mag = cv2.magnitude(gx, gy)
        for channel in channels[1:]:
            cx = cv2.Sobel(channel, cv2.CV_32F, 1, 0, ksize=3)
            cy = cv2.Sobel(channel, cv2.CV_32F, 0, 1, ksize=3)
            cmag = cv2.magnitude(cx, cy)
            stronger = cmag > mag
            gx, gy, mag = (
                np.where(stronger, cx, gx),
                np.where(stronger, cy, gy),
                np.maximum(cmag, mag),
            )
        inverse = np.zeros_like(mag)
        np.divide(1.0, mag, out=inverse, where=mag > _STRONG)
        direction = np.empty(mag.shape, np.complex64)
        direction.real = gx * inverse
        direction.imag = gy * inverse
        return cls(direction)


def _channels(small: Image) -> list[Image]:
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    # A white card on a white desk differs mostly in colour, not brightness.
    saturation = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[:, :, 1], (5, 5), 0)
    return [gray, saturation]


def _edge_maps(channels: list[Image]) -> list[Image]:
    """Canny edges at rising thresholds, thin and closed.

    Low thresholds find a card that barely differs from the desk; high ones drop the
    guilloche and text inside the card, which otherwise join the outline and hide it.
    """
    maps = []
    for low, high in ((30, 90), (80, 200)):
        edges = np.zeros_like(channels[0])
        for channel in channels:
            edges |= cv2.Canny(channel, low, high)
        maps.append(edges)
    return maps


def _fit_sides(hull: npt.NDArray[np.float32], corners: Points) -> Points | None:
    """Corners as intersections of lines fitted to the hull points along each side."""
    lines = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        direction = b - a
        length = float(np.linalg.norm(direction))
        if length < 1:
            return None
        unit = direction / length
        normal = np.array([-unit[1], unit[0]], dtype=np.float32)
        rel = hull - a
        along = rel @ unit
        dist = np.abs(rel @ normal)
        # points on this side, away from the (possibly rounded) corners
        near = hull[(dist < 0.03 * length + 2) & (along > 0.1 * length) & (along < 0.9 * length)]
        if len(near) < 2:
            near = np.array([a + 0.1 * direction, a + 0.9 * direction], dtype=np.float32)
        vx, vy, x0, y0 = cv2.fitLine(near, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        point = np.array([x0, y0], dtype=np.float64)  # q - p gives back (vx, vy) exactly
        lines.append((point, point + np.array([vx, vy])))
    return _corners_of(lines, corners)  # two sides parallel: the corners as they were


@functools.cache
def _along(steps: int) -> npt.NDArray[np.float32]:
    """Where a side is sampled: ``steps`` points from 5 % to 95 % of its length."""
    t = np.linspace(0.05, 0.95, steps, dtype=np.float32)
    t.flags.writeable = False  # shared by every caller
    return t


def _hit_grid(
    grad: _Gradients, a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], offsets: list[float]
) -> npt.NDArray[np.bool_]:
    """hits[k, j]: at sample j of side a->b, shifted ``offsets[k]`` px across it, is there an
    edge running along the side?

    A point counts when the gradient is strong and points across the side: the text and
    guilloche inside a card have strong gradients too, but in every direction, so a side
    cutting through the card collects little support.
    """
    height, width = grad.direction.shape
    length = float(np.linalg.norm(b - a))
    unit = (b - a) / max(length, 1e-6)
    normal = np.array([-unit[1], unit[0]], dtype=np.float32)
    t = _along(max(int(length / 2), 8))[None, :, None]
    shift = np.asarray(offsets, dtype=np.float32)[:, None, None] * normal
    pts = np.rint(a + t * (b - a) + shift).astype(np.int32)
    # the ufuncs themselves: np.clip's wrapper costs more than the clipping here
    np.maximum(pts, 0, out=pts)
    np.minimum(pts, (width - 1, height - 1), out=pts)
    sampled = grad.direction[pts[..., 1], pts[..., 0]]
    # |cos| of the angle between the gradient and the side's normal (0 where weak)
    hits: npt.NDArray[np.bool_] = np.abs(sampled.real * normal[0] + sampled.imag * normal[1]) > 0.85
    return hits


def _side_hits(
    grad: _Gradients, a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], offsets: list[float]
) -> npt.NDArray[np.bool_]:
    return np.asarray(_hit_grid(grad, a, b, offsets).any(axis=0), dtype=bool)


_TIGHT = [-1.5, 0.0, 1.5]
_LOOSE = [-6.0, -4.5, -3.0, -1.5, 0.0, 1.5, 3.0, 4.5, 6.0]


def _side_support(grad: _Gradients, corners: Points, offsets: list[float] = _TIGHT) -> float:
    """Share of the outline's weakest side that runs along a matching image edge."""
    return min(
        float(_side_hits(grad, corners[i], corners[(i + 1) % 4], offsets).mean()) for i in range(4)
    )


def _side_lines(
    grad: _Gradients, a: Points, b: Points, reach: float, step: float, count: int
) -> list[tuple[float, Points, Points]]:
    """Up to ``count`` lines near side a->b (each end moved across it by up to ``reach``
    px, in ``step`` px) along which the most sample points sit on a matching edge, best
    first, each at least a few steps from the better ones (not the same edge again)."""
    unit = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    normal = np.array([-unit[1], unit[0]], dtype=np.float32)
    shifts = np.arange(-reach, reach + step / 2, step, dtype=np.float32)
    grid = _hit_grid(grad, a, b, [float(x) for x in shifts])
    start_grid, end_grid = np.meshgrid(shifts, shifts, indexing="ij")
    start, end = start_grid.ravel(), end_grid.ravel()  # every (shift at a, shift at b)
    t = _along(grid.shape[1])
    offset = start[:, None] + t[None, :] * (end - start)[:, None]
    row = np.clip(np.rint((offset - shifts[0]) / step).astype(np.int32), 0, len(shifts) - 1)
    shares = grid[row, np.arange(grid.shape[1])[None, :]].mean(axis=1)
    lines: list[tuple[float, Points, Points]] = []
    taken: list[tuple[float, float]] = []
    for index in np.argsort(-shares, kind="stable"):  # of equals the first, as argmax
        if len(lines) == count:
            break
        s, e = float(start[index]), float(end[index])
        if any(abs(s - s2) + abs(e - e2) < 6 * step for s2, e2 in taken):
            continue
        taken.append((s, e))
        lines.append((float(shares[index]), a + s * normal, b + e * normal))
    return lines


def _best_side(
    grad: _Gradients, a: Points, b: Points, reach: float, step: float
) -> tuple[float, Points, Points]:
    """The line near side a->b (each end moved across it by up to ``reach`` px, in
    ``step`` px) along which the most sample points sit on a matching edge."""
    return _side_lines(grad, a, b, reach, step, 1)[0]


def _corners_of(lines: Sequence[tuple[_Vector, _Vector]], fallback: Points) -> Points:
    """Corners where consecutive side lines (TL-TR, TR-BR, ...), each given by two of its
    points, meet; ``fallback`` when two of them are parallel."""
    corners = []
    for i in range(4):
        (p1, q1), (p2, q2) = lines[i - 1], lines[i]
        d1, d2 = q1 - p1, q2 - p2
        det = d1[0] * -d2[1] - d1[1] * -d2[0]
        if abs(det) < 1e-6:
            return fallback
        t = ((p2[0] - p1[0]) * -d2[1] - (p2[1] - p1[1]) * -d2[0]) / det
        corners.append(p1 + t * d1)
    return np.array(corners, dtype=np.float32)


def _refine(grad: _Gradients, corners: Points) -> Points:
    """Put every side on the card's edge.

    A side that is poorly supported (it lies on a text row or the photo's edge) is moved
    across itself, up to 12 % of the document's size, onto the best parallel edge; then
    every side is fitted to the pixel, each end on its own (contour candidates sit a pixel
    or two outside the card, Hough lines are quantised).
    """
    size = max(float(np.linalg.norm(corners[2] - corners[0])), 1.0)
    lines = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        unit = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
        normal = np.array([-unit[1], unit[0]], dtype=np.float32)
        offsets = np.arange(-0.12 * size, 0.12 * size, 1.5, dtype=np.float32)
        shares = _hit_grid(grad, a, b, [float(x) for x in offsets]).mean(axis=1)
        here = float(shares[np.abs(offsets) <= 3].max())
        if shares.max() > here + 0.25:  # move a poorly supported side, keep a good one
            shift = float(offsets[int(np.argmax(shares))])
            a, b = a + shift * normal, b + shift * normal
        _, a2, b2 = _best_side(grad, a, b, 6.0, 1.0)
        lines.append((a2, b2))
    return _corners_of(lines, corners)


def _texture(edges: Image, corners: Points) -> float:
    """Edge density inside the outline: print on a document, little on a plain surface."""
    mask = np.zeros_like(edges)
    inner = corners.mean(axis=0) + 0.85 * (corners - corners.mean(axis=0))
    cv2.fillConvexPoly(mask, inner.astype(np.int32), 255)
    area = int(np.count_nonzero(mask))
    return int(np.count_nonzero(edges & mask)) / area if area else 0.0


def _plausible(corners: Points, frame_area: float) -> bool:
    if not cv2.isContourConvex(corners.astype(np.float32)):
        return False
    area = float(cv2.contourArea(corners))
    if area < MIN_AREA * frame_area:
        return False
    sides = [float(np.linalg.norm(corners[(i + 1) % 4] - corners[i])) for i in range(4)]
    if min(sides) < 0.2 * max(sides):
        return False
    aspect = (sides[0] + sides[2]) / (sides[1] + sides[3])
    # ordered landscape; ID-1 is 1.59, a passport page 1.42, perspective stretches that
    return 1.15 <= aspect <= 2.2


def _hull_candidates(edges: Image, frame_area: float) -> list[Points]:
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        hull = cv2.convexHull(contour)
        if cv2.contourArea(hull) < MIN_AREA * frame_area:
            continue
        perimeter = cv2.arcLength(hull, True)
        approx = None
        for epsilon in (0.02, 0.03, 0.045, 0.06):
            candidate = cv2.approxPolyDP(hull, epsilon * perimeter, True)
            if len(candidate) == 4:
                approx = candidate
                break
        if approx is None:
            continue
        corners = order_corners(approx.reshape(4, 2))
        refined = _fit_sides(hull.reshape(-1, 2).astype(np.float32), corners)
        if refined is not None and _plausible(order_corners(refined), frame_area):
            found.append(order_corners(refined))
        elif _plausible(corners, frame_area):
            found.append(corners)
    return found


@dataclass(frozen=True)
class EdgeView:
    """A frame as the outline search sees it: a copy at ``scale`` (longer side
    ``_WORK_SIDE``), its gradients and its edge maps. Corners handled here are in the
    copy's pixels; divide by ``scale`` for the frame's."""

    scale: float
    grad: _Gradients
    maps: list[Image]
    area: float

    @classmethod
    def of(cls, frame: Image) -> EdgeView:
        height, width = frame.shape[:2]
        scale = min(1.0, _WORK_SIDE / max(height, width))
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        channels = _channels(small)
        area = float(small.shape[0] * small.shape[1])
        return cls(scale, _Gradients.of(channels), _edge_maps(channels), area)

    def support(self, corners: Points) -> float:
        """Share of the weakest side of ``corners`` that lies on a matching edge."""
        return _side_support(self.grad, corners)

    def fits(self, corners: Points, reach: float, count: int) -> list[tuple[float, Points]]:
        """``corners`` with every side moved onto one of the ``count`` strongest matching
        edge lines whose ends lie within ``reach`` (share of the outline's size) of the
        side's own, in every combination, the side itself among the choices; each with
        the mean share of its sides that lies on an edge (each measured along its line
        where it was found, not between the new corners; the mean, so that every side's
        choice counts, not only the weakest's). For an outline predicted from the MRZ,
        whose sides are known only roughly, and where the strongest edge near a side may
        be a band printed on the document."""
        size = max(float(np.linalg.norm(corners[2] - corners[0])), 1.0)
        step = max(1.0, reach * size / 12)
        choices = []
        for i in range(4):
            a, b = corners[i], corners[(i + 1) % 4]
            lines = [(float(_side_hits(self.grad, a, b, _TIGHT).mean()), (a, b))]
            for share, a2, b2 in _side_lines(self.grad, a, b, reach * size, step, count):
                if share >= 0.3:  # else no edge there (a card on paper of its colour)
                    share, a3, b3 = _best_side(self.grad, a2, b2, step, 1.0)  # to the pixel
                    lines.append((share, (a3, b3)))
            choices.append(lines)
        # the sides keep their order, and so the corners theirs
        return [
            (
                sum(share for share, _ in sides) / 4,
                _corners_of([line for _, line in sides], corners),
            )
            for sides in itertools.product(*choices)
        ]


def candidates(view: EdgeView) -> list[Points]:
    """Plausible document outlines from edges, best first (in the view's pixels)."""
    grad, maps, frame_area = view.grad, view.maps, view.area
    candidates = [c for edges in maps for c in _hull_candidates(edges, frame_area)]
    candidates += line_candidates(maps[1], frame_area)
    width = grad.direction.shape[1]
    # Cheap ranking with a loose tolerance first; snap only the few best, then rank again.
    rough: list[tuple[float, Points]] = []
    for corners in candidates:
        if not (corners >= -0.02 * width).all():
            continue
        # loose: a side may be a text row off the card's edge; _refine moves it there
        support = _side_support(grad, corners, _LOOSE)
        if support < 0.3:
            continue
        texture = min(1.0, _texture(maps[0], corners) / 0.1)
        rough.append((float(cv2.contourArea(corners)) * support**2 * max(texture, 0.05), corners))
    rough.sort(key=lambda item: -item[0])
    scored: list[tuple[float, Points]] = []
    for _, corners in rough[:8]:
        snapped = order_corners(_refine(grad, corners))
        if not _plausible(snapped, frame_area):
            continue
        support = _side_support(grad, snapped)
        if support < 0.5:
            continue
        # plain furniture and picture frames are quads too, but empty inside
        texture = _texture(maps[0], snapped)
        if texture < _MIN_TEXTURE:
            continue
        score = float(cv2.contourArea(snapped)) * support**2 * min(1.0, texture / 0.1)
        scored.append((score, snapped))
    scored.sort(key=lambda item: -item[0])
    return [corners for _, corners in scored]


def distinct(outlines: list[Quad], limit: int) -> list[Quad]:
    """The first ``limit`` of ``outlines`` that do not overlap an earlier one."""
    kept: list[Quad] = []
    for quad in outlines:
        if all(quad_iou(quad, other) < 0.7 for other in kept):
            kept.append(quad)
        if len(kept) == limit:
            break
    return kept


def detect_quads(frame: Image, limit: int = 3) -> list[Quad]:
    """Plausible document outlines in ``frame`` from its edges alone, best first (at most
    ``limit``); :func:`media.vision.outline.find_outlines` checks them against the MRZ."""
    view = EdgeView.of(frame)
    return distinct([Quad.of(c / view.scale) for c in candidates(view)], limit)
