"""MRZ parsing and check digits (media.mrz): ICAO 9303 examples and the shared ID samples.

The samples live next to the repository (../shared/data/id-samples, see its README.md);
tests that need them are skipped with a reason when that directory is absent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from media.mrz import (
    Correction,
    MrzError,
    check_digit,
    correct_lookalikes,
    normalise_line,
    parse,
    without_number,
)
from tests.helpers.constants import SAMPLES
from tests.helpers.specimens import CHECK_NAMES, NO_DATA, TODAY, manifest, specimen

ICAO_FORMATS = {"TD1", "TD2", "TD3"}

UTO_TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
DEU_TD1 = [
    "IDD<<L01X00T471<<<<<<<<<<<<<<<",
    "8308126<3108011D<<2108<<<<<<<7",
    "MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
]
ISL_TD3 = [
    "P<ISLAEVARSDOTTIR<<THURIDUR<OESP<<<<<<<<<<<<",
    "A0000000<0ISL6612315F0905264311266<9539<<<32",
]


ENTRIES = [found for found in manifest() if found.get("mrz")]


def _format(entry: dict[str, Any]) -> str:
    return str(entry["mrz_format"]).split()[0]  # "TD2 (2x36, pre-2010 German ID)" -> "TD2"


def _params(icao: bool) -> list[object]:
    if not ENTRIES:
        return [pytest.param({}, marks=NO_DATA, id="no-data")]
    chosen = [e for e in ENTRIES if (_format(e) in ICAO_FORMATS) == icao]
    return [pytest.param(e, id=e["file"]) for e in chosen]


def _td3(birth: str = "740812", expiry: str = "120415", number: str = "L898902C3") -> list[str]:
    """The ICAO TD3 specimen with some fields replaced and every check digit recomputed."""
    personal = "ZE184226B<<<<<"
    line2 = "".join(
        f"{field}{check_digit(field)}{after}"
        for field, after in ((number, "UTO"), (birth, "F"), (expiry, ""), (personal, ""))
    )
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return [UTO_TD3[0], line2 + str(check_digit(composite))]


# --- check digits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("L898902C3", 6),  # ICAO 9303 TD3 specimen: document number
        ("740812", 2),  # birth date
        ("120415", 9),  # expiry date
        ("ZE184226B<<<<<", 1),  # personal number
        ("L898902C36" + "7408122" + "1204159ZE184226B<<<<<1", 0),  # composite
        ("D23145890", 7),  # ICAO TD2 specimen
        ("D23145890734", 9),  # ICAO TD1 specimen, 12-character document number
        ("<<<<<<", 0),
        ("1111", 8),  # weights 7+3+1+7
        ("Z", 5),  # Z = 35, 35 * 7 = 245
        ("1A", 7),  # 1 * 7 + 10 * 3
    ],
)
def test_check_digit(field: str, expected: int) -> None:
    assert check_digit(field) == expected


@pytest.mark.parametrize("field", ["l898902C3", "L8989#2C3", "ÄB"])
def test_check_digit_rejects_characters_outside_the_mrz_alphabet(field: str) -> None:
    with pytest.raises(MrzError, match="not allowed"):
        check_digit(field)


def test_test_helper_rebuilds_the_icao_specimen() -> None:
    assert _td3() == UTO_TD3


# --- normalisation and shape errors ---------------------------------------------------------


def test_each_line_says_whether_a_check_digit_vouches_for_it() -> None:
    """The name line has no check digit: a valid MRZ does not make it verified."""
    assert parse(DEU_TD1, today=TODAY).line_validity() == (True, True, None)
    assert parse(UTO_TD3, today=TODAY).line_validity() == (None, True)
    assert parse(ISL_TD3, today=TODAY).line_validity() == (None, True)


def test_a_failing_check_digit_marks_every_line_it_covers() -> None:
    wrong_birth = [DEU_TD1[0], DEU_TD1[1].replace("8308126", "8308125", 1), DEU_TD1[2]]
    result = parse(wrong_birth, today=TODAY)
    assert not result.checks["birth_date"] and not result.checks["composite"]
    # The composite digit covers the document number on line 1 as well.
    assert result.line_validity() == (False, False, None)


def test_normalise_line_upper_cases_drops_spaces_and_maps_guillemets() -> None:
    assert normalise_line(" p<uto erik sson«anna‹maria＜\t") == "P<UTOERIKSSON<ANNA<MARIA<"


def test_parse_normalises_ocr_text() -> None:
    messy = [" p<uto eriksson<<anna«maria" + "<" * 19 + " ", UTO_TD3[1].lower()]
    assert parse(messy, today=TODAY).lines == tuple(UTO_TD3)


@pytest.mark.parametrize(
    "lines",
    [
        [],
        UTO_TD3[:1],
        [UTO_TD3[0], UTO_TD3[1][:-1]],  # one character lost
        [line[:30] for line in UTO_TD3],  # TD1 width but only two lines
        [*DEU_TD1, DEU_TD1[2]],  # four lines
        ["P<UTOERIKSSON<<ANNA«MARIA" + "<" * 18, UTO_TD3[1]],  # '«' read for '<<'
    ],
)
def test_parse_rejects_wrong_shapes(lines: list[str]) -> None:
    with pytest.raises(MrzError, match="expected 3 lines of 30"):
        parse(lines, today=TODAY)


def test_parse_rejects_illegal_characters() -> None:
    with pytest.raises(MrzError, match=r"line 2, column 5: illegal character '#'"):
        parse([UTO_TD3[0], "L898#02C36" + UTO_TD3[1][10:]], today=TODAY)


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (_td3(birth="74A812"), "birth_date"),  # no digit looks like A
        ([UTO_TD3[0], UTO_TD3[1][:20] + "K" + UTO_TD3[1][21:]], "sex"),
        (["P<UT4ERIKSSON" + UTO_TD3[0][13:], UTO_TD3[1]], "issuing_state"),
    ],
)
def test_parse_rejects_characters_the_field_type_forbids(lines: list[str], field: str) -> None:
    with pytest.raises(MrzError, match=field):
        parse(lines, today=TODAY)


# --- the shared ID samples ------------------------------------------------------------------


@pytest.mark.parametrize("entry", _params(icao=True))
def test_manifest_validity_and_check_digits(entry: dict[str, Any]) -> None:
    result = parse(entry["mrz"], today=TODAY)
    assert result.format == _format(entry)
    assert result.valid is entry["mrz_valid"]
    expected = {CHECK_NAMES[key]: ok for key, ok in entry.get("mrz_checkdigits", {}).items()}
    if expected:
        assert result.checks == expected
    assert result.corrections == ()


@pytest.mark.parametrize("entry", _params(icao=True))
def test_manifest_ground_truth_needs_no_lookalike_correction(entry: dict[str, Any]) -> None:
    assert correct_lookalikes(entry["mrz"]) == tuple(entry["mrz"])
    strict = parse(entry["mrz"], today=TODAY, correct=False)
    assert strict.checks == parse(entry["mrz"], today=TODAY).checks


@pytest.mark.parametrize("entry", _params(icao=False))
def test_non_icao_layouts_are_refused_with_a_reason(entry: dict[str, Any]) -> None:
    with pytest.raises(MrzError, match="non-ICAO"):
        parse(entry["mrz"], today=TODAY)


def test_every_specimen_with_bad_check_digits_is_caught() -> None:
    if not ENTRIES:
        pytest.skip(f"shared ID samples not found at {SAMPLES}")
    invalid = [e for e in ENTRIES if e["mrz_valid"] is False]
    assert len(invalid) >= 2  # README: Swiss 2023 specimen and the fictitious CMW card
    caught = [e["file"] for e in invalid if not parse(e["mrz"], today=TODAY).valid]
    assert caught == [e["file"] for e in invalid]


def test_swiss_specimen_fails_exactly_expiry_and_composite() -> None:
    result = parse(specimen("che_idcard_2023_back.jpg")["mrz"], today=TODAY)
    failed = {name for name, ok in result.checks.items() if not ok}
    assert failed == {"expiry_date", "composite"}
    assert result.document_number == "S1A00A00"
    assert result.expiry_date == date(2033, 3, 22)


GERMAN = {
    "deu_idcard_2021_back.png": (
        "TD1", "ID", "D", "L01X00T47", "MUSTERMANN", "ERIKA", date(1983, 8, 12), None,
        date(2031, 8, 1), "D",
    ),
    "deu_idcard_2010_back_small.jpg": (
        "TD1", "ID", "D", "T22000129", "MUSTERMANN", "ERIKA", date(1964, 8, 12), None,
        date(2020, 10, 31), "D",
    ),
    "deu_idcard_2001_front_marked.jpeg": (
        "TD2", "ID", "D", "122000129", "MUSTERMANN", "ERIKA", date(1964, 8, 12), None,
        date(2017, 10, 31), "D",
    ),
    "deu_passport_2024.png": (
        "TD3", "P", "D", "CZ6311T47", "MUSTERMANN", "ERIKA", date(1983, 8, 12), "F",
        date(2034, 5, 1), "D",
    ),
    "deu_passport_2007_marked.jpg": (
        "TD3", "P", "D", "C01X0006H", "MUSTERMANN", "ERIKA", date(1964, 8, 12), "F",
        date(2017, 10, 31), "D",
    ),
    "deu_passport_bdr_specimen_scan.jpg": (
        "TD3", "P", "BDR", "CA000000", "MUSTERMANN", "ERIKA", date(1964, 8, 12), "F",
        date(2018, 2, 21), "D",
    ),
    "deu_residence_permit_back_marked.jpg": (
        "TD1", "AR", "D", "Y701001V3", "SALIHU", "SHKURTE", date(1977, 8, 12), "F",
        date(2021, 3, 31), "TUR",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("file", "expected"), GERMAN.items(), ids=list(GERMAN))
def test_german_specimen_fields(file: str, expected: tuple[object, ...]) -> None:
    r = parse(specimen(file)["mrz"], today=TODAY)
    assert r.valid
    fields = (
        *(r.format, r.document_type, r.issuing_state, r.document_number, r.surname),
        *(r.given_names, r.birth_date, r.sex, r.expiry_date, r.nationality),
    )
    assert fields == expected


def test_icao_td3_specimen_fields() -> None:
    r = parse(UTO_TD3, today=TODAY)
    assert (r.surname, r.given_names, r.document_number) == ("ERIKSSON", "ANNA MARIA", "L898902C3")
    assert (r.birth_date, r.expiry_date, r.sex) == (date(1974, 8, 12), date(2012, 4, 15), "F")
    assert (r.optional_data, r.optional_data_2) == ("ZE184226B", "")
    assert list(r.checks) == [
        "document_number", "birth_date", "expiry_date", "personal_number", "composite",
    ]  # fmt: skip


def test_german_td1_keeps_optional_data_of_line_two() -> None:
    r = parse(DEU_TD1, today=TODAY)
    assert (r.optional_data, r.optional_data_2) == ("", "2108")
    assert list(r.checks) == ["document_number", "birth_date", "expiry_date", "composite"]


# --- dates ----------------------------------------------------------------------------------


def test_expired_is_inclusive_of_the_expiry_day() -> None:
    r = parse(DEU_TD1, today=TODAY)
    assert not r.expired(TODAY)
    assert not r.expired(date(2031, 8, 1))
    assert r.expired(date(2031, 8, 2))


def test_unreadable_expiry_counts_as_expired() -> None:
    r = parse(_td3(expiry="120231"), today=TODAY)  # 31 February
    assert r.valid  # check digits are about characters, not calendars
    assert r.expiry_date is None
    assert r.expired(TODAY)


@pytest.mark.parametrize(
    ("birth", "today", "expected"),
    [
        ("260101", date(2026, 11, 25), date(2026, 1, 1)),
        ("261126", date(2026, 11, 25), date(1926, 11, 26)),  # tomorrow: must be the 1900s
        ("640812", date(2026, 11, 25), date(1964, 8, 12)),
        ("000229", date(2026, 11, 25), date(2000, 2, 29)),
        ("010229", date(2026, 11, 25), None),  # 2001 is no leap year
        ("7408<<", date(2026, 11, 25), None),  # day and month unknown
    ],
)
def test_birth_century(birth: str, today: date, expected: date | None) -> None:
    r = parse(_td3(birth=birth), today=today)
    assert r.valid
    assert r.birth_date == expected


@pytest.mark.parametrize(
    ("expiry", "today", "expected"),
    [
        ("310801", date(2026, 11, 25), date(2031, 8, 1)),
        ("980104", date(2026, 11, 25), date(1998, 1, 4)),  # 2098 is > 50 years ahead
        ("760101", date(2026, 11, 25), date(2076, 1, 1)),  # exactly 50 years ahead
        ("770101", date(2026, 11, 25), date(1977, 1, 1)),
        ("980104", date(2050, 1, 1), date(2098, 1, 4)),
        ("100101", date(2070, 1, 1), date(2110, 1, 1)),  # 2010 is 60 years back
        ("210101", date(2070, 1, 1), date(2021, 1, 1)),  # 49 years back stays
        ("200101", date(2070, 1, 1), date(2120, 1, 1)),  # 50 years back is outside the window
    ],
)
def test_expiry_century(expiry: str, today: date, expected: date) -> None:
    assert parse(_td3(expiry=expiry), today=today).expiry_date == expected


# --- document numbers longer than 9 characters ----------------------------------------------

ICAO_TD1_LONG = [
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
]


def test_td1_document_number_overflow() -> None:
    r = parse(ICAO_TD1_LONG, today=TODAY)
    assert r.valid
    assert (r.document_number, r.optional_data) == ("D23145890734", "")
    assert (r.surname, r.given_names) == ("STEVENSON", "PETER JOHN")


def test_td1_overflow_keeps_optional_data_after_the_number() -> None:
    line1 = "IDUTO123456789<07<ABC<<<<<<<<<"
    line2 = "8601012M3001019UTO<<<<<<<<<<<"
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line3 = "SPECIMEN<<JANE".ljust(30, "<")
    r = parse([line1, line2 + str(check_digit(composite)), line3], today=TODAY)
    assert r.valid
    assert (r.document_number, r.optional_data) == ("1234567890", "ABC")


def test_td1_overflow_with_a_wrong_character_fails_the_number_check() -> None:
    lines = [ICAO_TD1_LONG[0].replace("7349", "7449"), *ICAO_TD1_LONG[1:]]
    r = parse(lines, today=TODAY)
    assert r.document_number == "D23145890744"
    assert not r.checks["document_number"]
    assert not r.checks["composite"]


def test_td2_document_number_overflow() -> None:
    line2 = "D23145890<UTO7408122F1204159" + "7349<<<"
    composite = line2[0:10] + line2[13:20] + line2[21:35]
    lines = ["I<UTOERIKSSON<<ANNA<MARIA".ljust(36, "<"), line2 + str(check_digit(composite))]
    r = parse(lines, today=TODAY)
    assert r.valid
    assert (r.format, r.document_number) == ("TD2", "D23145890734")


def test_td3_has_no_overflow_so_a_filler_check_digit_fails() -> None:
    personal = "734".ljust(14, "<")
    line2 = f"D23145890<UTO7408122F1204159{personal}{check_digit(personal)}"
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    r = parse([UTO_TD3[0], line2 + str(check_digit(composite))], today=TODAY)
    assert r.checks["personal_number"]
    assert not r.checks["document_number"]
    assert r.document_number == "D23145890"


# --- an MRZ kept without its document number -------------------------------------------


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        (  # the German ID card: the number and its check digit
            DEU_TD1,
            ["IDD<<**********<<<<<<<<<<<<<<<", DEU_TD1[1], DEU_TD1[2]],
        ),
        (  # a passport: the number's field on the second line
            UTO_TD3,
            [UTO_TD3[0], "**********UTO7408122F1204159ZE184226B<<<<<10"],
        ),
        (  # a long number runs on into the optional data, up to its check digit
            ICAO_TD1_LONG,
            ["I<UTO" + "*" * 14 + "<" * 11, *ICAO_TD1_LONG[1:]],
        ),
    ],
    ids=["TD1", "TD3", "TD1 overflow"],
)
def test_the_document_number_can_be_left_out_of_the_lines(
    lines: list[str], kept: list[str]
) -> None:
    result = parse(lines, today=TODAY)
    assert result.valid
    masked = without_number(result.format, result.lines)
    assert masked == tuple(kept)
    assert all(result.document_number not in line for line in masked)


def test_rows_of_fillers_are_no_valid_mrz() -> None:
    """A blank band read under the grammar gives fillers only; every check digit of
    such rows would pass if a filler counted as the check digit of an empty field."""
    for width in (36, 44):
        r = parse(["<" * width, "<" * width], today=TODAY)
        assert not r.valid
        assert not r.checks["document_number"]
        assert not r.checks["composite"]


def test_a_document_number_of_fillers_fails_its_check_even_with_digit_zero() -> None:
    line2 = "<<<<<<<<<0UTO7408122F1204159ZE184226B<<<<<1"
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    r = parse([UTO_TD3[0], line2 + str(check_digit(composite))], today=TODAY)
    assert r.checks["birth_date"] and r.checks["composite"]
    assert not r.checks["document_number"]
    assert r.document_number == ""


# --- look-alike correction ------------------------------------------------------------------


def test_o_in_a_date_field_becomes_zero() -> None:
    ocr = [DEU_TD1[0], DEU_TD1[1].replace("8308126<3108011", "8308126<31O8011"), DEU_TD1[2]]
    r = parse(ocr, today=TODAY)
    assert r.valid
    assert r.expiry_date == date(2031, 8, 1)
    assert r.lines == tuple(DEU_TD1)
    assert r.corrections == (Correction(1, 10, "expiry_date", "O", "0"),)
    with pytest.raises(MrzError, match="expiry_date"):
        parse(ocr, today=TODAY, correct=False)


def test_d_is_zero_in_a_date_but_germany_in_the_nationality() -> None:
    ocr = [DEU_TD1[0], "83D8126<3108011D" + DEU_TD1[1][16:], DEU_TD1[2]]
    assert correct_lookalikes(ocr) == tuple(DEU_TD1)


def test_letter_in_a_check_digit_position_becomes_a_digit() -> None:
    ocr = ["IDD<<L01X00T47I<<<<<<<<<<<<<<<", *DEU_TD1[1:]]
    r = parse(ocr, today=TODAY)
    assert r.valid
    assert r.corrections == (Correction(0, 14, "document_number_check", "I", "1"),)


def test_digits_in_a_name_become_letters() -> None:
    ocr = [ISL_TD3[0].replace("AEVARSDOTTIR<<THURIDUR", "AEVARSD0TTIR<<THUR1DUR"), ISL_TD3[1]]
    r = parse(ocr, today=TODAY)
    assert (r.surname, r.given_names) == ("AEVARSDOTTIR", "THURIDUR OESP")
    assert [(c.found, c.replaced_by, c.field) for c in r.corrections] == [
        ("0", "O", "names"),
        ("1", "I", "names"),
    ]


def test_alphanumeric_document_number_is_never_corrected() -> None:
    ocr = ["IDD<<LO1X00T471<<<<<<<<<<<<<<<", *DEU_TD1[1:]]  # O read for the 0 of L01X00T47
    assert correct_lookalikes(ocr) == tuple(ocr)
    r = parse(ocr, today=TODAY)
    assert r.document_number == "LO1X00T47"
    assert not r.checks["document_number"]
    assert not r.checks["composite"]
    assert not r.valid
    assert r.corrections == ()


def test_wrong_digit_in_a_date_is_reported_not_repaired() -> None:
    ocr = [DEU_TD1[0], "830813" + DEU_TD1[1][6:], DEU_TD1[2]]
    r = parse(ocr, today=TODAY)
    assert r.birth_date == date(1983, 8, 13)
    assert r.checks["birth_date"] is False
    assert r.corrections == ()
    assert not r.valid
