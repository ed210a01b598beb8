"""Where ICAO 9303 puts the MRZ on a document, and what that says about its outline.

From the MRZ's rows in the frame (:mod:`media.vision.zone`) follow the document's
direction, its scale (the rows span a fixed share of its width) and its bottom edge
(the last row lies a fixed distance above it); :func:`predicted_outlines` turns them
into corners. :func:`agrees` checks an outline found from edges against the same rows:
mapped into the outline's own document coordinates (perspective included), the rows
must start, end and lie where the format prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from media.vision.geometry import SIZES_MM, DocumentKind, Points, order_corners
from media.vision.zone import Zone


@dataclass(frozen=True)
class ZoneLayout:
    """The MRZ's place on a document, in millimetres."""

    margin: float  # from the left (and, about, the right) edge to the rows' ends
    last_row: float  # from the bottom edge to the centre line of the last row
    spacing: float  # between the centre lines of two rows


# Measured on the flat specimens (median of the German, Swiss, Slovenian TD1 backs and
# of ten TD3 passport pages), within ICAO 9303-4/-5's tolerances.
LAYOUTS: dict[DocumentKind, ZoneLayout] = {
    "id1": ZoneLayout(margin=4.8, last_row=7.3, spacing=4.23),
    "passport": ZoneLayout(margin=6.7, last_row=9.7, spacing=6.35),
}
# How far (share of the document's width / height) a row end may lie from its place
# for an outline to count as the document's: about 4 mm on a card. A printed photo
# behind the card, 15 % larger, misses by more.
_TOLERANCE_X = 0.05
_TOLERANCE_Y = 0.06
# The rows' spacing gives the document's scale across them, as their length gives it
# along: an outline whose top edge is a band printed on the card (12 % of its height
# in) stretches the spacing by as much. Measured rows are within 4 % of ICAO's 1/6 inch
# (TD1) and 1/4 inch (TD3) on the held-out frames.
_TOLERANCE_SPACING = 0.1


