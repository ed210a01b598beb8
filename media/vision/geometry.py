"""The shapes the vision works with: an outline's four corners, the documents' real
sizes (ISO/IEC 7810 ID-1, ICAO 9303 TD3), and flattening an outline to them."""

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
# Of the frame: smaller outlines are not a document held to the camera.
MIN_AREA = 0.02


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
