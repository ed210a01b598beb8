"""Document vision (media.vision): outline, warp, quality verdicts, MRZ reading, faces.

Runs on the shared ID specimens (../shared/data/id-samples, skipped with a reason when
absent) and on synthetic 720p frames made here from them (media.vision.synthetic). No
mocks: the real OpenCV pipeline and the real rapidocr recogniser (~0.3 s per frame).
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from media import cli_analyse
from media.mrz import parse
from media.vision import MrzConsensus, analyse, face, mrz_reader, ocr, quality
from media.vision.analysis import DocumentAnalysis
from media.vision.geometry import Quad, quad_iou
from media.vision.quad import detect_quads
from media.vision.synthetic import add_glare, background, webcam_frame
from tests.helpers.constants import SAMPLES
from tests.helpers.specimens import CHECK_NAMES, NO_DATA, TODAY, manifest, specimen, specimen_image

FLAT_RENDERS = {"flat_specimen_render", "flat_render", "synthetic_render"}


MANIFEST = manifest()


@cache
def _analysed(file: str) -> DocumentAnalysis:
    """One analysis per specimen for the whole module (OCR is the slow part)."""
    return analyse(specimen_image(file), today=TODAY)


def _params(select: Any) -> list[Any]:
    chosen = [e for e in MANIFEST if select(e)]
    if not chosen:
        return [pytest.param({}, marks=NO_DATA, id="no-data")]
    return [pytest.param(e, id=e["file"]) for e in chosen]


def _is_flat_icao_render(entry: dict[str, Any]) -> bool:
    fmt = str(entry.get("mrz_format") or "").split(" ")[0]
    return entry["capture"] in FLAT_RENDERS and fmt in {"TD1", "TD2", "TD3"}


# --- outline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry", _params(lambda e: e["quad"] is not None), ids=lambda e: e.get("file", "")
)
def test_outline_matches_the_annotated_quad(entry: dict[str, Any]) -> None:
    found = _analysed(entry["file"])
    assert found.quad_source == "outline"
    assert found.quad is not None
    assert quad_iou(found.quad, Quad.of(entry["quad"])) >= 0.9


def test_outline_and_mrz_of_a_synthetic_perspective_frame() -> None:
    rng = np.random.default_rng(11)
    document = specimen_image("deu_idcard_2021_back.png", cv2.IMREAD_UNCHANGED)
    frame = webcam_frame(document, rng, fill=0.55, rotation=-9, tilt=0.04, glare=False)
    result = analyse(frame.image, today=TODAY)
    assert result.quad is not None
    assert quad_iou(result.quad, frame.quad) >= 0.9
    assert result.kind == "id1"
    assert result.warped is not None and result.warped.shape[:2] == (757, 1200)
    assert result.mrz_result is not None
    assert list(result.mrz_result.lines) == specimen("deu_idcard_2021_back.png")["mrz"]


def test_a_fuller_analysis_takes_the_outlines_a_quick_look_found() -> None:
    rng = np.random.default_rng(11)
    document = specimen_image("deu_idcard_2021_back.png", cv2.IMREAD_UNCHANGED)
    frame = webcam_frame(document, rng, fill=0.55, rotation=-9, tilt=0.04, glare=False)
    quick = analyse(frame.image, read_mrz=False, find_portrait=False)
    assert quick.outlines and quick.outlines[0] == quick.quad
    full = analyse(frame.image, today=TODAY, outlines=quick.outlines)
    assert full.mrz_result is not None and full.mrz_result.valid
    assert full.quad is not None and quad_iou(full.quad, frame.quad) >= 0.9
    # the look's outlines, and at most the one the MRZ's rows predict: no new search
    assert len(set(full.outlines) - set(quick.outlines)) <= 1
    # given outlines are not searched for again, only checked against the MRZ's rows: a
    # wrong one gives way to the outline the rows predict, and no other edge outline
    # turns up beside the two
    h, w = frame.image.shape[:2]
    elsewhere = Quad.of([[10, 10], [w // 3, 10], [w // 3, h // 4], [10, h // 4]])
    misled = analyse(frame.image, today=TODAY, outlines=[elsewhere])
    assert len(misled.outlines) == 2 and misled.outlines[1] == elsewhere
    assert misled.quad is not None and quad_iou(misled.quad, frame.quad) >= 0.9
    # the quick look takes them as they are
    looked = analyse(frame.image, read_mrz=False, find_portrait=False, outlines=[elsewhere])
    assert looked.quad == elsewhere


# --- MRZ on the flat specimen renders --------------------------------------------------------


@pytest.mark.parametrize("entry", _params(_is_flat_icao_render), ids=lambda e: e.get("file", ""))
def test_mrz_read_exactly_on_flat_renders(entry: dict[str, Any]) -> None:
    found = _analysed(entry["file"])
    assert found.mrz is not None
    assert found.mrz_result is not None, found.mrz.error
    assert list(found.mrz_result.lines) == entry["mrz"]
    assert found.mrz_result.valid is entry["mrz_valid"]


# Both sides of a card on one sheet (the outline found is the sheet, or one side), a
# passport photographed in perspective with print below its MRZ, a phone's photo of a
# passport lying askew with no outline to flatten it.
SHEETS_AND_PHOTOS = {"flat_specimen_composite", "photo_perspective", "photo_screenshot"}


@pytest.mark.parametrize(
    "entry", _params(lambda e: e["capture"] in SHEETS_AND_PHOTOS), ids=lambda e: e.get("file", "")
)
def test_mrz_read_exactly_on_two_sided_sheets_and_photos_at_an_angle(
    entry: dict[str, Any],
) -> None:
    found = _analysed(entry["file"])
    assert found.mrz_result is not None, found.mrz.error if found.mrz else "no MRZ"
    assert list(found.mrz_result.lines) == entry["mrz"]
    assert found.mrz_result.valid is entry["mrz_valid"]


@pytest.mark.parametrize(
    "entry", _params(lambda e: e["mrz_valid"] is False), ids=lambda e: e.get("file", "")
)
def test_invalid_check_digits_are_flagged(entry: dict[str, Any]) -> None:
    result = _analysed(entry["file"]).mrz_result
    assert result is not None
    assert not result.valid
    expected = {CHECK_NAMES[k]: v for k, v in entry["mrz_checkdigits"].items()}
    assert {k: result.checks[k] for k in expected} == expected
    assert _analysed(entry["file"]).to_json()["mrz"]["valid"] is False


def test_expiry_is_reported() -> None:
    result = _analysed("deu_passport_2024.png")
    assert result.mrz_result is not None
    assert result.expired is False  # valid until 2034-05-01
    assert result.mrz_result.expired(date(2034, 5, 2))


# --- quality verdicts ------------------------------------------------------------------------

# Its paper is not clipped white, so a highlight can be seen on it (see quality.glare).
QUALITY_DOC = "fra_idcard_1994_design.jpg"


def _frame(**overrides: Any) -> Any:
    rng = np.random.default_rng(3)
    params: dict[str, Any] = {"fill": 0.55, "rotation": 7, "tilt": 0.03, "blur": 0.0}
    params.update(glare=False, quality=92)
    params.update(overrides)
    return webcam_frame(specimen_image(QUALITY_DOC), rng, **params)


def test_sharp_document_passes() -> None:
    frame = _frame()
    result = analyse(frame.image, read_mrz=False)
    assert result.quad is not None and quad_iou(result.quad, frame.quad) >= 0.9
    assert result.quality.verdict == "ok", result.quality
    assert result.quality.hints == ()
    assert result.portrait is not None  # the holder's photo on the card


def test_blurred_document_fails_with_the_blur_hint() -> None:
    result = analyse(_frame(blur=4.0).image, read_mrz=False)
    assert result.quality.verdict == "retry"
    assert quality.HINT_BLUR in result.quality.hints
    assert result.quality.sharpness < analyse(_frame().image, read_mrz=False).quality.sharpness


def test_small_document_asks_to_come_closer() -> None:
    result = analyse(_frame(fill=0.2).image, read_mrz=False)
    assert result.found
    assert result.quality.fill < quality.MIN_FILL
    assert result.quality.verdict == "retry"
    assert quality.HINT_CLOSER in result.quality.hints


def test_glare_spot_gets_the_glare_hint() -> None:
    frame = _frame()
    centre = frame.quad.array().mean(axis=0)
    spotted = add_glare(frame.image, (float(centre[0]), float(centre[1])), 70)
    result = analyse(spotted, read_mrz=False)
    assert result.quality.verdict == "retry"
    assert quality.HINT_GLARE in result.quality.hints
    assert result.quality.glare > quality.MAX_GLARE


def test_frame_without_a_document_says_so() -> None:
    result = analyse(background(np.random.default_rng(5)))
    assert not result.found
    assert result.quad is None and result.mrz_result is None
    assert result.quality.verdict == "no_document"
    assert result.quality.hints == (quality.HINT_NO_DOCUMENT,)
    assert result.to_json()["found"] is False


# --- consensus over frames -------------------------------------------------------------------


def test_mrz_consensus_needs_two_agreeing_valid_frames() -> None:
    document = specimen_image("deu_passport_2024.png", cv2.IMREAD_UNCHANGED)
    rng = np.random.default_rng(8)
    frames = [webcam_frame(document, rng, fill=0.6, glare=False, blur=0.4) for _ in range(2)]
    first, second = (analyse(f.image, today=TODAY).mrz_result for f in frames)
    assert first is not None and second is not None and first.valid

    consensus = MrzConsensus()
    assert consensus.offer(first) is None  # one frame is not enough
    assert consensus.offer(None) is None  # a frame without an MRZ changes nothing
    invalid = parse([first.lines[0], first.lines[1][:-1] + "9"], today=TODAY)
    assert not invalid.valid
    assert consensus.offer(invalid) is None  # invalid readings never count
    other = parse(specimen("uto_passport_icao_td3.jpg")["mrz"], today=TODAY)
    assert consensus.offer(other) is None  # a different valid reading is a first sighting
    accepted = consensus.offer(second)
    assert accepted is not None and accepted.lines == first.lines
    assert consensus.accepted is accepted
    assert consensus.offer(other) is accepted  # settled: later frames do not change it


# --- faces, model, command -------------------------------------------------------------------


def test_live_face_is_found_in_a_frame() -> None:
    passport = specimen_image("deu_passport_2007_marked.jpg")
    portrait = face.find_portrait(passport)
    assert portrait is not None
    x, y, w, h = portrait
    assert x + w < passport.shape[1] * 0.4  # the photo is on the left of the data page
    crop = passport[max(0, y - h // 2) : y + 2 * h, max(0, x - w // 2) : x + w + w // 2]
    frame = background(np.random.default_rng(2))
    scale = 500 / crop.shape[0]  # a face as large as in a laptop camera frame
    big = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    frame[100 : 100 + big.shape[0], 500 : 500 + big.shape[1]] = big
    live = face.find_live_face(frame)
    assert live is not None
    lx, ly, lw, lh = live
    assert 500 <= lx + lw / 2 <= 500 + big.shape[1]
    assert 100 <= ly + lh / 2 <= 100 + big.shape[0]
    assert face.find_live_face(background(np.random.default_rng(2))) is None


def test_recognition_model_ships_in_the_wheel() -> None:
    assert ocr.model_path().is_file()  # rapidocr would otherwise try to download it


def test_detect_quads_returns_nothing_on_an_empty_frame() -> None:
    assert detect_quads(np.full((720, 1280, 3), 128, np.uint8)) == []


def test_cli_prints_json_per_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = str(SAMPLES / specimen("deu_passport_2024.png")["file"])
    missing = str(tmp_path / "missing.png")
    assert cli_analyse.main([path, missing], as_json=True) == 1
    out = json.loads(capsys.readouterr().out)
    assert [item["path"] for item in out] == [path]
    mrz = out[0]["mrz"]
    assert mrz["lines"] == specimen("deu_passport_2024.png")["mrz"]
    assert mrz["valid"] is True and set(mrz["checks"]) >= {"document_number", "composite"}
    assert mrz["fields"]["surname"] == "MUSTERMANN"
    assert out[0]["quality"]["verdict"] in {"ok", "retry"}
    assert len(out[0]["quad"]) == 4
    assert cli_analyse.main([path], as_json=False) == 0
    assert "Prüfziffern" in capsys.readouterr().out


def _row_of_glyphs(
    width: int, start: int, end: int, mark: int | None = None
) -> np.ndarray[Any, Any]:
    """A white image with one row of 20 px high dark 'glyphs' from ``start`` to ``end`` (and a
    lone dark ``mark`` column block, when given)."""
    image = np.full((100, width, 3), 255, np.uint8)
    for x in range(start, end, 16):
        cv2.rectangle(image, (x, 40), (x + 10, 59), (0, 0, 0), -1)
    if mark is not None:
        cv2.rectangle(image, (mark, 40), (mark + 8, 59), (0, 0, 0), -1)
    return image


def test_refine_row_drops_a_mark_beside_the_zone_and_restores_a_cut_off_end() -> None:
    image = _row_of_glyphs(800, 200, 600, mark=100)
    # the row closing had bridged to the mark and stopped short of the row's end
    x, _, w, _ = mrz_reader.refine_row(image, (100, 40, 400, 20))
    assert abs(x - 200) <= 2
    assert abs(x + w - 595) <= 2  # the last glyph spans 584-594


def test_rows_that_all_but_touch_stack_in_order() -> None:
    # blurred print: each row's bar nearly as tall as the row pitch (56 of 59 px)
    rows = [(78, 508, 1029, 56), (75, 567, 1033, 56), (75, 626, 1033, 52)]
    assert mrz_reader._stacks(rows)[0] == rows
    # the first and the last row alone are no stack: a row lies between them
    assert [rows[0], rows[2]] not in mrz_reader._stacks(rows)


def test_rows_start_in_the_same_column() -> None:
    boxes = ((50, 10, 500, 20), (20, 40, 530, 20))
    assert mrz_reader._align_left(boxes) == ((50, 10, 500, 20), (50, 40, 500, 20))


def test_decode_sums_the_forms_of_a_character_and_never_leaves_the_alphabet() -> None:
    characters = ["blank", "J", "j", "3", "<", "«", "."]
    alphabet = "J3<"
    classes = ocr._classes(characters, alphabet)
    assert classes.tolist() == [0, 1, 1, 2, 3, 3, -1]
    scores = np.array(
        [
            [0.0, 0.25, 0.2, 0.3, 0.0, 0.0, 0.25],  # 'J' 0.25 + 'j' 0.2 beat '3' 0.3
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.1, 0.0, 0.0, 0.0, 0.2, 0.3, 0.4],  # '<' + '«' beat '.', which is not allowed
        ],
        dtype=np.float32,
    )
    assert ocr.decode(scores, classes, alphabet) == "J<"


def test_recogniser_threads_are_bounded() -> None:
    session = ocr.engine()._load_rec_model().session.session
    assert 1 <= session.get_session_options().intra_op_num_threads <= 2
