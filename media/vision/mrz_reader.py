"""Locate, cut and read the MRZ of a (flattened) document image, then parse it.

Locating: the MRZ is 2 or 3 rows of black OCR-B text of equal length, left-aligned, evenly
spaced. A black-hat filter on the darkest colour channel keeps dark print (and drops the
coloured guilloche and the red boxes some specimens draw over fields); a horizontal
closing joins each row's characters into one bar; rows that are much wider than tall and
form such a stack are MRZ candidates, the widest and lowest first.

Reading: each row's left and right end are re-measured from its ink (the closing that
finds rows also bridges to a card edge or stops at a wide gap), then the row is cut with a
margin and read. The readings of :data:`READINGS` are tried in turn until one passes all
its check digits: our own OCR-B network (:mod:`media.vision.ocrb`), which reads each row
to its format's exact length under the MRZ grammar, then rapidocr's recogniser
(:mod:`media.vision.ocr`) on two differently prepared cuts. Print that slopes is levelled
and read again. The text goes to :func:`media.mrz.parse`, which corrects look-alikes by
field type only and reports the check digits. When no reading passes them all, the one
that passes most is reported (:func:`best`); every reading is a model's, and no
character is ever substituted to make a check digit pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from media.mrz import MrzError, MrzResult, normalise_line, parse
from media.vision import ocr, ocrb
from media.vision.channels import brightest, dark_ink
from media.vision.text_angle import levelled, text_angle

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
Box = tuple[int, int, int, int]  # x, y, width, height
_WORK_WIDTH = 1200
_CHECKS_OF_A_MISREAD = 2
_LEVEL = 3  # degrees of slope the row finder still takes as level
MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
Recogniser = Literal["rapidocr", "ocrb"]


@dataclass(frozen=True)
class MrzRead:
    """What the reader saw: the rows it cut (in input pixels), the raw text, the outcome."""

    boxes: tuple[Box, ...]
    lines: tuple[str, ...]  # normalised recogniser output, before look-alike correction
    result: MrzResult | None
    error: str | None  # why there is no result (no MRZ found, wrong shape, ...)
    recogniser: Recogniser | None = None  # who read ``lines`` (None: nothing was read)

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def _dark_print(image: Image) -> Image:
    """Brightest channel per pixel: black ink stays dark, coloured print turns light."""
    return brightest(image)


def _row_bars(gray: Image, pitch: float) -> list[Box]:
    ink = dark_ink(gray, max(3, int(pitch * 1.2)) | 1)
    # bridge the gaps between characters (and the thin '<' glyphs) but never across rows
    join = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(pitch * 1.6)), 1))
    bars = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, join)
    count, _, stats, _ = cv2.connectedComponentsWithStats(bars)
    found = []
    for x, y, w, h, _area in stats[1:count]:
        if w < 8 * pitch:
            continue
        # Rows printed close together (or upscaled from a small image) touch here and
        # there and become one component: split it where few columns are inked.
        if h < 2.0 * pitch:
            if w > 10 * h and 0.5 * pitch < h:
                found.append((int(x), int(y), int(w), int(h)))
            continue
        profile = np.count_nonzero(bars[y : y + h, x : x + w], axis=1)
        inked = profile > 0.5 * profile.max()
        edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.astype(np.int8), [0]))))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            row = bars[y + start : y + end, x : x + w]
            cols = np.flatnonzero(row.any(axis=0))
            height = int(end - start)
            width = int(cols[-1] - cols[0] + 1)
            if width > 10 * height and 0.5 * pitch < height < 2.5 * pitch:
                found.append((int(x + cols[0]), int(y + start), width, height))
    return found


def _stacks(bars: list[Box]) -> list[list[Box]]:
    """Groups of 2-3 bars of equal width, left-aligned, one row pitch apart; best first."""
    bars = sorted(bars, key=lambda bar: bar[1])
    groups: list[list[Box]] = []
    for i, top in enumerate(bars):
        group = [top]
        for bar in bars[i + 1 :]:
            last = group[-1]
            gap = bar[1] - last[1]
            # Blurred print thickens a row's bar to nearly the row pitch: rows may all but
            # touch. A third row lies the first two's pitch below the second, never two.
            pitch = group[1][1] - group[0][1] if len(group) == 2 else gap
            if (
                abs(bar[2] - top[2]) < 0.12 * top[2]
                and abs(bar[0] - top[0]) < 0.08 * top[2]
                and 0.9 * top[3] < gap < 3.0 * top[3]
                and abs(gap - pitch) < 0.2 * pitch
            ):
                group.append(bar)
            if len(group) == 3:
                break
        if len(group) >= 2:
            groups.append(group)
    # ICAO 9303 puts the MRZ at the bottom of the document: lowest stack first, and of
    # stacks ending on the same row (rows 2-3 of a TD1 MRZ) the one with more rows.
    groups.sort(key=lambda g: (-(g[-1][1] + g[-1][3]), -len(g)))
    return groups


def locate(image: Image) -> list[list[Box]]:
    """Candidate MRZ row stacks in ``image`` (pixels of ``image``), best first."""
    gray = _dark_print(image)
    scale = _WORK_WIDTH / gray.shape[1]
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    work = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interpolation)
    stacks: list[list[Box]] = []
    # Character pitch is unknown when the image is not a flattened document: try the pitch
    # of TD1 and TD3 rows spanning the width, then rows half as wide (two cards side by side).
    for chars in (33, 48, 70):
        for group in _stacks(_row_bars(work, _WORK_WIDTH / chars)):
            boxes = [
                (round(x / scale), round(y / scale), round(w / scale), round(h / scale))
                for x, y, w, h in group
            ]
            if all(_overlap(boxes[0], other[0]) < 0.5 for other in stacks):
                stacks.append(boxes)
    return stacks


def _overlap(a: Box, b: Box) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / max(1, min(a[2] * a[3], b[2] * b[3]))


def refine_row(image: Image, box: Box, max_gap: float = 2.0) -> Box:
    """``box`` with its left and right end re-measured on the ink of its own band.

    The MRZ is one unbroken run of glyphs (every position is printed, '<' included), so
    the row is the run of inked columns, joined over gaps below ``max_gap`` row heights,
    that overlaps ``box`` most. That drops a card edge or a background stripe the row
    closing had bridged to, and restores the end of a row it had stopped short of.
    """
    x, y, w, h = box
    band = _dark_print(image[max(0, y - h // 4) : y + h + h // 4])  # the band only
    if band.size == 0:
        return box
    ink = dark_ink(band, max(3, int(h * 1.2)) | 1)
    columns = np.flatnonzero(np.count_nonzero(ink, axis=0))
    if columns.size == 0:
        return box
    breaks = np.flatnonzero(np.diff(columns) > max_gap * h)
    starts = np.concatenate(([columns[0]], columns[breaks + 1]))
    ends = np.concatenate((columns[breaks], [columns[-1]]))
    overlaps = np.minimum(ends + 1, x + w) - np.maximum(starts, x)
    best = int(np.argmax(overlaps))
    if overlaps[best] <= 0:
        return box
    return (int(starts[best]), y, int(ends[best] - starts[best] + 1), h)


def _align_left(boxes: tuple[Box, ...]) -> tuple[Box, ...]:
    """MRZ rows start in the same column: a row whose ink starts further left has picked
    up a mark beside the zone, so every row starts where the rightmost start is."""
    left = max(x for x, _, _, _ in boxes)
    return tuple(
        (left, y, x + w - left, h) if x + w > left else (x, y, w, h) for x, y, w, h in boxes
    )


@dataclass(frozen=True)
class Cut:
    """How rows are cut and prepared for the recogniser (which scales them to 48 px high).

    ``pad_y`` / ``pad_x``: margin above and below / left and right, in row heights;
    ``stretch``: horizontal scale of the cut; ``gamma``: brightness curve (below 1 lifts
    the paper and the grey halo of blurred glyphs toward white).
    """

    pad_y: float
    pad_x: float = 0.4
    stretch: float = 1.0
    gamma: float = 1.0


# Measured on the specimens and on synthetic webcam frames (bench/documents.py): the first
# cut reads the most rows exactly on its own (a taller margin gains a little on webcam
# frames but loses small scans); the second is the one that most often reads what the
# first got wrong, though it reads fewer rows exactly when used alone.
FIRST_CUT = Cut(pad_y=0.1)
SECOND_CUT = Cut(pad_y=0.5, stretch=1.2)


def cut_rows(image: Image, boxes: Sequence[Box], cut: Cut = FIRST_CUT) -> list[Image]:
    """Each row as BGR for the recogniser, prepared as ``cut`` says."""
    gray = _dark_print(image)
    lut = None
    if cut.gamma != 1.0:
        lut = (np.linspace(0.0, 1.0, 256) ** cut.gamma * 255).astype(np.uint8)
    rows = []
    for x, y, w, h in boxes:
        pad_y, pad_x = max(1, round(h * cut.pad_y)), max(2, round(h * cut.pad_x))
        crop = gray[max(0, y - pad_y) : y + h + pad_y, max(0, x - pad_x) : x + w + pad_x]
        if cut.stretch != 1.0:
            crop = cv2.resize(crop, None, fx=cut.stretch, fy=1.0, interpolation=cv2.INTER_CUBIC)
        if lut is not None:
            crop = cv2.LUT(crop, lut)
        rows.append(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
    return rows


# Measured on the specimens and on webcam frames (bench/documents.py): the OCR-B
# network reads first - as many specimen lines as rapidocr first, more held-out webcam
# lines, in a quarter of the time - and rapidocr's two cuts read what it gets wrong.
READINGS: tuple[tuple[Recogniser, Cut], ...] = (
    ("ocrb", FIRST_CUT),
    ("rapidocr", FIRST_CUT),
    ("rapidocr", SECOND_CUT),
)


def _recognise(
    image: Image, boxes: Sequence[Box], cut: Cut, recogniser: Recogniser
) -> tuple[str, ...]:
    crops = cut_rows(image, boxes, cut)
    if recogniser == "ocrb":
        return ocrb.read_zone(crops)
    return tuple(normalise_line(text) for text in ocr.recognise(crops, MRZ_ALPHABET))


def _looks_like_mrz(lines: Sequence[str]) -> bool:
    """Worth a second reading: every row has fillers and nearly an MRZ row's length."""
    return all("<" in line and 26 <= len(line) <= 48 for line in lines)


