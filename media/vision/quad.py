"""Find an ID document's outline in a camera frame and warp it flat to its real aspect.

Classical OpenCV on purpose (no detection model): edges -> closed contours -> convex
four-gons, each side then refitted as a straight line through the contour points near it
(cards have rounded corners and fingers cover bits of the edge, so the polygon vertices
alone are a few pixels inside the true corner). Candidates are ranked by area and by how
much of their outline actually lies on an image edge, which rejects the quads that
background clutter or the text block inside the card produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
Points = npt.NDArray[np.float32]  # shape (4, 2): TL, TR, BR, BL
DocumentKind = Literal["id1", "passport"]

# ISO/IEC 7810 ID-1 (ID card) and the ICAO 9303 TD3 passport data page, in millimetres.
SIZES_MM: dict[DocumentKind, tuple[float, float]] = {"id1": (85.6, 54.0), "passport": (125.0, 88.0)}
# Warped width in pixels: at 1200 px an MRZ character (2.54 mm pitch) is 25-36 px wide,
# comfortably above what the recogniser needs, and the warp stays a few milliseconds.
WARP_WIDTH = 1200
_WORK_SIDE = 640  # detection runs on a copy whose longer side is this (speed)
_MIN_AREA = 0.02  # of the frame: smaller outlines are not a document held to the camera
_MIN_TEXTURE = 0.03  # edge pixels inside the outline; the specimens have 0.1-0.2


@dataclass(frozen=True)
class Quad:
    """Document corners in frame pixels, ordered TL, TR, BR, BL (document orientation)."""

    corners: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, points: npt.ArrayLike) -> Quad:
        array = np.asarray(points, dtype=np.float64).reshape(4, 2)
        return cls(tuple((float(x), float(y)) for x, y in array))

    def array(self) -> Points:
        return np.array(self.corners, dtype=np.float32)

    def area(self) -> float:
        return float(cv2.contourArea(self.array()))

    def side_lengths(self) -> tuple[float, float, float, float]:
        pts = self.array()
        top, right, bottom, left = (
            float(np.linalg.norm(pts[(i + 1) % 4] - pts[i])) for i in range(4)
        )
        return top, right, bottom, left

    def aspect(self) -> float:
        """Width over height in the frame (perspective makes this approximate)."""
        top, right, bottom, left = self.side_lengths()
        return (top + bottom) / max(right + left, 1e-6)

    def rotated(self, steps: int) -> Quad:
        """Same outline, corner list shifted: one step turns the document 90 degrees."""
        corners = self.corners[steps % 4 :] + self.corners[: steps % 4]
        return Quad(corners)


def order_corners(points: npt.ArrayLike) -> Points:
    """TL, TR, BR, BL for four points of a convex quadrilateral in any order.

    Clockwise (in image coordinates, y down) by angle around the centroid, starting at the
    point nearest the frame's top-left. If the first side is the shorter one the document
    stands upright in the frame; we then start one corner later so TL->TR is a long side
    (documents are landscape). Which long side is the top cannot be told from the outline:
    the MRZ reader tries the warped image turned 180 degrees as well.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    sides = [float(np.linalg.norm(pts[(i + 1) % 4] - pts[i])) for i in range(4)]
    if sides[0] + sides[2] < sides[1] + sides[3]:
        pts = np.roll(pts, -1, axis=0)
    return pts


def document_kind(quad: Quad) -> DocumentKind:
    """ID-1 card or passport page, whichever real aspect is closer to the measured one."""
    aspect = quad.aspect()
    return min(
        SIZES_MM, key=lambda kind: abs(np.log(aspect * SIZES_MM[kind][1] / SIZES_MM[kind][0]))
    )


def warp_size(kind: DocumentKind, width: int = WARP_WIDTH) -> tuple[int, int]:
    mm_w, mm_h = SIZES_MM[kind]
    return width, round(width * mm_h / mm_w)


