"""Outlines on busy backgrounds (media.vision.outline, .zone, .layout, .clutter).

Synthetic 720p frames of the shared specimens on the cluttered scenes, checked against
the place the specimen was pasted at. No mocks: the real OpenCV pipeline.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from media.vision.clutter import SCENES
from media.vision.geometry import Quad, quad_iou
from media.vision.layout import agrees, misfit, misfits, predicted_outline
from media.vision.outline import find_outlines
from media.vision.quad import detect_quads
from media.vision.synthetic import FRAME_SIZE, Frame, jpeg, paste, target_quad, webcam_frame
from media.vision.zone import find_zone
from tests.helpers.specimens import specimen_image


def _image(file: str) -> np.ndarray[Any, Any]:
    return specimen_image(file, cv2.IMREAD_UNCHANGED)


def _grown(quad: Quad, factor: float) -> Quad:
    corners = quad.array()
    centre = corners.mean(axis=0)
    return Quad.of(centre + factor * (corners - centre))


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_every_scene_draws_a_full_frame_around_the_card(scene: str) -> None:
    rng = np.random.default_rng(5)
    frame = webcam_frame(_image("deu_idcard_2021_back.png"), rng, fill=0.4, scene=scene)
    assert frame.image.shape == (720, 1280, 3)
    # the card is pasted over the scene: the frame differs from the scene around it
    assert float(frame.image.std()) > 10


def _turned_card() -> Frame:
    """An ID card's back turned by 12 degrees in an office."""
    rng = np.random.default_rng(21)
    document = _image("deu_idcard_2021_back.png")
    return webcam_frame(document, rng, fill=0.5, rotation=12, tilt=0.02, scene="office")


def test_the_zone_of_a_turned_card_gives_three_rows_inside_it() -> None:
    frame = _turned_card()
    zone = find_zone(frame.image)
    assert zone is not None
    assert zone.kind == "id1"
    corners = frame.quad.array()
    for row in zone.rows:
        for end in (row.start, row.end):
            assert cv2.pointPolygonTest(corners, (float(end[0]), float(end[1])), False) >= 0
    angle = np.degrees(np.arctan2(zone.direction[1], zone.direction[0]))
    assert 8 < angle < 16


def test_a_frame_without_print_has_no_zone() -> None:
    rng = np.random.default_rng(2)
    plain = np.clip(rng.normal(128, 4, (720, 1280, 3)), 0, 255).astype(np.uint8)
    assert find_zone(plain) is None


def test_the_rows_agree_with_the_card_and_not_with_a_photo_around_it() -> None:
    rng = np.random.default_rng(8)
    frame = webcam_frame(_image("deu_passport_2024.png"), rng, fill=0.5, rotation=-6, tilt=0.02)
    zone = find_zone(frame.image)
    assert zone is not None and zone.kind == "passport"
    assert agrees(frame.quad.array(), zone)
    assert not agrees(_grown(frame.quad, 1.25).array(), zone)
    assert misfit(frame.quad.array(), zone) < misfit(_grown(frame.quad, 1.1).array(), zone)


def test_the_rows_predict_the_card() -> None:
    frame = _turned_card()
    zone = find_zone(frame.image)
    assert zone is not None
    # no perspective in the prediction (the rows give the scale at the bottom): 0.8
    assert quad_iou(Quad.of(predicted_outline(zone)), frame.quad) >= 0.8


def test_a_card_on_a_printed_photo_gets_its_own_outline() -> None:
    rng = np.random.default_rng(1)
    frame = webcam_frame(
        _image("deu_passport_2024.png"), rng, fill=0.45, rotation=5, tilt=0.02, scene="photo"
    )
    outlines = find_outlines(frame.image)
    assert outlines.quads
    assert outlines.basis in ("edges+mrz", "mrz")
    assert quad_iou(outlines.quads[0], frame.quad) >= 0.9


@pytest.mark.parametrize(
    "file",
    [
        "deu_idcard_2021_front.png",  # lines of print that stack like an MRZ's rows
        "deu_idcard_temporary_front.jpg",  # a TD2 zone: ID-2 size, no layout to rebuild from
    ],
)
def test_rows_that_are_no_laid_out_mrz_rebuild_no_outline(file: str) -> None:
    for seed in (1, 5, 9):
        frame = webcam_frame(_image(file), np.random.default_rng(seed), fill=0.55)
        found = find_outlines(frame.image)
        assert found.basis != "mrz"
        # the edge outline stands
        assert quad_iou(found.quads[0], detect_quads(frame.image)[0]) >= 0.99