def _worth_reading_again(first: MrzRead) -> bool:
    """Whether the other recognisers may make a valid reading of these rows. rapidocr's
    text parses only where there is an MRZ, or comes close to one. The network's always
    parses (it reads under the grammar): there a zone misread in a place or two still
    passes two of its check digits, while a stack that is no MRZ rarely does - and
    reading such stacks again cost more than every other part of the search."""
    if first.result is None:
        return first.recogniser == "rapidocr" and _looks_like_mrz(first.lines)
    return first.recogniser == "rapidocr" or likely_mrz(first.result)


def likely_mrz(result: MrzResult) -> bool:
    """Whether a reading that parsed is an MRZ, if perhaps misread in a place or two:
    two of its check digits pass (of a stack that is no MRZ, read under the grammar,
    each passes about one time in ten)."""
    return sum(result.checks.values()) >= _CHECKS_OF_A_MISREAD


def _surer_names(image: Image, read: MrzRead, cut: Cut, today: date | None) -> MrzRead:
    """``read`` (made from ``cut``) with each row no check digit covers (the names) read
    by the network from the taller second cut too, keeping the reading its grammar cost
    least: a cut that clips the glyphs' tops misreads letters nothing catches (P as D)."""
    result = read.result
    if read.recogniser != "ocrb" or result is None:
        return read
    lines = list(read.lines)
    for line, validity in enumerate(result.line_validity()):
        if validity is not None:
            continue
        box = read.boxes[line]
        (text, cost), (other, other_cost) = (
            ocrb.read_row(cut_rows(image, [box], each)[0], result.format, line)
            for each in (cut, SECOND_CUT)
        )
        if other != text and other_cost < cost:
            lines[line] = other
    if lines == list(read.lines):
        return read
    return MrzRead(read.boxes, tuple(lines), parse(lines, today=today), None, "ocrb")


