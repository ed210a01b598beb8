"""Made-up ID-1 cards (85.6 x 54 mm, TD1 MRZ) and passport data pages (125 x 88 mm, TD3
MRZ), rendered at ``PX_PER_MM`` with a visual zone and an OCR-B MRZ at its printed place.

MRZ geometry (millimetres, line centres from the bottom edge, first character's left
edge from the left edge) as measured on the shared specimens: the German ID card back
(2021) and residence permit put TD1 lines at 7.3 / 11.55 / 15.8 and start at 4.75; the
German passport (2024) puts TD3 lines at 9.5 / 16.0 and starts at 6.1. ICAO 9303 fixes
the pitch at 2.54 mm (ten characters an inch) and OCR-B size 1 characters about 2.4 mm
tall. Each document varies these by a few tenths of a millimetre, as printers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PilImage
from PIL import ImageDraw

from heldout import artwork, fonts
from heldout.identity import Format, Identity, mrz_lines

Image = npt.NDArray[Any]
PX_PER_MM = 12.0  # an ID-1 card 1027 px wide: more than it ever covers in a 720p frame
PITCH_MM = 2.54
CAP_MM = 2.4
_SIZE_MM: dict[Format, tuple[float, float]] = {"TD1": (85.6, 54.0), "TD3": (125.0, 88.0)}
_MRZ_LINES_MM: dict[Format, tuple[float, ...]] = {"TD1": (15.8, 11.55, 7.3), "TD3": (16.0, 9.5)}
_MRZ_LEFT_MM: dict[Format, float] = {"TD1": 4.75, "TD3": 6.1}
_LEFT_MM: dict[Format, float] = {"TD1": 4.0, "TD3": 6.0}  # the visual zone's margin
_TITLES = (
    "PERSONALAUSWEIS  IDENTITY CARD", "REPUBLIK UTOPIA", "CARTE D'IDENTITÉ",
    "REISEPASS  PASSPORT  PASSEPORT", "AUFENTHALTSTITEL", "DOWÓD OSOBISTY", "PASAPORTE",
)  # fmt: skip
_PLACES = ("OSTFILDERN", "BERLIN", "ZÜRICH", "ŁÓDŹ", "SANKT AUGUSTIN", "İZMİR", "LYON")
Ink = tuple[int, int, int]


@dataclass(frozen=True)
class Document:
    """A flat document image (BGRA: rounded corners transparent) and its ground truth."""

    image: Image
    outline: npt.NDArray[np.float64]  # the document's corners in ``image``, TL TR BR BL
    mrz: tuple[str, ...]
    format: Format


def _mm(value: float) -> int:
    return round(value * PX_PER_MM)


def _text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: fonts.Font, fill: Ink
) -> None:
    draw.text((_mm(xy[0]), _mm(xy[1])), text, font=font, fill=fill, anchor="ls")


def _print_mrz(
    page: PilImage.Image, fmt: Format, lines: tuple[str, ...], rng: np.random.Generator
) -> None:
    """One character per 2.54 mm cell, each glyph centred in its cell on the baseline."""
    draw = ImageDraw.Draw(page)
    cap_mm = CAP_MM * rng.uniform(0.92, 1.06)
    probe = fonts.ocr_b(100)
    _left, top, _right, bottom = probe.getbbox("H", anchor="ls")
    font = fonts.ocr_b(max(8, round(_mm(cap_mm) * 100 / (bottom - top))))
    height_mm = _SIZE_MM[fmt][1]
    left_mm = _MRZ_LEFT_MM[fmt] + rng.uniform(-0.6, 0.6)
    shift_mm = rng.uniform(-0.4, 0.4)
    grey = int(rng.uniform(0, 55))
    ink = (grey, grey, min(255, grey + int(rng.uniform(0, 30))))
    for line, centre_mm in zip(lines, _MRZ_LINES_MM[fmt], strict=True):
        baseline = _mm(height_mm - centre_mm + shift_mm + cap_mm / 2)
        for i, char in enumerate(line):
            x = _mm(left_mm + (i + 0.5) * PITCH_MM)
            draw.text((x, baseline), char, font=font, fill=ink, anchor="ms")


def _ink(low: float, high: float, rng: np.random.Generator) -> Ink:
    red, green, blue = (int(c) for c in rng.uniform(low, high, 3))
    return red, green, blue


def _fields(page: PilImage.Image, area: tuple[float, float, float, float],
            rng: np.random.Generator, pairs: list[tuple[str, str]]) -> None:  # fmt: skip
    """Label over value, in columns of rows, in two visual-zone fonts, inside ``area`` (mm)."""
    draw = ImageDraw.Draw(page)
    x, y, width, height = area
    first = int(rng.integers(0, 1000))
    label_font = fonts.visual_zone_font(first, _mm(rng.uniform(1.2, 1.6)))
    value_font = fonts.visual_zone_font(first + int(rng.integers(0, 3)), _mm(rng.uniform(2.0, 2.8)))
    label_ink, value_ink = _ink(20, 140, rng), _ink(0, 50, rng)
    rows = max(1, int(height // 6.5))
    columns = 2 if width > 60 else 1
    for n, (label, value) in enumerate(pairs[: rows * columns]):
        left = x + (n // rows) * width / columns
        top = y + (n % rows) * height / rows
        _text(draw, (left, top + 1.6), label, label_font, label_ink)
        _text(draw, (left, top + 4.6), value, value_font, value_ink)


def _pairs(person: Identity, rng: np.random.Generator) -> list[tuple[str, str]]:
    pairs = [
        ("Name / Surname", person.surname.replace("<", " ")),
        ("Vornamen / Given names", person.given_names.replace("<", " ")),
        ("Geburtstag / Date of birth", person.birth.strftime("%d.%m.%Y")),
        ("Staatsangehörigkeit / Nationality", person.nationality.strip("<") or "D"),
        ("Gültig bis / Date of expiry", person.expiry.strftime("%d.%m.%Y")),
        ("Dokumentnummer / Document No.", person.number),
        ("Geburtsort / Place of birth", str(rng.choice(_PLACES))),
        ("Geschlecht / Sex", person.sex.replace("<", "X")),
    ]
    return [pairs[i] for i in rng.permutation(len(pairs))]


def _rounded_alpha(size: tuple[int, int], radius_mm: float) -> Image:
    width, height = size
    alpha = np.zeros((height, width), np.uint8)
    r = _mm(radius_mm)
    cv2.rectangle(alpha, (r, 0), (width - 1 - r, height - 1), 255, -1)
    cv2.rectangle(alpha, (0, r), (width - 1, height - 1 - r), 255, -1)
    for cx, cy in (
        (r, r),
        (width - 1 - r, r),
        (width - 1 - r, height - 1 - r),
        (r, height - 1 - r),
    ):
        cv2.circle(alpha, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return alpha


def _sheet(fmt: Format, rng: np.random.Generator) -> tuple[Image, float, float]:
    """The printed artwork: tint, guilloche, title band, portrait (all passports, most
    cards), signature. Returns it with the title band's height and where the fields
    start, in millimetres."""
    width_mm, height_mm = _SIZE_MM[fmt]
    sheet = artwork.tinted_sheet((_mm(width_mm), _mm(height_mm)), rng)
    artwork.guilloche(sheet, rng, PX_PER_MM)
    band = _mm(rng.uniform(6, 10))
    band_colour = np.array(artwork.pastel(rng)) * rng.uniform(0.5, 0.9)
    sheet[:band] = sheet[:band] * 0.4 + band_colour * 0.6
    band_mm = band / PX_PER_MM
    fields_x = _LEFT_MM[fmt]
    if fmt == "TD3" or rng.random() < 0.7:
        photo_w = (20.0 if fmt == "TD1" else 33.0) * rng.uniform(0.95, 1.1)
        photo_h = min(photo_w * 1.28, _zone_bottom(fmt) - band_mm - 2)
        photo = artwork.portrait((_mm(photo_w), _mm(photo_h)), rng, grey=rng.random() < 0.5)
        top, left = _mm(band_mm + 1.5), _mm(fields_x)
        sheet[top : top + photo.shape[0], left : left + photo.shape[1]] = photo
        fields_x += photo_w + 3
    signature_box = (_mm(fields_x), _mm(_zone_bottom(fmt) - 4), _mm(22), _mm(4))
    artwork.signature(sheet, signature_box, rng)
    return sheet, band_mm, fields_x


def _zone_bottom(fmt: Format) -> float:
    """Where the visual zone ends (mm from the top): above the MRZ's clear area."""
    return _SIZE_MM[fmt][1] - _MRZ_LINES_MM[fmt][0] - 3.0


