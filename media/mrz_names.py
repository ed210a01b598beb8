"""Does the name in an MRZ belong to the name given at booking?

The MRZ writes names in ICAO 9303 Part 3's transliteration (Ä as AE, ß as SS,
accents dropped, every other separator a filler) and cuts them at the field's end.
The booking name is what the citizen typed. The comparison is a suggestion for the
clerk, who records the step herself: it says yes only when every word of the booking
appears among the MRZ's words and the MRZ's surname words all appear in the booking
(so "Erika Mustermann" matches MUSTERMANN<<ERIKA<MARIA, but "Erika Musterfrau" does
not). A word the MRZ cut short matches by its beginning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from media.mrz import MrzResult

# ICAO 9303 Part 3, Table: transliteration of Latin characters with diacritics
# where the plain base letter is not what the document prints.
_SPECIAL = {
    "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Å": "AA", "Æ": "AE", "Ø": "OE",
    "Œ": "OE", "Ĳ": "IJ", "Þ": "TH", "Ð": "D", "Đ": "D", "Ł": "L", "Ŋ": "N", "Ħ": "H",
}  # fmt: skip
_NOT_A_LETTER = re.compile(r"[^A-Z]+")


def icao_words(text: str) -> list[str]:
    """The words of a name as the MRZ would print them: A-Z only."""
    upper = "".join(_SPECIAL.get(c, c) for c in text.upper())
    plain = unicodedata.normalize("NFKD", upper)
    letters = "".join(c for c in plain if not unicodedata.combining(c))
    return [word for word in _NOT_A_LETTER.split(letters) if word]


@dataclass(frozen=True)
class NameCheck:
    matches: bool
    booking: str  # the booking's words, transliterated
    mrz: str  # "SURNAME, GIVEN NAMES"

    def to_json(self) -> dict[str, object]:
        return {"matches": self.matches, "booking": self.booking, "mrz": self.mrz}


def compare(booking_name: str, surname: str, given_names: str, *, cut: bool) -> NameCheck:
    """``cut``: the MRZ name field is full, so its last word may be truncated."""
    booked = icao_words(booking_name)
    surnames, given = icao_words(surname), icao_words(given_names)
    mrz_words = surnames + given
    last = mrz_words[-1] if mrz_words else ""

    def in_mrz(word: str) -> bool:
        return word in mrz_words or (cut and bool(last) and word.startswith(last))

    matches = bool(booked and surnames) and all(in_mrz(w) for w in booked)
    matches = matches and all(s in booked or (cut and s is last) for s in surnames)
    return NameCheck(matches, " ".join(booked), f"{' '.join(surnames)}, {' '.join(given)}")


def compare_with_mrz(booking_name: str, result: MrzResult) -> NameCheck:
    """The booking's name against a parsed MRZ; the name field ends its line (the
    third of TD1, the first of TD2 and TD3), so a letter in its last place means full."""
    name_line = result.lines[2] if result.format == "TD1" else result.lines[0]
    return compare(booking_name, result.surname, result.given_names, cut=name_line[-1] != "<")
