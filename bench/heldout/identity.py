"""Made-up holders and their MRZ text (ICAO 9303 TD1 3 x 30, TD3 2 x 44).

Every line set has correct check digits (:func:`media.mrz.check_digit`), so a reading that
differs from it is the reader's error, never the generator's. Names come from syllables
rather than a list of real names: short ones (``LI``), long ones that overflow the name
field and are cut as ICAO prescribes, double names and several given names all occur.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from media.mrz import check_digit

Format = Literal["TD1", "TD3"]

_SYLLABLES = (
    "AN", "BER", "CHRIS", "DO", "EL", "FRIED", "GUT", "HAN", "IN", "JO", "KA", "LEN", "MAR",
    "NO", "OST", "PE", "QUIN", "RO", "SCHU", "TI", "UL", "VO", "WAL", "XA", "YU", "ZIM",
    "MEIER", "BACH", "STEIN", "OVIC", "SEN", "ESCU", "ANI", "OGLU", "IK", "AU", "LI",
)  # fmt: skip
_STATES = ("D<<", "UTO", "AUT", "FRA", "NLD", "ITA", "POL", "ESP", "TUR", "UKR", "CHE", "SWE")
# Alphanumeric, as issued: letters that read like digits (O, I, S, B, Z, ...) do occur.
_NUMBER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Identity:
    surname: str  # MRZ spelling: A-Z and '<' between parts
    given_names: str
    sex: str  # F, M or <
    birth: date
    expiry: date
    number: str  # at most 9 characters
    state: str  # three letters or '<'-padded (D<<)
    nationality: str


def _name(rng: np.random.Generator, parts: tuple[int, int]) -> str:
    words = []
    for _ in range(int(rng.integers(parts[0], parts[1] + 1))):
        count = int(rng.choice([1, 1, 2, 2, 3, 4]))
        words.append("".join(rng.choice(_SYLLABLES, count)))
    return "<".join(words)


def _day(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))


def identity(rng: np.random.Generator) -> Identity:
    """A random holder; about one in six has a name long enough to be cut."""
    long_name = rng.random() < 0.17
    surname = _name(rng, (2, 4) if long_name else (1, 2))
    given = _name(rng, (2, 4) if long_name else (1, 2))
    if rng.random() < 0.1:
        surname = str(rng.choice(["LI", "OH", "NG", "WU", "XU"]))
    length = 9 if rng.random() < 0.85 else int(rng.integers(6, 9))
    number = "".join(rng.choice(list(_NUMBER_CHARS), length))
    state = str(rng.choice(_STATES))
    return Identity(
        surname=surname,
        given_names=given,
        sex=str(rng.choice(["F", "M", "M", "F", "<"])),
        birth=_day(rng, date(1935, 1, 1), date(2012, 12, 31)),
        expiry=_day(rng, date(2027, 1, 1), date(2036, 12, 31)),
        number=number,
        state=state,
        nationality=state if rng.random() < 0.9 else str(rng.choice(_STATES)),
    )


def _pad(text: str, width: int) -> str:
    return (text + "<" * width)[:width]


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def _names_field(person: Identity, width: int) -> str:
    """SURNAME<<GIVEN<NAMES, padded with fillers or cut at the field's end (a long name
    is printed truncated; the visual zone carries it in full)."""
    return _pad(f"{person.surname}<<{person.given_names}", width)


def _with_check(field: str) -> str:
    return field + str(check_digit(field))


def td1(person: Identity, rng: np.random.Generator, code: str = "ID") -> tuple[str, ...]:
    optional = _pad("".join(rng.choice(list("0123456789<"), int(rng.integers(0, 6)))), 15)
    number = _with_check(_pad(person.number, 9))
    line1 = _pad(code, 2) + person.state + number + optional
    birth = _with_check(_yymmdd(person.birth))
    expiry = _with_check(_yymmdd(person.expiry))
    optional_2 = "<" * 11
    upper = line1[5:30] + birth + expiry + optional_2
    line2 = birth + person.sex + expiry + person.nationality + optional_2
    line2 += str(check_digit(upper))
    return line1, line2, _names_field(person, 30)


def td3(person: Identity, rng: np.random.Generator) -> tuple[str, ...]:
    line1 = "P<" + person.state + _names_field(person, 39)
    personal = _pad("".join(rng.choice(list("0123456789"), int(rng.integers(0, 10)))), 14)
    number = _with_check(_pad(person.number, 9))
    birth = _with_check(_yymmdd(person.birth))
    expiry = _with_check(_yymmdd(person.expiry))
    personal_check = "<" if set(personal) == {"<"} else str(check_digit(personal))
    composite = number + birth + expiry + personal + personal_check
    line2 = number + person.nationality + birth + person.sex + expiry + personal
    line2 += personal_check + str(check_digit(composite))
    return line1, line2


def mrz_lines(fmt: Format, person: Identity, rng: np.random.Generator) -> tuple[str, ...]:
    return (
        td1(person, rng, str(rng.choice(["ID", "I<", "IR"]))) if fmt == "TD1" else td3(person, rng)
    )
