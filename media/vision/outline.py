"""The document's outline in a frame, cross-checked with what the document must look like.

Edges alone (:mod:`media.vision.quad`) take the largest well-edged quad, and on a busy
background that is often not the card: a printed photo it lies on, a monitor, a sheet
of paper behind it. Where the frame shows an MRZ (:mod:`media.vision.zone`), an outline
counts only if the rows lie in it where ICAO 9303 prints them
(:func:`media.vision.layout.agrees`), and none that cuts across them; when no edge
outline agrees, or one rebuilt from the rows explains the frame clearly better, the
outline is rebuilt: each side of the one the rows predict moved onto one of the edges
near it, the combination chosen by how well the rows lie in it and how much of it lies
on edges (a band printed across the card is often the strongest edge near its top).
Without an MRZ (a card's front) the edge ranking stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from media.mrz import MrzError, MrzFormat, parse
from media.vision import ocrb
from media.vision.geometry import Image, Points, Quad
from media.vision.layout import misfit, misfits, predicted_outline
from media.vision.quad import EdgeView, candidates, distinct
from media.vision.zone import Row, Zone, find_zone

Basis = Literal["edges", "edges+mrz", "mrz"]
# How far a side of the outline the rows predict may be from the card's edge: the rows
# give the scale at the bottom edge; perspective moves the top edge by up to ~10 %.
_REACH = 0.1
# The rows predicted the outline, so the fitted one only has to stay near them: this
# many tolerances (a side may still not jump to a background edge far off).
_REBUILT_MISFIT = 2.0
# Edges tried per side of the predicted outline (besides the side itself).
_SIDE_CHOICES = 3
# An outline's score: its misfit (in tolerances) less this many times its support (the
# share of its sides on an edge). Tuned on held-out frames and cluttered
# specimens together: the layout alone prefers a printed band that happens to sit where
# ICAO puts the edge, support alone the band's sharp edge over a faint border.
_SUPPORT_WEIGHT = 2.0
# How much better a rebuilt outline must score to replace an edge outline that agrees.
_BETTER = 0.1
_MANDATORY_CHECKS = ("document_number", "birth_date", "expiry_date", "composite")
_DOCUMENT_CODES = tuple("ACIPV")
_LAID_OUT: tuple[MrzFormat, ...] = ("TD1", "TD3")


@dataclass(frozen=True)
class Outlines:
    """Outlines in frame pixels, best first, and what the first one rests on."""

    quads: tuple[Quad, ...]
    basis: Basis
    zone: Zone | None


def _rebuilt(view: EdgeView, zone: Zone) -> tuple[float, float, Points]:
    """The outline the rows predict, sides fitted to the edges near it; of the two ways
    the document can lie (upright, upside down), the one whose sides find more edge.

    Each side may take one of the strongest edges near it, or stay: of the outlines so
    made, none cutting across the rows, the one with the best :func:`_score` (its
    misfit with the rows against the mean support of its sides) wins. The strongest
    edge alone is often a band or a photo printed on the document, parallel to its
    edge. When even the best misfits by more than ``_REBUILT_MISFIT``, a side jumped to
    a background edge: the predicted outline stands as it is.

    Returns the support of the outline's weakest side, its misfit and its corners (in
    the view's pixels)."""
    options = []
    for upward in (1.0, -1.0):
        predicted = predicted_outline(zone, upward) * view.scale
        shares, fitted = zip(*view.fits(predicted, _REACH, _SIDE_CHOICES), strict=True)
        outlines = np.array(fitted) / view.scale
        fits = misfits(outlines, zone)
        fits[~_hold(outlines, zone)] = np.inf  # a side cuts across the rows
        best = int(np.argmin(_score(fits, np.array(shares))))
        if fits[best] <= _REBUILT_MISFIT:
            fit, chosen = float(fits[best]), fitted[best]
        else:
            fit, chosen = misfit(predicted / view.scale, zone), predicted
        options.append((view.support(chosen), fit, chosen))
    upright, upside_down = options
    return (
        upside_down if upside_down[0] > upright[0] + 0.1 else upright
    )  # upright unless clearly not


def _score(fit: Any, support: Any) -> Any:
    """How badly outlines explain the frame (lower is better), from their misfit with the
    rows (in tolerances) and their support on edges (a share, 0-1); elementwise on
    arrays."""
    return fit - _SUPPORT_WEIGHT * support


def _hold(outlines: npt.NDArray[np.floating], zone: Zone) -> npt.NDArray[np.bool_]:
    """Whether both ends of every row lie inside each of ``outlines`` (convex, shape
    ``(n, 4, 2)``): the MRZ is printed on the document, so a side fitted onto an edge
    that cuts through it (a photo's, a field's) is not the document's."""
    sides = np.roll(outlines, -1, axis=1) - outlines  # (n, 4, 2)
    to_ends = zone.ends[None, None, :, :] - outlines[:, :, None, :]  # (n, 4, m, 2)
    cross = sides[:, :, None, 0] * to_ends[..., 1] - sides[:, :, None, 1] * to_ends[..., 0]
    # inside: on the same side of all four sides, whichever way round the corners run
    inside = (cross >= 0).all(axis=1) | (cross <= 0).all(axis=1)
    return np.asarray(inside.all(axis=1))


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
    # than the card may agree within the tolerance too. An outline that cuts the rows is
    # not the document's.
    closest, edge_fit, edge_support = None, np.inf, 0.0
    if found:
        outlines = np.array(found)
        fits = misfits(outlines, zone)
        fits[~_hold(outlines, zone)] = np.inf
        closest = found[int(np.argmin(fits))]
        edge_fit, edge_support = float(fits.min()), view.support(closest * view.scale)
    support, rebuilt_fit, rebuilt = _rebuilt(view, zone)
    rebuilt = rebuilt / view.scale
    rebuilt_better = _score(rebuilt_fit, support) < _score(edge_fit, edge_support) - _BETTER
    basis: Basis
    agreed = edge_fit <= 1.0 and not rebuilt_better
    if closest is not None and (agreed or edge_fit <= min(rebuilt_fit, _REBUILT_MISFIT)):
        # An edge outline that agrees stands unless the rebuilt one is clearly better:
        # documents print their MRZ within ICAO's tolerances, not on our measured layout,
        # to which the rebuilt outline is fitted. So does one as close as the rebuilt.
        best, basis = closest, "edges+mrz"
    elif _read_format(frame, zone) in _LAID_OUT:
        # the rows read as an MRZ, and no edge outline agrees with them as well as the
        # one they predict: rebuilt from the rows
        best, basis = rebuilt, "mrz"
    elif closest is not None and edge_fit <= _REBUILT_MISFIT:
        best, basis = closest, "edges+mrz"
    else:
        # no outline agrees with rows that read as no MRZ (a card's front), or as a TD2
        # document's (ID-2 sized, whose layout is not in media.vision.layout)
        return by_edges(None)
    others = [c for c in found if c is not best]
    quads = distinct([Quad.of(c) for c in [best, *others]], limit)
    return Outlines(tuple(quads), basis, zone)
