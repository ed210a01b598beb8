"""Locate, cut and read the MRZ of a (flattened) document image, then parse it.

Locating: the MRZ is 2 or 3 rows of black OCR-B text of equal length, left-aligned, evenly
spaced. A black-hat filter on the darkest colour channel keeps dark print (and drops the
coloured guilloche and the red boxes some specimens draw over fields); a horizontal
closing joins each row's characters into one bar; rows that are much wider than tall and
form such a stack are MRZ candidates, the widest and lowest first.

Reading: each row is cut with a margin and recognised by rapidocr's text recogniser alone
(:mod:`media.vision.ocr`). The text is normalised and handed to :func:`media.mrz.parse`,
which corrects look-alikes by field type only and reports the check digits; the check
digits gate acceptance and are never used to choose between readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from media.mrz import MrzError, MrzResult, normalise_line, parse
from media.vision import ocr

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
Box = tuple[int, int, int, int]  # x, y, width, height
_WORK_WIDTH = 1200
MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"


@dataclass(frozen=True)
class MrzRead:
    """What the reader saw: the rows it cut (in input pixels), the raw text, the outcome."""

    boxes: tuple[Box, ...]
    lines: tuple[str, ...]  # normalised recogniser output, before look-alike correction
    result: MrzResult | None
    error: str | None  # why there is no result (no MRZ found, wrong shape, ...)

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def _dark_print(image: Image) -> Image:
    """Brightest channel per pixel: black ink stays dark, coloured print turns light."""
    if image.ndim == 2:
        return image
    dark: Image = image.max(axis=2)
    return dark


def _row_bars(gray: Image, pitch: float) -> list[Box]:
    size = max(3, int(pitch * 1.2)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    _, ink = cv2.threshold(blackhat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
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
            if (
                abs(bar[2] - top[2]) < 0.12 * top[2]
                and abs(bar[0] - top[0]) < 0.08 * top[2]
                and 1.1 * top[3] < gap < 3.0 * top[3]
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


def cut_rows(image: Image, boxes: Sequence[Box]) -> list[Image]:
    """Each row as BGR for the recogniser, cut tight above and below (10 % of its height)
    and with 40 % of its height left and right; measured on the specimens, a taller margin
    costs exact lines (the recogniser scales every row to 48 px high)."""
    gray = _dark_print(image)
    rows = []
    for x, y, w, h in boxes:
        pad_y, pad_x = max(1, round(h * 0.1)), max(2, round(h * 0.4))
        crop = gray[max(0, y - pad_y) : y + h + pad_y, max(0, x - pad_x) : x + w + pad_x]
        rows.append(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
    return rows


def read(image: Image, *, today: date | None = None, attempts: int = 3) -> MrzRead:
    """Find and read the MRZ of ``image``, trying up to ``attempts`` located row stacks.

    A stack is accepted when its text has an MRZ shape (2x44, 2x36, 3x30) and parses;
    the check digits decide validity (``result.valid``), not which stack is taken.
    """
    stacks = locate(image)[:attempts]
    if not stacks:
        return MrzRead((), (), None, "keine maschinenlesbare Zone gefunden")
    attempts_made: list[MrzRead] = []
    for boxes in stacks:
        texts = tuple(
            normalise_line(text) for text in ocr.recognise(cut_rows(image, boxes), MRZ_ALPHABET)
        )
        try:
            result = parse(texts, today=today)
        except MrzError as error:
            attempts_made.append(MrzRead(tuple(boxes), texts, None, str(error)))
            continue
        return MrzRead(tuple(boxes), texts, result, None)
    return attempts_made[0]  # the best-ranked stack, with why it did not parse