def _frame_of(zone: Zone, upward: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Origin (centre of the last row), unit vectors along the rows and towards the
    document's top, and pixels per millimetre; ``upward`` +1 when the document lies
    above the rows in the frame, -1 when it is upside down."""
    kind = zone.kind
    width_mm = SIZES_MM[kind][0]
    scale = zone.length / (width_mm - 2 * LAYOUTS[kind].margin)
    along = zone.direction
    up = upward * np.array([along[1], -along[0]])  # turned so that +1 points up the frame
    last = zone.rows[-1] if upward > 0 else zone.rows[0]
    return last.centre, along, up, scale


def predicted_outline(zone: Zone, upward: float = 1.0) -> Points:
    """The document's corners as its MRZ places them (no perspective: the rows give the
    scale at the bottom edge; the top edge is the least certain)."""
    kind = zone.kind
    width_mm, height_mm = SIZES_MM[kind]
    origin, along, up, scale = _frame_of(zone, upward)
    below = LAYOUTS[kind].last_row
    corners = [
        origin + scale * (x * along + y * up)
        for x, y in (
            (-width_mm / 2, height_mm - below),
            (width_mm / 2, height_mm - below),
            (width_mm / 2, -below),
            (-width_mm / 2, -below),
        )
    ]
    return order_corners(np.array(corners, dtype=np.float32))


def agrees(corners: Points, zone: Zone) -> bool:
    """Whether the MRZ lies in the outline ``corners`` where the format prints it."""
    return misfit(corners, zone) <= 1.0


def misfit(corners: Points, zone: Zone) -> float:
    """How far the MRZ lies from where the format prints it in the outline ``corners``,
    in tolerances (1.0: at the limit): each row from one margin to the other, level, the
    last one its distance above the bottom, the rows their spacing apart.

    The outline's orientation is not known (its first corner may be the document's
    bottom right): both readings are tried.
    """
    return float(misfits(corners[None], zone)[0])


def misfits(outlines: npt.NDArray[np.floating], zone: Zone) -> npt.NDArray[np.float64]:
    """:func:`misfit` of each of ``outlines`` (shape ``(n, 4, 2)``) at once: the outline
    rebuilt from the rows weighs some hundred combinations of edges."""
    kind = zone.kind
    width_mm, height_mm = SIZES_MM[kind]
    layout = LAYOUTS[kind]
    best = np.full(len(outlines), np.inf)
    for turn in (0, 2):
        mapped = _to_document(np.roll(outlines, -turn, axis=1), zone.ends)
        mapped = mapped.reshape(len(outlines), -1, 2, 2) * (width_mm, height_mm)
        xs, ys = mapped[..., 0], mapped[..., 1]  # [outline, row, end]
        # the best-measured row: a row's end can run into print beside it or stop short
        # at a faint filler, and the rows are aligned anyway
        x_error = np.maximum(
            np.abs(xs.min(axis=2) - layout.margin),
            np.abs(xs.max(axis=2) - (width_mm - layout.margin)),
        ).min(axis=1)
        slope = np.abs(ys[..., 0] - ys[..., 1]).min(axis=1)
        centres = np.sort(ys.mean(axis=2), axis=1)
        y_error = np.maximum(np.abs(centres[:, -1] - (height_mm - layout.last_row)), slope)
        # of three rows, the mean of the two spacings (their median)
        spacing = (centres[:, -1] - centres[:, 0]) / (centres.shape[1] - 1)
        spacing_error = np.abs(spacing / layout.spacing - 1)
        error = np.maximum.reduce(
            [
                x_error / (_TOLERANCE_X * width_mm),
                y_error / (_TOLERANCE_Y * height_mm),
                spacing_error / _TOLERANCE_SPACING,
            ]
        )
        best = np.fmin(best, error)  # a degenerate outline (NaN) fits nothing
    return best


def _to_document(
    outlines: npt.NDArray[np.floating], points: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """``points`` (frame pixels) in the unit square of each of ``outlines``, corner 0 at
    (0, 0), corner 1 at (1, 0) and so on; NaN for a degenerate outline.

    The projective map from the unit square onto a quadrilateral has a closed form
    (Heckbert 1989, "Fundamentals of texture mapping"); its inverse maps the points.
    """
    x = outlines[..., 0].astype(np.float64).T  # x[k]: corner k of every outline
    y = outlines[..., 1].astype(np.float64).T
    dx1, dx2, dx3 = x[1] - x[2], x[3] - x[2], x[0] - x[1] + x[2] - x[3]
    dy1, dy2, dy3 = y[1] - y[2], y[3] - y[2], y[0] - y[1] + y[2] - y[3]
    with np.errstate(divide="ignore", invalid="ignore"):
        det = dx1 * dy2 - dx2 * dy1
        g = (dx3 * dy2 - dx2 * dy3) / det
        h = (dx1 * dy3 - dx3 * dy1) / det
        entries = [
            x[1] - x[0] + g * x[1], x[3] - x[0] + h * x[3], x[0],
            y[1] - y[0] + g * y[1], y[3] - y[0] + h * y[3], y[0],
            g, h, np.ones_like(g),
        ]  # fmt: skip
        square_to_quad = np.stack(entries, axis=-1).reshape(-1, 3, 3)
        usable = np.isfinite(square_to_quad).all(axis=(1, 2))
        square_to_quad[~usable] = np.eye(3)
        usable &= np.abs(np.linalg.det(square_to_quad)) > 1e-9
        square_to_quad[~usable] = np.eye(3)
        inverse = np.linalg.inv(square_to_quad)
        homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1)
        mapped = np.einsum("nij,mj->nmi", inverse, homogeneous)
        result: npt.NDArray[np.float64] = mapped[..., :2] / mapped[..., 2:]
    result[~usable] = np.nan
    return result
