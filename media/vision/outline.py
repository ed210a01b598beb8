"""The document's outline in a frame, cross-checked with what the document must look like.

Edges alone (:mod:`media.vision.quad`) take the largest well-edged quad, and on a busy
background that is often not the card: a printed photo it lies on, a monitor, a sheet
of paper behind it. Where the frame shows an MRZ (:mod:`media.vision.zone`), an outline
counts only if the rows lie in it where ICAO 9303 prints them
(:func:`media.vision.layout.agrees`); when no edge outline does, the outline is rebuilt
from the rows and each of its sides moved onto the strongest edge near where the rows
put it. Without an MRZ (a card's front) the edge ranking stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from media.mrz import MrzError, MrzFormat, parse
from media.vision import ocrb
from media.vision.geometry import Image, Points, Quad
from media.vision.layout import misfit, predicted_outline
from media.vision.quad import EdgeView, candidates, distinct
from media.vision.zone import Row, Zone, find_zone

Basis = Literal["edges", "edges+mrz", "mrz"]
# How far a side of the outline the rows predict may be from the card's edge: the rows
# give the scale at the bottom edge; perspective moves the top edge by up to ~10 %.
_REACH = 0.1
# A rebuilt outline needs this much of its weakest side on an edge to beat an edge
# outline the rows disagree with (a text block taken for an MRZ predicts nonsense).
_MIN_REBUILT_SUPPORT = 0.15
# The rows predicted the outline, so the fitted one only has to stay near them: this
# many tolerances (a side may still not jump to a background edge far off).
_REBUILT_MISFIT = 2.0
_MANDATORY_CHECKS = ("document_number", "birth_date", "expiry_date", "composite")
_DOCUMENT_CODES = tuple("ACIPV")
_LAID_OUT: tuple[MrzFormat, ...] = ("TD1", "TD3")


@dataclass(frozen=True)
class Outlines:
    """Outlines in frame pixels, best first, and what the first one rests on."""

    quads: tuple[Quad, ...]
    basis: Basis
    zone: Zone | None


def _rebuilt(view: EdgeView, zone: Zone) -> tuple[float, Points]:
    """The outline the rows predict, sides fitted to the edges near it; of the two ways
    the document can lie (upright, upside down), the one whose sides find more edge."""
    options = []
    for upward in (1.0, -1.0):
        predicted = predicted_outline(zone, upward) * view.scale
        fitted = view.fit(predicted, _REACH)
        if misfit(fitted / view.scale, zone) > _REBUILT_MISFIT or not _holds(
            fitted / view.scale, zone
        ):
            fitted = predicted  # a side jumped to a background edge, or across the rows
        options.append((view.support(fitted), fitted))
    upright, upside_down = options
    return (
        upside_down if upside_down[0] > upright[0] + 0.1 else upright
    )  # upright unless clearly not


def _holds(corners: Points, zone: Zone) -> bool:
    """Whether both ends of every row lie inside the outline: the MRZ is printed on the
    document, so a side fitted onto an edge that cuts through it (a photo's, a field's)
    is not the document's."""
    contour = corners.astype(np.float32).reshape(-1, 1, 2)
    return all(
        cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
        for row in zone.rows
        for x, y in (row.start, row.end)
    )


def _strip(frame: Image, row: Row) -> Image:
    """The row cut out along its own direction, level, with a margin about as the MRZ
    reader cuts rows (0.4 row heights at the ends)."""
    along = row.direction
    across = np.array([-along[1], along[0]])
    pad_x, half = 0.4 * row.thickness, 0.6 * row.thickness
    top_left = row.start - along * pad_x - across * half
    top_right = row.end + along * pad_x - across * half
    bottom_left = row.start - along * pad_x + across * half
    width, height = round(row.length + 2 * pad_x), max(round(2 * half), 4)
    source = np.array([top_left, top_right, bottom_left], dtype=np.float32)
    target = np.array([[0, 0], [width - 1, 0], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getAffineTransform(source, target)
    strip: Image = cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_LINEAR)
    return strip


def _read_format(frame: Image, zone: Zone) -> MrzFormat | None:
    """The format the OCR-B network reads the rows as, either way up, when it looks like
    an MRZ: a document code ICAO 9303 knows (A, C, I, P, V) and two of the four check
    digits over number, dates and composite passing; None otherwise. Lines of a card's
    front can stack like an MRZ's rows and would predict an outline from nothing; read
    under the grammar they pass both tests about one time in a hundred."""
    strips = [_strip(frame, row) for row in zone.rows]
    for rows in (strips, [cv2.rotate(strip, cv2.ROTATE_180) for strip in reversed(strips)]):
        try:
            result = parse(ocrb.read_zone(rows))
        except MrzError:
            continue
        passing = sum(result.checks[name] for name in _MANDATORY_CHECKS)
        if result.document_type[:1] in _DOCUMENT_CODES and passing >= 2:
            return result.format
    return None


def find_outlines(frame: Image, limit: int = 3, edges: Sequence[Quad] | None = None) -> Outlines:
    """Document outlines in ``frame`` (BGR), best first, at most ``limit``. ``edges``:
    the outlines :func:`media.vision.quad.detect_quads` found in this very frame (the
    guidance's quick look), so the edge search is not made twice."""
    view = EdgeView.of(frame)
    if edges is None:
        found = [c / view.scale for c in candidates(view)]
    else:
        found = [quad.array() for quad in edges]
    zone = find_zone(frame)

    def by_edges(zone: Zone | None) -> Outlines:
        return Outlines(tuple(distinct([Quad.of(c) for c in found], limit)), "edges", zone)

    if zone is None:
        return by_edges(None)
    # The closest fit wins, not the largest: a printed frame or a photo a little larger
    # than the card may agree within the tolerance too. The outline rebuilt from the rows
    # competes, when its sides found edges.
    support, rebuilt = _rebuilt(view, zone)
    options = [(misfit(c, zone), c, "edges+mrz") for c in found]
    if support >= _MIN_REBUILT_SUPPORT or not found:
        options.append((misfit(rebuilt / view.scale, zone), rebuilt / view.scale, "mrz"))
    fit, best, basis = min(options, key=lambda option: option[0])
    if basis == "mrz" and _read_format(frame, zone) not in _LAID_OUT:
        # rows that read as no MRZ (a card's front) rebuild nothing, nor do those of a
        # TD2 document (ID-2 sized, whose layout is not in media.vision.layout)
        return by_edges(None)
    if fit > _REBUILT_MISFIT and basis != "mrz":
        # no outline agrees with the rows: perhaps they were not an MRZ at all
        return by_edges(zone)
    others = [c for c in found if c is not best]
    quads = distinct([Quad.of(c) for c in [best, *others]], limit)
    return Outlines(tuple(quads), "mrz" if basis == "mrz" else "edges+mrz", zone)
