"""Random MRZ text for training: valid TD1, TD2 and TD3 zones, and unstructured rows.

The recogniser must not learn what a name or a date usually looks like (its receptive
field spans a few characters, but a strong bias would still pull a blurred glyph toward
the likely one), so names are random syllables and a share of rows is random alphabet
with filler runs. Check digits are computed, so the zones validate like real ones.
"""

from __future__ import annotations

import random

from media.mrz import check_digit

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
ALPHABET = LETTERS + DIGITS + "<"
_VOWELS = "AEIOUY"
_CONSONANTS = "BCDFGHJKLMNPQRSTVWXZ"
# Characters OCR-B tells apart by a detail only (0/O/D/Q by the corners and the tail,
# M/H/N/W by the middle strokes, 8/B, 5/S, 1/I, 2/Z, 6/G): a share of document numbers
# and optional data is drawn mostly from them, where the grammar allows both letters
# and digits and only the glyph's shape can decide.
CONFUSABLE = "0ODQ0OD0OMHNWMH8B5S1I2Z6GUV"


def _word(rng: random.Random, low: int = 2, high: int = 12) -> str:
    length = rng.randint(low, high)
    if rng.random() < 0.2:  # some names are not pronounceable (transliterations, initials)
        return "".join(rng.choice(LETTERS) for _ in range(length))
    chars = []
    for i in range(length):
        chars.append(rng.choice(_VOWELS if i % 2 == (rng.random() < 0.5) else _CONSONANTS))
    return "".join(chars)


def _names(rng: random.Random, width: int) -> str:
    surname = "<".join(_word(rng) for _ in range(rng.choice((1, 1, 1, 2, 3))))
    given = "<".join(_word(rng) for _ in range(rng.choice((0, 1, 1, 2, 3, 4))))
    text = surname + ("<<" + given if given else "")
    return text[:width].ljust(width, "<")


def _alnum(rng: random.Random, length: int, filled: int | None = None) -> str:
    filled = length if filled is None else filled
    pool = CONFUSABLE if rng.random() < 0.3 else LETTERS + DIGITS
    body = "".join(rng.choice(pool) for _ in range(filled))
    return body.ljust(length, "<")[:length]


def _date(rng: random.Random) -> str:
    if rng.random() < 0.03:  # unknown day or month, printed as fillers
        return f"{rng.randint(0, 99):02d}" + rng.choice(("<<<<", f"{rng.randint(1, 12):02d}<<"))
    return f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _code(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(("D<<", "F<<", "I<<", "A<<"))
    return "".join(rng.choice(LETTERS) for _ in range(3))


def _digit(field: str) -> str:
    return str(check_digit(field))


def td1(rng: random.Random) -> list[str]:
    number = _alnum(rng, 9)
    optional = _alnum(rng, 15, rng.choice((0, 0, 3, 10, 15)))
    birth, expiry = _date(rng), _date(rng)
    optional2 = _alnum(rng, 11, rng.choice((0, 0, 0, 5, 11)))
    kind = rng.choice(("ID", "I<", "IR", "AC", "IT", "ID"))
    line1 = kind + _code(rng) + number + _digit(number) + optional
    sex = rng.choice("FMX<")
    upper = number + _digit(number) + optional + birth + _digit(birth) + expiry
    upper += _digit(expiry) + optional2
    line2 = birth + _digit(birth) + sex + expiry + _digit(expiry) + _code(rng) + optional2
    line2 += _digit(upper)
    return [line1, line2, _names(rng, 30)]


def two_line(rng: random.Random, width: int) -> list[str]:
    kind = rng.choice(("P<", "PP", "PD", "I<", "ID", "V<")) if width == 44 else "ID"
    line1 = (kind + _code(rng) + _names(rng, width - 5))[:width]
    number = _alnum(rng, 9, rng.choice((9, 9, 9, 8)))
    birth, expiry = _date(rng), _date(rng)
    sex = rng.choice("FMX<")
    if width == 44:
        personal = _alnum(rng, 14, rng.choice((0, 0, 9, 14)))
        personal_check = "<" if set(personal) == {"<"} else _digit(personal)
        optional = personal + personal_check
    else:
        optional = _alnum(rng, 7, rng.choice((0, 0, 7)))
    body = number + _digit(number) + _code(rng) + birth + _digit(birth) + sex + expiry
    body += _digit(expiry) + optional
    composite = body[0:10] + body[13:20] + body[21:]
    return [line1, body + _digit(composite)]


def random_rows(rng: random.Random, width: int, rows: int) -> list[str]:
    """Rows of any MRZ characters, with runs of fillers as long as real zones have."""
    out = []
    for _ in range(rows):
        chars: list[str] = []
        while len(chars) < width:
            if rng.random() < 0.25:
                chars += ["<"] * rng.randint(1, 12)
            else:
                pool = CONFUSABLE if rng.random() < 0.3 else ALPHABET
                chars += [rng.choice(pool) for _ in range(rng.randint(1, 8))]
        out.append("".join(chars[:width]))
    return out


def zone(rng: random.Random) -> list[str]:
    """One zone: mostly a valid TD1, TD2 or TD3, sometimes unstructured rows."""
    pick = rng.random()
    if pick < 0.2:
        width, rows = rng.choice(((30, 3), (36, 2), (44, 2)))
        return random_rows(rng, width, rows)
    if pick < 0.55:
        return td1(rng)
    if pick < 0.65:
        return two_line(rng, 36)
    return two_line(rng, 44)
