"""The booking's name against the MRZ's, in ICAO 9303's transliteration."""

from __future__ import annotations

import pytest

from media.mrz import parse
from media.mrz_names import compare, compare_with_mrz, icao_words

PASSPORT = (  # the German passport specimen's MRZ (shared/data/id-samples/manifest.json)
    "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<",
    "CZ6311T472D<<8308126F34050192405<<<<<<<<<<10",
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Jürgen Weiß-Müller", ["JUERGEN", "WEISS", "MUELLER"]),
        ("Zoë O'Brien", ["ZOE", "O", "BRIEN"]),
        ("Łukasz Ørsted", ["LUKASZ", "OERSTED"]),
        ("  ", []),
    ],
)
def test_names_are_written_as_the_mrz_writes_them(text: str, words: list[str]) -> None:
    assert icao_words(text) == words


def test_the_booking_name_matches_its_mrz_also_with_a_second_given_name() -> None:
    assert compare("Erika Mustermann", "MUSTERMANN", "ERIKA", cut=False).matches
    assert compare("erika  mustermann", "MUSTERMANN", "ERIKA MARIA", cut=False).matches
    assert compare("Jürgen Weiß", "WEISS", "JUERGEN", cut=False).matches


@pytest.mark.parametrize(
    ("booking", "surname", "given"),
    [
        ("Erika Musterfrau", "MUSTERMANN", "ERIKA"),  # another surname
        ("Erika", "MUSTERMANN", "ERIKA"),  # the surname missing from the booking
        ("Erika Anna Mustermann", "MUSTERMANN", "ERIKA"),  # a word the MRZ does not have
        ("", "MUSTERMANN", "ERIKA"),
    ],
)
def test_other_names_do_not_match(booking: str, surname: str, given: str) -> None:
    check = compare(booking, surname, given, cut=False)
    assert check.matches is False
    assert check.mrz == f"{surname}, {given}"


def test_a_name_cut_at_the_field_end_matches_by_its_beginning() -> None:
    booking = "Anna Wolkenstein-Brandenburger"
    assert compare(booking, "WOLKENSTEIN", "ANNA BRAND", cut=True).matches
    # Only where the field is full: otherwise BRAND is a name of its own.
    assert not compare(booking, "WOLKENSTEIN", "ANNA BRAND", cut=False).matches
    assert not compare("Anna Wolkenstein Brandt", "WOLKENSTEIN", "ANNA BRAND", cut=False).matches


def test_a_parsed_mrz_is_compared_with_the_booking() -> None:
    result = parse(PASSPORT)
    assert result.valid
    check = compare_with_mrz("Erika Mustermann", result)
    assert check.matches and check.mrz == "MUSTERMANN, ERIKA"
    assert not compare_with_mrz("Max Mustermann", result).matches
