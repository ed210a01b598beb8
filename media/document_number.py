"""Where the document number (the serial number) sits on each supported document, and
blacking it out on the stored copy, as data-protection officers advise: a copy that
keeps the number can be used to pose as the holder, and the office does not need it
once the check is done (the clerk reads it from the live picture and the MRZ).

The number appears twice. In the machine-readable zone it is a fixed field (ICAO
9303: TD1 row 1 cells 5-14, TD3 row 2 cells 0-9, check digit included): its cells are
found from the rows the MRZ locator finds on the flattened document, so the other
fields (names, dates) stay readable; where no rows are found, the field's usual place
is covered instead, with a margin. In the visual zone it is printed where each layout
puts it, given as fractions of the flattened document, measured on the specimens in
the shared test data with a margin for an imperfect warp (like ``CAN_REGION``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from media.copies import Image, Region, black_out
from media.vision import mrz_reader
from media.vision.geometry import SIZES_MM

DocumentType = Literal["id_card", "passport"]
DOCUMENT_TYPES: frozenset[str] = frozenset({"id_card", "passport"})


@dataclass(frozen=True)
class MrzNumber:
    """The document-number field of one MRZ format: row ``row`` of ``rows`` rows of
    ``width`` cells, cells ``first`` to ``last`` (the check digit included), and the
    field's usual place on the flattened document for when the rows are not found.
    ``pitch``: one cell (2.54 mm) as a fraction of the document's width."""

    rows: int
    width: int
    pitch: float
    row: int
    first: int
    last: int
    usual: Region


@dataclass(frozen=True)
class Layout:
    """One side of one document: the number printed in its visual zone, and its MRZ."""

    printed: tuple[Region, ...]
    mrz: MrzNumber | None


_CELL_MM = 2.54  # ICAO 9303: the MRZ's fixed character pitch
# TD1, row 1 "IDD<<L01X00T471<<<..." on the German ID card's back (and any ID-1 card
# with a three-row MRZ). Usual place: row 1 lies at 0.68-0.75 of the card's height and
# starts at 0.056-0.072 of its width on every TD1 specimen; cells are 0.0297 wide.
TD1_NUMBER = MrzNumber(
    rows=3,
    width=30,
    pitch=_CELL_MM / SIZES_MM["id1"][0],
    row=0,
    first=5,
    last=14,
    usual=(0.17, 0.64, 0.55, 0.765),
)
# TD3, row 2 "CZ6311T472D<<..." on a passport's data page. Usual place: row 2 lies at
# 0.86-0.98 of the page's height (0.94-0.98 on the 2007 German passport) and starts at
# 0.04-0.06 of its width; cells are 0.0201 wide.
TD3_NUMBER = MrzNumber(
    rows=2,
    width=44,
    pitch=_CELL_MM / SIZES_MM["passport"][0],
    row=1,
    first=0,
    last=9,
    usual=(0.0, 0.84, 0.30, 1.0),
)

# German ID card (Personalausweis), designs 2010, 2019 and 2021: the number at the top
# right of the front ("L01X00T47", "T22000129"; printed at 0.70-0.97 by 0.04-0.11).
ID_CARD_FRONT = Layout(printed=((0.65, 0.0, 1.0, 0.16),), mrz=None)
# The back repeats it at the start of the laser-engraved line above the MRZ
# ("L01X00T471<<MUSTERMANN<<ERIKA<<<", at 0.27-0.45 by 0.53-0.58 on the 2021 design,
# fainter on the 2010 one), then in the MRZ.
ID_CARD_BACK = Layout(printed=((0.22, 0.50, 0.52, 0.61),), mrz=TD1_NUMBER)
# A passport's data page (ICAO 9303 zone I, field 06: the top right). German passports
# 2007 and 2017/2024 print it at 0.62-0.86 by 0.07-0.17; the ICAO, Finnish, Croatian,
# Polish, Czech and Icelandic specimens between 0.60-0.93 and 0.08-0.23.
PASSPORT_PAGE = Layout(printed=((0.55, 0.03, 0.97, 0.27),), mrz=TD3_NUMBER)

