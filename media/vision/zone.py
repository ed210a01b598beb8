"""Find the MRZ's rows in a whole camera frame, before any outline is known.

The MRZ is the one part of a document that no background imitates: two or three rows
of dark glyphs at a fixed pitch, equally long, aligned at both ends, a fixed fraction of
their length apart. Found in the unwarped frame, the rows give the document's
direction, scale and bottom edge (:mod:`media.vision.layout`), which is what an
outline found among background edges is checked against.

Unlike :func:`media.vision.mrz_reader.locate`, which expects a flattened document,
this works at any scale and at the turn of a hand-held card: rows are joined along the
frame's lines (a row turned by 20 degrees still overlaps itself from glyph to glyph)
and measured by their principal axis, not their bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from media.vision.channels import brightest
from media.vision.geometry import DocumentKind, Image

Vector = npt.NDArray[np.float64]  # shape (2,)

# Two passes cover a glyph pitch of 6-30 px in a 720p frame (cards filling 10 % of it
# up to the whole frame); each pass handles pitches of 3-8 px at its own scale.
_PASS_WIDTHS = (640, 320)
_BLACKHAT = 9  # px: larger than a glyph at the largest pitch of a pass
_JOIN = 5  # px: bridges the gap between glyphs (and '<' fillers), not between rows
# Bars of one row further apart than the closing bridges, with glyphs between them (a run
# of thin '<' fillers, each too small to be a bar), join up to this many row heights.
_BRIDGE = 12
_MIN_BAR = 24  # px at pass scale: a piece of a row between two faint glyphs
_INK_FLOOR = 18  # black-hat level below which nothing is print
_MAX_TILT = np.radians(35)  # rows of a card held upright (or upside down)
# Row spacing over row length, TD1 4.24 / 76 mm, TD3 6.35 / 111.5 mm; TD2 and the
# specimens measured (bench) lie within these bounds.
_SPACING = (0.04, 0.085)
# How much shorter than the others a row may end (its last fillers lost)
_SHORT_END = 0.15


@dataclass(frozen=True)
class Row:
    """One MRZ row's centre line in frame pixels, ``start`` the end nearer the frame's left."""

    start: Vector
    end: Vector
    thickness: float

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.end - self.start))

    @property
    def direction(self) -> Vector:
        return (self.end - self.start) / max(self.length, 1e-6)

    @property
    def centre(self) -> Vector:
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class Zone:
    """The MRZ's rows in the frame, top to bottom as the frame shows them."""

    rows: tuple[Row, ...]

    @property
    def kind(self) -> DocumentKind:
        """Three rows: an ID-1 card (TD1); two: a passport page (TD3) or TD2 document,
        whose rows fill their page's width in the same proportion."""
        return "id1" if len(self.rows) == 3 else "passport"

    @property
    def length(self) -> float:
        return float(np.median([row.length for row in self.rows]))

    @property
    def ends(self) -> npt.NDArray[np.float64]:
        """Both ends of every row, shape ``(2 * rows, 2)``: start, end, start, end, ..."""
        return np.array([point for row in self.rows for point in (row.start, row.end)])

    @property
    def direction(self) -> Vector:
        mean = np.mean([row.direction for row in self.rows], axis=0)
        return np.asarray(mean / np.linalg.norm(mean), dtype=np.float64)