def render(fmt: Format, person: Identity, rng: np.random.Generator) -> Document:
    """The data side of a card (TD1) or a passport data page (TD3) of ``person``."""
    sheet, band_mm, fields_x = _sheet(fmt, rng)
    page = PilImage.fromarray(
        cv2.cvtColor(np.clip(sheet, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    )
    draw = ImageDraw.Draw(page)
    title_font = fonts.visual_zone_font(int(rng.integers(0, 1000)), _mm(band_mm * 0.45))
    title = str(rng.choice(_TITLES))
    _text(draw, (_LEFT_MM[fmt], band_mm * 0.72), title, title_font, _ink(200, 255, rng))
    width_mm = _SIZE_MM[fmt][0]
    top = band_mm + 1.0
    area = (fields_x, top, width_mm - fields_x - 3, _zone_bottom(fmt) - top - 5)
    _fields(page, area, rng, _pairs(person, rng))
    lines = mrz_lines(fmt, person, rng)
    _print_mrz(page, fmt, lines, rng)
    bgr = cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)
    w, h = page.size
    alpha = _rounded_alpha((w, h), 3.18 if fmt == "TD1" else rng.uniform(0.0, 1.5))
    outline = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    return Document(np.dstack([bgr, alpha]), outline, lines, fmt)


def open_booklet(page: Document, rng: np.random.Generator) -> Document:
    """The data page as a passport is held: the facing page above it and the cover's
    edge around both. The outline to find is still the data page alone."""
    height, width = page.image.shape[:2]
    rim = _mm(rng.uniform(1.5, 3.5))
    cover = np.array(artwork.pastel(rng)) * rng.uniform(0.15, 0.45)
    canvas: Image = np.zeros((2 * height + 2 * rim, width + 2 * rim, 4), np.uint8)
    canvas[:, :, :3] = cover.astype(np.uint8)
    canvas[:, :, 3] = 255
    facing = artwork.tinted_sheet((width, height), rng)
    artwork.guilloche(facing, rng, PX_PER_MM)
    facing *= np.linspace(1.0, 0.8, height, dtype=np.float32)[:, None, None]  # into the fold
    canvas[rim : rim + height, rim : rim + width, :3] = np.clip(facing, 0, 255).astype(np.uint8)
    bottom = canvas[rim + height : rim + 2 * height, rim : rim + width]
    alpha = page.image[:, :, 3:4].astype(np.float32) / 255
    bottom[:, :, :3] = (page.image[:, :, :3] * alpha + bottom[:, :, :3] * (1 - alpha)).astype(
        np.uint8
    )
    outline = page.outline + np.array([rim, rim + height], np.float64)
    return Document(canvas, outline, page.mrz, page.format)
