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

from dataclasses import dataclass
from typing import Literal

from media.vision.geometry import Image, Points, Quad
from media.vision.layout import misfit, predicted_outline
from media.vision.quad import EdgeView, candidates, distinct
from media.vision.zone import Zone, find_zone

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
        if misfit(fitted / view.scale, zone) > _REBUILT_MISFIT:
            fitted = predicted  # a side jumped to a background edge
        options.append((view.support(fitted), fitted))
    upright, upside_down = options
    return (
        upside_down if upside_down[0] > upright[0] + 0.1 else upright
    )  # upright unless clearly not


def find_outlines(frame: Image, limit: int = 3) -> Outlines:
    """Document outlines in ``frame`` (BGR), best first, at most ``limit``."""
    view = EdgeView.of(frame)
    found = [c / view.scale for c in candidates(view)]
    zone = find_zone(frame)
    if zone is None:
        return Outlines(tuple(distinct([Quad.of(c) for c in found], limit)), "edges", None)
    # The closest fit wins, not the largest: a printed frame or a photo a little larger
    # than the card may agree within the tolerance too. The outline rebuilt from the rows
    # competes, when its sides found edges.
    support, rebuilt = _rebuilt(view, zone)
    options = [(misfit(c, zone), c, "edges+mrz") for c in found]
    if support >= _MIN_REBUILT_SUPPORT or not found:
        options.append((misfit(rebuilt / view.scale, zone), rebuilt / view.scale, "mrz"))
    fit, best, basis = min(options, key=lambda option: option[0])
    if fit > _REBUILT_MISFIT and basis != "mrz":
        # no outline agrees with the rows: perhaps they were not an MRZ at all
        return Outlines(tuple(distinct([Quad.of(c) for c in found], limit)), "edges", zone)
    others = [c for c in found if c is not best]
    quads = distinct([Quad.of(c) for c in [best, *others]], limit)
    return Outlines(tuple(quads), "mrz" if basis == "mrz" else "edges+mrz", zone)