def _bars(ink: Image, scale: float) -> list[Row]:
    """Long, thin, dense bars in a binary ink image, as rows in frame pixels (a row broken
    at a faint glyph comes as several bars; :func:`_joined` puts it together)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    rows = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if max(w, h) < _MIN_BAR or area < 2 * _MIN_BAR:
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == label)
        points = np.stack([xs + x, ys + y], axis=1).astype(np.float64)
        centre = points.mean(axis=0)
        _, vectors = np.linalg.eigh(np.cov((points - centre).T))
        along = vectors[:, 1] if vectors[0, 1] >= 0 else -vectors[:, 1]  # towards the right
        if abs(np.arctan2(along[1], along[0])) > _MAX_TILT:
            continue
        across = np.array([-along[1], along[0]])
        t = (points - centre) @ along
        d = (points - centre) @ across
        low, high = np.percentile(d, [3, 97])
        length, thickness = float(t.max() - t.min()), float(high - low)
        # glyphs in a row: longer than thick, and mostly ink within their band
        if thickness < 2 or length < 4 * thickness or area < 0.45 * length * thickness:
            continue
        mid = centre + across * (low + high) / 2
        rows.append(
            Row(
                (mid + along * t.min()) / scale,
                (mid + along * t.max()) / scale,
                thickness / scale,
            )
        )
    return rows


def _slant(bars: list[Row]) -> float:
    """The direction most bar length runs in (radians): the card's text rows."""
    if not bars:
        return 0.0
    angles = np.array([np.arctan2(bar.direction[1], bar.direction[0]) for bar in bars])
    weights = np.array([bar.length for bar in bars])
    order = np.argsort(angles)
    cumulative = np.cumsum(weights[order])
    return float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _joined(bars: list[Row], slant: float, ink: Image, scale: float) -> list[Row]:
    """Bars on one line (same direction, small gaps or gaps of glyphs) as one row."""
    along = np.array([np.cos(slant), np.sin(slant)])
    across = np.array([-along[1], along[0]])
    aligned = [bar for bar in bars if float(bar.direction @ along) > np.cos(np.radians(5))]
    rows: list[Row] = []
    for bar in sorted(aligned, key=lambda bar: float(bar.start @ along)):
        for i, row in enumerate(rows):
            offset = abs(float((bar.centre - row.centre) @ across))
            gap = float((bar.start - row.end) @ along)
            thickness = max(row.thickness, bar.thickness)
            if offset < 0.6 * thickness and (
                gap < 3 * thickness
                or (
                    gap < _BRIDGE * thickness
                    and _glyphs(ink, Row(row.end, bar.start, thickness), scale)
                )
            ):
                end = bar.end if float((bar.end - row.end) @ along) > 0 else row.end
                rows[i] = Row(row.start, end, thickness)
                break
        else:
            rows.append(bar)
    return [row for row in rows if row.length >= 12 * row.thickness]


def _ink_along(ink: Image, row: Row, scale: float) -> npt.NDArray[np.bool_]:
    """Whether there is ink at each pixel step along ``row`` (at ``scale``) on any of
    three lines through the middle of its glyphs."""
    start, end = row.start * scale, row.end * scale
    steps = max(int(np.linalg.norm(end - start)), 2)
    across = np.array([-row.direction[1], row.direction[0]]) * row.thickness * scale / 4
    t = np.linspace(0.0, 1.0, steps)[:, None]
    hit = np.zeros(steps, dtype=bool)
    for shift in (-1.0, 0.0, 1.0):
        points = np.rint(start + t * (end - start) + shift * across).astype(np.int32)
        xs = np.clip(points[:, 0], 0, ink.shape[1] - 1)
        ys = np.clip(points[:, 1], 0, ink.shape[0] - 1)
        hit |= ink[ys, xs] > 0
    return hit