def _two_row_lengths(lines: Sequence[str]) -> bool:
    """The first two rows read about as long as a TD2 or TD3 row, not a TD1 row."""
    return len(lines) >= 2 and all(34 <= len(line) <= 48 for line in lines[:2])


def read(image: Image, *, today: date | None = None, attempts: int = 3) -> MrzRead:
    """Find and read the MRZ of ``image``, trying up to ``attempts`` located row stacks.

    A stack is accepted when its text has an MRZ shape (2x44, 2x36, 3x30) and parses
    with all its check digits passing (``result.valid``). A first reading that is not
    valid is followed by the other :data:`READINGS` of the same rows, then by the next
    stack. When none is conclusive and the print slopes by more than a few degrees,
    the image is levelled (:mod:`media.vision.text_angle`) and read again; the boxes
    of that reading are in the levelled image. When none is valid, :func:`best` picks
    among all the readings made.
    """
    found = _read_stacks(image, today, attempts)
    if conclusive(found):
        return found
    angle = text_angle(image)
    if abs(angle) < _LEVEL:
        return found
    # the print slopes (no outline flattened it, or a wrong one did): read it levelled
    again = _read_stacks(levelled(image, angle), today, attempts)
    return best((found, again))


def _read_stacks(image: Image, today: date | None, attempts: int) -> MrzRead:
    stacks = locate(image)[:attempts]
    if not stacks:
        return MrzRead((), (), None, "keine maschinenlesbare Zone gefunden")
    readings: list[MrzRead] = []
    for located in stacks:
        boxes = _align_left(tuple(refine_row(image, box) for box in located))
        (first_recogniser, cut), *others = READINGS
        first = _read_stack(image, boxes, cut, today, first_recogniser)
        if len(boxes) == 3 and first.result is None and _two_row_lengths(first.lines):
            # a passport's two rows with a line of print (or the page's edge) below them
            boxes = boxes[:2]
            first = _read_stack(image, boxes, cut, today, first_recogniser)
        readings.append(first)
        if first.result is not None and first.result.valid:
            return _surer_names(image, first, cut, today)
        if _worth_reading_again(first):
            for recogniser, other_cut in others:
                again = _read_stack(image, boxes, other_cut, today, recogniser, first)
                if again.result is not None and again.result.valid:
                    return again
                readings.append(again)
        if conclusive(first):
            return first
    return best(readings)