def warp(frame: Image, quad: Quad, kind: DocumentKind, width: int = WARP_WIDTH) -> Image:
    """The document flattened to its real aspect, ``width`` pixels wide."""
    w, h = warp_size(kind, width)
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.array(), target)
    flat: Image = cv2.warpPerspective(
        frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return flat


def quad_iou(a: Quad, b: Quad) -> float:
    """Intersection over union of two convex quadrilaterals."""
    inter, _ = cv2.intersectConvexConvex(a.array(), b.array())
    union = a.area() + b.area() - float(inter)
    return float(inter) / union if union > 0 else 0.0


@dataclass(frozen=True)
class _Gradients:
    """Sobel gradients of brightness and saturation (whichever is stronger per pixel)."""

    gx: Image  # float32
    gy: Image
    magnitude: Image

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
        return cls(gx, gy, mag)


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
        lines.append((np.array([x0, y0]), np.array([vx, vy])))
    fitted = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        det = d1[0] * -d2[1] - d1[1] * -d2[0]
        if abs(det) < 1e-6:
            return None
        t = ((p2[0] - p1[0]) * -d2[1] - (p2[1] - p1[1]) * -d2[0]) / det
        fitted.append(p1 + t * d1)
    return np.array(fitted, dtype=np.float32)


def _hit_grid(
    grad: _Gradients, a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], offsets: list[float]
) -> npt.NDArray[np.bool_]:
    """hits[k, j]: at sample j of side a->b, shifted ``offsets[k]`` px across it, is there an
    edge running along the side?

    A point counts when the gradient is strong and points across the side: the text and
    guilloche inside a card have strong gradients too, but in every direction, so a side
    cutting through the card collects little support.
    """
    height, width = grad.magnitude.shape
    length = float(np.linalg.norm(b - a))
    unit = (b - a) / max(length, 1e-6)
    normal = np.array([-unit[1], unit[0]], dtype=np.float32)
    steps = max(int(length / 2), 8)
    t = np.linspace(0.05, 0.95, steps, dtype=np.float32)[None, :, None]
    shift = np.asarray(offsets, dtype=np.float32)[:, None, None] * normal
    pts = np.rint(a + t * (b - a) + shift).astype(np.int32)
    xs = np.clip(pts[..., 0], 0, width - 1)
    ys = np.clip(pts[..., 1], 0, height - 1)
    mag = grad.magnitude[ys, xs]
    across = np.abs(grad.gx[ys, xs] * normal[0] + grad.gy[ys, xs] * normal[1])
    hits: npt.NDArray[np.bool_] = (mag > 40) & (across > 0.85 * mag)
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


def _best_side(
    grad: _Gradients, a: Points, b: Points, reach: float, step: float
) -> tuple[float, Points, Points]:
    """The line near side a->b (each end moved across it by up to ``reach`` px, in
    ``step`` px) along which the most sample points sit on a matching edge."""
    unit = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    normal = np.array([-unit[1], unit[0]], dtype=np.float32)
    shifts = np.arange(-reach, reach + step / 2, step, dtype=np.float32)
    grid = _hit_grid(grad, a, b, [float(x) for x in shifts])
    start_grid, end_grid = np.meshgrid(shifts, shifts, indexing="ij")
    start, end = start_grid.ravel(), end_grid.ravel()  # every (shift at a, shift at b)
    t = np.linspace(0.05, 0.95, grid.shape[1], dtype=np.float32)
    offset = start[:, None] + t[None, :] * (end - start)[:, None]
    row = np.clip(np.rint((offset - shifts[0]) / step).astype(np.int32), 0, len(shifts) - 1)
    shares = grid[row, np.arange(grid.shape[1])[None, :]].mean(axis=1)
    best = int(np.argmax(shares))
    return float(shares[best]), a + start[best] * normal, b + end[best] * normal


def _corners_of(lines: list[tuple[Points, Points]], fallback: Points) -> Points:
    """Corners where consecutive side lines (TL-TR, TR-BR, ...) meet."""
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
    if area < _MIN_AREA * frame_area:
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
        if cv2.contourArea(hull) < _MIN_AREA * frame_area:
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


def _line_candidates(
    edges: Image, frame_area: float, keep: int = 18, limit: int = 30
) -> list[Points]:
    """Quads from pairs of roughly parallel straight lines (Hough).

    Finds the card when something the same brightness touches it, which merges the two
    outlines into one contour that no four-gon fits.
    """
    short_side = min(edges.shape)
    segments = cv2.HoughLinesP(
        edges, 1, np.pi / 180, 30, minLineLength=0.12 * short_side, maxLineGap=6
    )
    if segments is None:
        return []
    lines: list[list[float]] = []  # theta, rho, total length
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
    lines = kept[:keep]

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
            & (area >= _MIN_AREA * frame_area)
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


def detect_quads(frame: Image, limit: int = 3) -> list[Quad]:
    """Plausible document outlines in ``frame``, best first (at most ``limit``)."""
    height, width = frame.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(height, width))
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    channels = _channels(small)
    grad = _Gradients.of(channels)
    maps = _edge_maps(channels)
    frame_area = float(small.shape[0] * small.shape[1])
    candidates = [c for edges in maps for c in _hull_candidates(edges, frame_area)]
    candidates += _line_candidates(maps[1], frame_area)
    # Cheap ranking with a loose tolerance first; snap only the few best, then rank again.
    rough: list[tuple[float, Points]] = []
    for corners in candidates:
        if not (corners >= -0.02 * width * scale).all():
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
    quads: list[Quad] = []
    for _, corners in scored:
        quad = Quad.of(corners / scale)
        if all(quad_iou(quad, kept) < 0.7 for kept in quads):
            quads.append(quad)
        if len(quads) == limit:
            break
    return quads