def _extended(row: Row, ink: Image, scale: float) -> Row:
    """``row`` with each end carried on over glyphs too small to be bars: a lone letter
    before a filler (``P<``), the fillers and the check digit that end a row. Each step
    looks one glyph pitch (about a row height) beyond the end, so the row stops at the
    first wider gap: ICAO 9303 keeps the MRZ's surroundings clear of print."""
    ends = [row.start, row.end]
    for index, sign in ((0, -1.0), (1, 1.0)):
        reach = row.length  # at most twice as long: a row half of fillers
        while reach > 0:
            end = ends[index]
            look = end + sign * row.direction * 1.5 * row.thickness
            hit = _ink_along(ink, Row(end, look, row.thickness), scale)
            # ink right at the end belongs to the glyph already in the row
            beyond = np.nonzero(hit[len(hit) // 4 :])[0]
            if not len(beyond):
                break
            step = (len(hit) // 4 + int(beyond[-1]) + 1) / len(hit) * 1.5 * row.thickness
            ends[index] = end + sign * row.direction * step
            reach -= step
    return Row(ends[0], ends[1], row.thickness)


def _ink(work: Image) -> Image:
    """Dark print as a binary image: the black-hat response, above a floor (noise on a
    plain wall or a dark sky is no print) and above a share of the strongest print
    nearby (faint MRZ glyphs count even where heavy print elsewhere sets a high level)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (_BLACKHAT, _BLACKHAT))
    blackhat = cv2.morphologyEx(work, cv2.MORPH_BLACKHAT, kernel)
    nearby = cv2.dilate(blackhat, cv2.getStructuringElement(cv2.MORPH_RECT, (31, 31)))
    ink = (blackhat > _INK_FLOOR) & (blackhat > 0.4 * nearby)
    return ink.astype(np.uint8) * 255


def _line_kernel(angle: float) -> Image:
    kernel = np.zeros((_JOIN, _JOIN), np.uint8)
    half = (_JOIN - 1) / 2
    dx, dy = half * np.cos(angle), half * np.sin(angle)
    cv2.line(kernel, (round(half - dx), round(half - dy)), (round(half + dx), round(half + dy)), 1)
    return kernel


def _candidate_rows(frame: Image) -> list[Row]:
    # Brightest channel: black print stays dark, coloured print and guilloche turn light.
    gray = brightest(frame)
    rows: list[Row] = []
    width = gray.shape[1]
    for pass_width in _PASS_WIDTHS:
        scale = min(1.0, pass_width / width)
        work = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ink = _ink(work)
        bars = _bars(cv2.morphologyEx(ink, cv2.MORPH_CLOSE, _line_kernel(0.0)), scale)
        slant = _slant(bars)
        if abs(slant) > np.radians(4):
            # Joined across the frame's lines, glyphs of turned rows reach into the row
            # above: join them along their own direction instead.
            bars = _bars(cv2.morphologyEx(ink, cv2.MORPH_CLOSE, _line_kernel(slant)), scale)
        rows += [
            _extended(row, ink, scale)
            for row in _joined(bars, slant, ink, scale)
            if _glyphs(ink, row, scale)
        ]
    return rows


def _glyphs(ink: Image, row: Row, scale: float) -> bool:
    """Whether ``row`` is a run of separate glyphs, about one per pitch (a row's length
    over its thickness), not a solid bar: a drawn line, a table rule, an edge."""
    hit = _ink_along(ink, row, scale)
    runs = int(np.count_nonzero(hit[1:] & ~hit[:-1])) + int(hit[0])
    return runs >= 0.4 * row.length / row.thickness


def _stacked(upper: Row, lower: Row) -> bool:
    """Whether ``lower`` can be the MRZ row after ``upper``: parallel, one row spacing
    away, starting where it starts and about as long. The ends may differ more than the
    starts: a row that ends in fillers loses its last thin ``<`` where they touch nothing
    (:func:`_full_length` gives it back)."""
    length = max(upper.length, lower.length)
    if min(upper.length, lower.length) < (1 - _SHORT_END) * length:
        return False
    if float(upper.direction @ lower.direction) < np.cos(np.radians(4)):
        return False
    along = upper.direction
    across = np.array([-along[1], along[0]])
    spacing = abs(float((lower.centre - upper.centre) @ across))
    if not _SPACING[0] * length <= spacing <= _SPACING[1] * length:
        return False
    shift_start = abs(float((lower.start - upper.start) @ along))
    shift_end = abs(float((lower.end - upper.end) @ along))
    return shift_start < 0.05 * length and shift_end < (_SHORT_END + 0.05) * length


def _full_length(rows: list[Row]) -> tuple[Row, ...]:
    """The rows of a stack each as long as its longest: MRZ rows have one length."""
    length = max(row.length for row in rows)
    return tuple(Row(row.start, row.start + row.direction * length, row.thickness) for row in rows)


def find_zone(frame: Image) -> Zone | None:
    """The MRZ's rows in ``frame`` (BGR or gray, any size), or None when there is none.

    Of several stacks the one with more rows wins, then the longer: a card's visual zone
    has long text lines too, but never three equal, aligned ones at the MRZ's spacing.
    """
    rows = sorted(_candidate_rows(frame), key=lambda row: row.centre[1])
    best: tuple[Row, ...] = ()
    for i, first in enumerate(rows):
        stack = [first]
        for row in rows[i + 1 :]:
            if len(stack) < 3 and _stacked(stack[-1], row):
                stack = list(_full_length([*stack, row]))
        key = (len(stack), min(row.length for row in stack))
        if len(stack) >= 2 and (not best or key > (len(best), min(r.length for r in best))):
            best = tuple(stack)
    return Zone(best) if best else None