def test_a_rebuilt_outline_keeps_the_rows_inside_it() -> None:
    # hun_passport: the photo's left edge lies near where the rows put the page's, and
    # fitted onto it the outline would cut through the rows' starts
    found = find_outlines(specimen_image("hun_passport.png"))
    assert found.zone is not None
    contour = found.quads[0].array().reshape(-1, 1, 2)
    for row in found.zone.rows:
        for x, y in (row.start, row.end):
            assert cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0


_PITCH = 28  # px per character in the drawn rows below: glyphs large in the frame


def _drawn_rows(rows: list[str], left: int = 100, top: int = 300) -> np.ndarray[Any, Any]:
    """A white 720p frame with MRZ-like rows in a plain stroke font, ``<`` as a chevron
    of the same stroke: narrower than a letter, so a run of them leaves gaps wider than
    the row finder's closing bridges."""
    image = np.full((720, 1280, 3), 235, np.uint8)
    spacing = round(0.0557 * _PITCH * len(rows[0]))  # TD1: 4.23 mm over 76 mm
    for r, text in enumerate(rows):
        base = top + r * spacing + 36
        for c, char in enumerate(text):
            x = left + c * _PITCH
            if char == "<":
                points = np.array([[x + 16, base - 30], [x + 6, base - 15], [x + 16, base]])
                cv2.polylines(image, [points.astype(np.int32)], False, (20, 20, 20), 4)
            else:
                font = cv2.FONT_HERSHEY_SIMPLEX
                cv2.putText(image, char, (x, base), font, 1.3, (20, 20, 20), 4, cv2.LINE_AA)
    return image


def test_rows_keep_a_lone_first_letter_and_runs_of_fillers() -> None:
    # TD1-shaped: "I<" before the code, fillers at the ends and amid the names
    rows = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]
    zone = find_zone(_drawn_rows(rows))
    assert zone is not None and len(zone.rows) == 3
    first, last = 100 + 2, 100 + 29 * _PITCH + 18  # the first glyph's left, last chevron's tip
    for row in zone.rows:
        assert abs(row.start[0] - first) <= 6
        assert abs(row.end[0] - last) <= 6


def test_an_outline_takes_a_faint_border_over_a_band_printed_across_the_card() -> None:
    # A card whose top 13 % is a coloured band, held against a wall of nearly that colour:
    # the band's lower edge is the strongest edge near the card's top, its border faint.
    card = _image("deu_idcard_2021_back.png")[:, :, :3].copy()
    band = (150, 110, 90)
    card[: round(0.13 * card.shape[0])] = band
    found_all = []
    for seed in (3, 4, 6, 7, 9):
        rng = np.random.default_rng(seed)
        size = (card.shape[1], card.shape[0])
        quad = target_quad(size, rng, fill=0.5, rotation=8 - seed, tilt=0.03)
        wall = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), [c + 20 for c in band], np.uint8)
        frame = jpeg(paste(card, quad, wall), 90)
        found = find_outlines(frame)
        assert found.quads and found.basis in ("edges+mrz", "mrz")
        found_all.append(quad_iou(found.quads[0], quad))
    assert min(found_all) >= 0.9, found_all


def test_an_outline_topped_by_a_printed_band_disagrees_with_the_rows_spacing() -> None:
    # Its top edge 13 % of the card's height lower stretches the rows' spacing by as much;
    # the rows' ends and the bottom edge alone would allow it.
    frame = _turned_card()
    zone = find_zone(frame.image)
    assert zone is not None
    corners = frame.quad.array()
    lowered = corners.copy()
    lowered[0] += 0.13 * (corners[3] - corners[0])
    lowered[1] += 0.13 * (corners[2] - corners[1])
    assert agrees(corners, zone)
    assert not agrees(lowered, zone)
    assert misfits(np.stack([corners, lowered]), zone).tolist() == pytest.approx(
        [misfit(corners, zone), misfit(lowered, zone)]
    )
