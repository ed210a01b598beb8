"""Levelling sloped print (media.vision.text_angle) and choosing among readings that fail
their check digits (media.vision.mrz_reader.best), on the shared specimens."""

from __future__ import annotations

import numpy as np
import pytest

from media.mrz import parse
from media.vision import mrz_reader
from media.vision.text_angle import levelled, text_angle
from tests.helpers.specimens import TODAY, specimen, specimen_image

PASSPORT = "uto_passport_icao_td3.jpg"  # ICAO's own TD3 specimen page, scanned flat


def test_level_print_has_no_slope() -> None:
    assert abs(text_angle(specimen_image(PASSPORT))) <= 1


@pytest.mark.parametrize("slope", [-17, -8, 6, 12, 24])
def test_the_slope_of_turned_print_is_measured_and_its_mrz_read(slope: int) -> None:
    # levelled() turns the other way: print level before rises by ``slope`` after
    sloped = levelled(specimen_image(PASSPORT), -slope)
    assert abs(text_angle(sloped) - slope) <= 1
    read = mrz_reader.read(sloped, today=TODAY)
    assert read.result is not None, read.error
    assert list(read.result.lines) == specimen(PASSPORT)["mrz"]
    assert read.result.valid


def test_levelling_keeps_the_corners() -> None:
    image = np.zeros((100, 300, 3), dtype=np.uint8)
    image[:10, :10] = 255  # a white corner: still all there after a quarter turn
    turned = levelled(image, 30)
    assert turned.shape[1] > 300 and turned.shape[0] > 100
    assert int(np.count_nonzero(turned[..., 0] > 128)) >= 90


def _read(lines: list[str], recogniser: mrz_reader.Recogniser) -> mrz_reader.MrzRead:
    box = (0, 0, 10, 1)
    return mrz_reader.MrzRead((box,) * len(lines), tuple(lines), parse(lines), None, recogniser)


def test_of_readings_that_fail_their_check_digits_the_one_passing_most_is_kept() -> None:
    truth = specimen(PASSPORT)["mrz"]
    # the zone with its document number misread: the number and the composite fail
    misread = _read([truth[0], truth[1].replace("L898902C3", "L898902O3")], "rapidocr")
    # a line of the visual zone read under the grammar: MRZ-shaped, checks failing
    visual_zone = [f"P<UTO{'ABC<' * 9}<<<", "L11AB23CD4UTO1111111M2222222<<<<<<<<<<<<<<<3"]
    visual = _read(visual_zone, "ocrb")
    assert visual.result is not None and misread.result is not None
    assert sum(visual.result.checks.values()) < sum(misread.result.checks.values())
    assert mrz_reader.best([visual, misread]) is misread
    unparsed = mrz_reader.MrzRead(((0, 0, 1, 1),), ("P<",), None, "too short", "ocrb")
    assert mrz_reader.best([unparsed, visual]) is visual
    assert mrz_reader.best([unparsed]) is unparsed


def test_a_network_reading_with_failing_check_digits_does_not_end_the_search() -> None:
    truth = specimen(PASSPORT)["mrz"]
    misread = [truth[0], truth[1].replace("L898902C3", "L898902O3")]
    assert not mrz_reader.conclusive(_read(misread, "ocrb"))
    assert mrz_reader.conclusive(_read(misread, "rapidocr"))
    assert mrz_reader.conclusive(_read(truth, "ocrb"))
