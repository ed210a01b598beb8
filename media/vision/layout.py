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

import cv2
import numpy as np

from media.vision.geometry import SIZES_MM, DocumentKind, Points, order_corners
from media.vision.zone import Zone


@dataclass(frozen=True)
class ZoneLayout:
    """The MRZ's place on a document, in millimetres."""

    margin: float  # from the left (and, about, the right) edge to the rows' ends
    last_row: float  # from the bottom edge to the centre line of the last row


# Measured on the flat specimens (median of the German, Swiss, Slovenian TD1 backs and
# of ten TD3 passport pages), within ICAO 9303-4/-5's tolerances.
LAYOUTS: dict[DocumentKind, ZoneLayout] = {
    "id1": ZoneLayout(margin=4.8, last_row=7.3),
    "passport": ZoneLayout(margin=6.7, last_row=9.7),
}
# How far (share of the document's width / height) a row end may lie from its place
# for an outline to count as the document's: about 4 mm on a card. A printed photo
# behind the card, 15 % larger, misses by more.
_TOLERANCE_X = 0.05
_TOLERANCE_Y = 0.06


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
    last one its distance above the bottom.

    The outline's orientation is not known (its first corner may be the document's
    bottom right): both readings are tried.
    """
    kind = zone.kind
    width_mm, height_mm = SIZES_MM[kind]
    layout = LAYOUTS[kind]
    target = np.array(
        [[0, 0], [width_mm, 0], [width_mm, height_mm], [0, height_mm]], dtype=np.float32
    )
    ends = np.array([point for row in zone.rows for point in (row.start, row.end)], np.float32)
    best = float("inf")
    for turn in (0, 2):
        source = np.roll(corners.astype(np.float32), -turn, axis=0)
        matrix = cv2.getPerspectiveTransform(source, target)
        mapped = cv2.perspectiveTransform(ends.reshape(-1, 1, 2), matrix).reshape(-1, 2, 2)
        xs, ys = mapped[:, :, 0], mapped[:, :, 1]  # [row, end]
        # the best-measured row: a row's end can run into print beside it or stop short
        # at a faint filler, and the rows are aligned anyway
        x_errors = np.maximum(
            np.abs(xs.min(axis=1) - layout.margin),
            np.abs(xs.max(axis=1) - (width_mm - layout.margin)),
        )
        x_error = float(x_errors.min())
        slope = float(np.abs(ys[:, 0] - ys[:, 1]).min())
        last = float(ys.mean(axis=1).max())
        y_error = max(abs(last - (height_mm - layout.last_row)), slope)
        error = max(x_error / (_TOLERANCE_X * width_mm), y_error / (_TOLERANCE_Y * height_mm))
        best = min(best, error)
    return best