def _standing(read: MrzRead) -> tuple[bool, int, bool]:
    result = read.result
    if result is None:
        return (False, -1, False)
    return (result.valid, sum(result.checks.values()), True)


def best(readings: Sequence[MrzRead]) -> MrzRead:
    """Of several readings (of stacks, cuts, views), the one that got furthest: a valid
    one, else the one with the most check digits passing, else one that parsed; the
    earliest of equals. Check digits rank here, they never change a character: a zone
    misread in one place still passes most of its check digits, while a stack that is
    no MRZ (the visual zone, read under the MRZ grammar) passes about one in ten."""
    return max(readings, key=_standing)  # max keeps the first of equal keys


def conclusive(read: MrzRead) -> bool:
    """Whether ``read`` ends the search for the zone (over stacks, views, outlines): a
    valid reading does; one that parsed with failing check digits does when rapidocr
    read it, whose text parses only where there is an MRZ. The network, read under the
    MRZ grammar, makes MRZ-shaped text of any row stack (the visual zone, the MRZ
    upside down): there the next stack or view may still hold the zone."""
    if read.result is None:
        return False
    return read.result.valid or read.recogniser == "rapidocr"


def _read_stack(
    image: Image,
    boxes: tuple[Box, ...],
    cut: Cut,
    today: date | None,
    recogniser: Recogniser,
    earlier: MrzRead | None = None,
) -> MrzRead:
    """Read and parse the rows ``boxes``. Given an ``earlier`` reading that parsed as a
    two-row MRZ, only the second row is read again: it holds every check digit there."""
    if earlier is not None and earlier.result is not None and len(boxes) == 2:
        texts = (earlier.lines[0], *_recognise(image, boxes[1:], cut, recogniser))
    else:
        texts = _recognise(image, boxes, cut, recogniser)
    try:
        return MrzRead(boxes, texts, parse(texts, today=today), None, recogniser)
    except MrzError as error:
        return MrzRead(boxes, texts, None, str(error), recogniser)