# The MRZ lies at the bottom of every ICAO document: a stack of rows ending above this
# fraction of the height is other print (an address, a name line), not the MRZ.
_MRZ_LOWEST_END = 0.6
# Around the located cells: half a cell left and right, part of a row above and
# below, for a row box that hugs its ink a little too tightly.
_CELL_MARGIN = 0.5
_EDGE = 0.01  # a row this close to the image's left or bottom edge may have joined it
_ROW_MARGIN = 0.35


def _number_cells(image: Image, field: MrzNumber) -> Region | None:
    """The field's cells on the best located MRZ of the right shape, if there is one.

    The rows' ends as located are not exact (a row's bar can join a mark beside the
    zone, and ``refine_row`` follows the ink to a card edge drawn in black), so the
    cells are counted from the rows' common left edge at the pitch the shortest row
    gives; a stack whose pitch is far from the flattened document's is not taken.
    """
    height, width = image.shape[:2]
    usual_pitch = field.pitch * width
    for stack in mrz_reader.locate(image)[:3]:
        if len(stack) != field.rows:
            continue
        _, y, _, row_height = stack[field.row]
        if (y + row_height) / height < _MRZ_LOWEST_END:
            continue
        # A mark beside the zone only ever makes a row longer, and starts it further left.
        left = max(x for x, _, _, _ in stack)
        pitch = min(w for _, _, w, _ in stack) / field.width
        touches_edge = any(
            x < _EDGE * width or y + h > (1 - _EDGE) * height for x, y, _, h in stack
        )
        if touches_edge or not 0.85 < pitch / usual_pitch < 1.15:
            # A row joined to the image's edge (a scanner's dark border, taken for a row
            # of its own or joined to one), or rows of another length (other print, or
            # the MRZ joined to a mark): where the cells begin cannot be told.
            continue
        return (
            max(0.0, left + (field.first - _CELL_MARGIN) * pitch) / width,
            max(0.0, y - _ROW_MARGIN * row_height) / height,
            min(width, left + (field.last + 1 + _CELL_MARGIN) * pitch) / width,
            min(height, y + (1 + _ROW_MARGIN) * row_height) / height,
        )
    return None


@dataclass(frozen=True)
class Shown:
    """What a flattened capture shows of its document: the side's layout, and the MRZ
    number's cells where they were found on it."""

    layout: Layout
    cells: Region | None

    @property
    def id_card_front(self) -> bool:
        """The front of an ID card, where the CAN is."""
        return self.layout is ID_CARD_FRONT

    def number_regions(self) -> tuple[Region, ...]:
        """Where the number is: printed, and in the MRZ."""
        if self.layout.mrz is None:
            return self.layout.printed
        return (*self.layout.printed, self.cells or self.layout.mrz.usual)


def shown(image: Image, document_type: DocumentType, kind: str) -> Shown:
    """The side a flattened capture of ``kind`` shows, its MRZ located once.

    A passport has one data page, whatever the capture. Of an ID card, the tilted
    captures (for the hologram) usually show the front; one whose MRZ is found shows
    the back.
    """
    if document_type == "passport":
        layout = PASSPORT_PAGE
    else:
        layout = ID_CARD_FRONT if kind == "front" else ID_CARD_BACK
    cells = _number_cells(image, layout.mrz) if layout.mrz else None
    if layout is ID_CARD_BACK and kind != "back" and cells is None:
        layout = ID_CARD_FRONT  # a tilted card with no MRZ in view: its front
    return Shown(layout, cells)


def black_out_number(image: Image, document_type: DocumentType, kind: str) -> Image:
    """A copy of a flattened capture (a side of the document, or it tilted) with the
    document number covered wherever ``document_type``'s layout puts it."""
    return black_out(image, shown(image, document_type, kind).number_regions())
