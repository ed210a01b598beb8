"""The OCR-B recogniser's decoding: exact length, each column's alphabet, CTC's rules.

The scores here are made by hand so that each rule shows: the network is tested on
real documents in test_vision.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from media.vision import mrz_reader, ocrb
from tests.helpers.specimens import specimen, specimen_image

NAME_LINE = "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<"
UNLIKELY = -8.0


def _scores(text: str, steps_per_char: int = 2) -> np.ndarray:
    """Scores whose best path spells ``text``: each character over a few steps, then a
    blank, as a network trained with CTC puts it."""
    rows = []
    for char in text:
        for _ in range(steps_per_char):
            row = np.full(len(ocrb.ALPHABET) + 1, UNLIKELY, np.float32)
            row[ocrb.ALPHABET.index(char) + 1] = -0.05
            rows.append(row)
        blank = np.full(len(ocrb.ALPHABET) + 1, UNLIKELY, np.float32)
        blank[0] = -0.05
        rows.append(blank)
    return np.stack(rows)


def _any_character(columns: int) -> np.ndarray:
    allowed = np.ones((columns, len(ocrb.ALPHABET) + 1), bool)
    allowed[:, 0] = False
    return allowed


def test_a_clear_row_is_read_as_it_is_printed() -> None:
    text, score = ocrb.constrained(_scores(NAME_LINE), ocrb._masks("TD3")[0])
    assert text == NAME_LINE
    assert score > -1.0 * len(NAME_LINE)


def _prefer(scores: np.ndarray, column: int, wrong: str, right: str) -> None:
    """Make the network prefer ``wrong`` over ``right`` at ``column`` (of ``_scores``)."""
    step = 3 * column
    scores[step, ocrb.ALPHABET.index(wrong) + 1] = 0.0
    scores[step, ocrb.ALPHABET.index(right) + 1] = -0.1


def test_a_digit_the_name_field_forbids_is_never_chosen() -> None:
    scores = _scores(NAME_LINE)
    _prefer(scores, NAME_LINE.index("MUSTERMANN"), wrong="8", right="M")
    assert ocrb.greedy(scores) != NAME_LINE
    assert ocrb.constrained(scores, ocrb._masks("TD3")[0])[0] == NAME_LINE


def test_a_letter_in_a_date_is_read_as_the_digit_the_network_ranked_next() -> None:
    dates = "8308126<3108011D<<2108<<<<<<<7"  # TD1 line 2; column 2 is in the birth date
    scores = _scores(dates)
    _prefer(scores, 2, wrong="O", right="0")
    assert ocrb.greedy(scores) != dates
    assert ocrb.constrained(scores, ocrb._masks("TD1")[1])[0] == dates


def test_fillers_in_a_name_come_out_as_fillers() -> None:
    scores = _scores(NAME_LINE)
    _prefer(scores, len(NAME_LINE) - 3, wrong="C", right="<")
    _prefer(scores, len(NAME_LINE) - 8, wrong="E", right="<")
    assert ocrb.greedy(scores) != NAME_LINE
    # 'C' and 'E' are letters, allowed in a name: the grammar alone can't exclude them;
    # what it guarantees is the length, so a misread filler never shifts the line
    text, _ = ocrb.constrained(scores, ocrb._masks("TD3")[0])
    assert len(text) == len(NAME_LINE) and text.startswith("P<D<<MUSTERMANN<<ERIKA<")


def test_one_run_of_a_character_is_not_split_into_two() -> None:
    # steps all '<' without a blank between them are one '<' to CTC: reading two
    # columns costs at least one step read as something the network did not see
    row = np.full((4, len(ocrb.ALPHABET) + 1), UNLIKELY, np.float32)
    row[:, ocrb.ALPHABET.index("<") + 1] = -0.01
    text, score = ocrb.constrained(row, _any_character(1))
    assert text == "<"
    assert score == pytest.approx(-0.04)
    assert ocrb.constrained(row, _any_character(2))[1] <= UNLIKELY


def test_exactly_the_number_of_columns_is_read() -> None:
    scores = _scores("ABC<<<<<<<")
    text, _ = ocrb.constrained(scores, _any_character(12))
    assert len(text) == 12


def test_a_row_shorter_than_its_columns_cannot_be_read() -> None:
    assert ocrb.constrained(_scores("AB", 1)[:3], _any_character(5)) == ("", float("-inf"))


@pytest.mark.parametrize(("rows", "formats"), [(3, ("TD1",)), (1, ())])
def test_row_count_decides_td1(rows: int, formats: tuple[str, ...]) -> None:
    assert ocrb._candidates([_scores("A" * 30)] * rows) == formats


def test_two_rows_take_the_width_they_come_nearest_to() -> None:
    assert ocrb._candidates([_scores("AB" * 18)] * 2) == ("TD2",)
    assert ocrb._candidates([_scores("AB" * 22)] * 2) == ("TD3",)
    assert ocrb._candidates([_scores("AB" * 20)] * 2) == ("TD2", "TD3")


def test_the_model_ships_in_the_package() -> None:
    assert ocrb.MODEL.is_file()
    assert ocrb.MODEL.stat().st_size < 2_000_000  # small enough to keep in the repository


@pytest.mark.parametrize(
    "name", ["deu_idcard_2021_back.png", "deu_passport_2024.png", "uto_passport_icao_td3.jpg"]
)
def test_the_network_reads_the_german_and_icao_specimens(name: str) -> None:
    truth = specimen(name)  # skips, naming the file, where the specimens are absent
    image = specimen_image(name)
    located = mrz_reader.locate(image)[0]
    boxes = tuple(mrz_reader.refine_row(image, box) for box in located)
    lines = ocrb.read_zone(mrz_reader.cut_rows(image, boxes))
    assert list(lines) == truth["mrz"]
