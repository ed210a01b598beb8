"""The document number blacked out on copies (media.document_number), on the shared
specimens flattened as the capture flattens them.

Where the number was must no longer be readable: the real MRZ reader does not return
it, the number's MRZ row as recognised no longer holds it, and where it is printed in
the visual zone the pixels are black. The rest of the MRZ stays readable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from media.document_number import DocumentType, black_out_number
from media.mrz import MrzResult
from media.vision import mrz_reader, ocr
from media.vision.geometry import DocumentKind, Quad, warp
from tests.helpers.specimens import NO_DATA, TODAY, manifest, specimen, specimen_image

Image = np.ndarray[Any, Any]
# The recogniser's look-alikes, folded so that a misread digit cannot hide a leak.
FOLD = str.maketrans("OQDISBZG", "00015826")


def flat(file: str) -> tuple[Image, DocumentType]:
    """A flat specimen (a scan or render: the image is the document) flattened to the
    document's real aspect, as a capture is before it is stored."""
    entry = specimen(file)
    image = specimen_image(file)
    height, width = image.shape[:2]
    quad = Quad.of([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    td1 = str(entry["mrz_format"] or "").startswith("TD1") or entry["doc_type"] == "id_card"
    kind: DocumentKind = "id1" if td1 else "passport"
    return warp(image, quad, kind), "id_card" if td1 else "passport"


def number_in_mrz(entry: dict[str, Any]) -> str:
    """The document number (without its fillers) as the MRZ prints it."""
    lines = entry["mrz"]
    field = lines[0][5:14] if entry["mrz_format"] == "TD1" else lines[1][0:9]
    return str(field).rstrip("<")


def read(image: Image) -> MrzResult | None:
    return mrz_reader.read(image, today=TODAY).result


def rows_as_recognised(image: Image, rows: tuple[mrz_reader.Box, ...]) -> list[str]:
    """The MRZ rows of ``image`` where they were before, each read on its own."""
    return [text.translate(FOLD) for text in ocr.recognise(mrz_reader.cut_rows(image, rows))]


def _flat_mrz_specimens() -> list[Any]:
    """Flat TD1 and TD3 specimens of one document (not two sides on one sheet)."""
    chosen = [
        pytest.param(e["file"], id=e["file"])
        for e in manifest()
        if e["mrz_format"] in ("TD1", "TD3")
        and e["capture"].startswith("flat")
        and "composite" not in e["capture"]
        and e["file"] != "usa_ead_card_backs.jpg"  # two cards side by side
        and "rotated" not in e["capture"]
    ]
    return chosen or [pytest.param("", marks=NO_DATA, id="no-data")]


@pytest.mark.parametrize("file", _flat_mrz_specimens())
def test_the_mrz_no_longer_gives_the_number(file: str) -> None:
    entry = specimen(file)
    image, document_type = flat(file)
    side = "back" if entry["mrz_format"] == "TD1" else "front"
    number = number_in_mrz(entry)
    before = mrz_reader.read(image, today=TODAY)
    assert before.found, "the MRZ must be found before, or the test proves nothing"

    copy = black_out_number(image, document_type, side)

    after = read(copy)
    assert after is None or after.document_number != number
    # Read row by row where the rows were: no part of the number is left in them.
    folded = number.translate(FOLD)
    for text in rows_as_recognised(copy, before.boxes):
        assert folded[:5] not in text and folded[-5:] not in text, text
    assert np.array_equal(image, flat(file)[0])  # the frame itself is left as it was


# Where this design keeps the MRZ's other fields: readable after the number is gone.
KEPT = [
    ("deu_idcard_2021_back.png", ["IDD<<", "8308126<3108011D<<2108", "MUSTERMANN<<ERIKA"]),
    ("deu_idcard_2010_back_small.jpg", ["6408125<2010315D", "MUSTERMANN<<ERIKA"]),
    ("deu_passport_2024.png", ["P<D<<MUSTERMANN<<ERIKA", "8308126F34050192405"]),
    ("deu_passport_2007_marked.jpg", ["P<D<<MUSTERMANN<<ERIKA", "6408125F1710319"]),
    ("deu_passport_bdr_specimen_scan.jpg", ["P<BDRMUSTERMANN<<ERIKA", "6408125F1802212"]),
    ("uto_passport_icao_td3.jpg", ["ERIKSSON<<ANNA<MARIA", "7408122F1204159ZE184226B"]),
    ("che_idcard_2023_back.jpg", ["IDCHE", "9508015F3303228CHE", "SCHWEIZER<SAMPLE"]),
]


@pytest.mark.parametrize(("file", "kept"), KEPT, ids=[file for file, _ in KEPT])
def test_the_other_mrz_fields_stay_readable(file: str, kept: list[str]) -> None:
    entry = specimen(file)
    image, document_type = flat(file)
    before = mrz_reader.read(image, today=TODAY)
    side = "back" if entry["mrz_format"] == "TD1" else "front"
    texts = rows_as_recognised(black_out_number(image, document_type, side), before.boxes)
    for field in kept:
        assert any(field.translate(FOLD) in text for text in texts), (field, texts)


# The number as printed in the visual zone, measured by eye on each specimen (fractions
# of the flattened document, x0, y0, x1, y1, just inside the digits' ink).
PRINTED = [
    ("deu_idcard_2021_front.png", "front", (0.71, 0.06, 0.95, 0.10)),
    ("deu_idcard_2019_front.jpg", "front", (0.71, 0.07, 0.95, 0.10)),
    ("deu_idcard_2010_front.jpg", "front", (0.72, 0.07, 0.95, 0.10)),
    ("deu_idcard_2021_back.png", "back", (0.28, 0.54, 0.44, 0.565)),
    ("deu_passport_2024.png", "front", (0.63, 0.125, 0.78, 0.15)),
    ("deu_passport_2007_marked.jpg", "front", (0.70, 0.08, 0.85, 0.105)),
    ("uto_passport_icao_td3.jpg", "front", (0.67, 0.205, 0.82, 0.225)),
]


@pytest.mark.parametrize(("file", "kind", "box"), PRINTED, ids=[p[0] for p in PRINTED])
def test_the_printed_number_is_black(
    file: str, kind: str, box: tuple[float, float, float, float]
) -> None:
    image, document_type = flat(file)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    cut = (slice(int(y0 * height), int(y1 * height)), slice(int(x0 * width), int(x1 * width)))
    assert image[cut].max(axis=2).min() < 110  # dark print there before

    assert black_out_number(image, document_type, kind)[cut].max() == 0


def test_a_tilted_front_keeps_all_but_the_number() -> None:
    """A tilted capture of the card's front (for the hologram) has no MRZ: only the
    printed number goes, the portrait and the data the clerk compares stay."""
    image, _ = flat("deu_idcard_2021_front.png")
    copy = black_out_number(image, "id_card", "tilt_a")
    height, width = image.shape[:2]
    changed = np.argwhere((copy != image).any(axis=2))
    assert changed.size > 0
    assert changed[:, 0].max() < 0.17 * height and changed[:, 1].min() >= 0.64 * width


def test_a_tilted_back_loses_the_number_in_its_mrz() -> None:
    entry = specimen("deu_idcard_2021_back.png")
    image, _ = flat("deu_idcard_2021_back.png")
    before = read(image)
    assert before is not None and before.document_number == number_in_mrz(entry)
    after = read(black_out_number(image, "id_card", "tilt_b"))
    assert after is None or after.document_number != before.document_number
