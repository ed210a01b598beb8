"""Machine Readable Zone (ICAO Doc 9303) parsing and check-digit validation.

Supports TD1 (3 x 30, ID cards), TD2 (2 x 36, e.g. the 2001-2010 German ID card) and
TD3 (2 x 44, passports). Germany uses the one-letter code ``D`` for issuing state and
nationality; it is returned as printed (``"D"``), like every other code.

Reading an MRZ from a camera is three steps, all done by :func:`parse`:

1. :func:`normalise_line` - upper-case, drop whitespace, map '«'-like glyphs to '<'.
2. :func:`correct_lookalikes` - replace a character only where the field type forbids it
   (a letter in a digits-only field, a digit in a letters-only field). Document numbers and
   optional data are alphanumeric and are never touched.
3. Check digits are an accept gate: they are computed and reported, never used to search
   for a substitution that would make them pass (that yields valid-looking wrong numbers).

Two-digit years:

* birth date: the latest century that does not put the date after ``today``
  (so a 101-year-old is read as a baby - an inherent MRZ ambiguity);
* expiry date: the century that puts the year in ``(today.year - 50, today.year + 50]``,
  i.e. the 2000s unless that is more than 50 years ahead (``98`` read in 2026 is 1998).

Days or months printed as '<' (unknown), or digits that form no calendar date, give
``None``; :meth:`MrzResult.expired` treats an unknown expiry as expired (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import cycle
from typing import Any, Literal

MrzFormat = Literal["TD1", "TD2", "TD3"]
Kind = Literal["alpha", "num", "alnum", "sex"]

_SHAPES: dict[tuple[int, int], MrzFormat] = {(3, 30): "TD1", (2, 36): "TD2", (2, 44): "TD3"}
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_FILLER_GLYPHS = str.maketrans(dict.fromkeys("«‹＜〈⟨", "<"))
_TO_DIGIT = {
    **dict.fromkeys("OQD", "0"),
    **dict.fromkeys("IL", "1"),
    **{"Z": "2", "S": "5", "G": "6", "B": "8"},
}
_TO_LETTER = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"}
_ALLOWED: dict[Kind, frozenset[str]] = {
    "alpha": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ<"),
    "num": frozenset("0123456789<"),
    "alnum": _ALPHABET,
    "sex": frozenset("FMX<"),
}


class MrzError(ValueError):
    """The text is not a TD1/TD2/TD3 MRZ; the message says why."""


@dataclass(frozen=True)
class _Field:
    name: str
    line: int
    start: int
    end: int
    kind: Kind

    def read(self, lines: Sequence[str]) -> str:
        return lines[self.line][self.start : self.end]


def _two_line_layout(width: int) -> tuple[_Field, ...]:
    last = width - 1
    optional = (
        (_Field("optional_data", 1, 28, 42, "alnum"), _Field("optional_check", 1, 42, 43, "num"))
        if width == 44
        else (_Field("optional_data", 1, 28, last, "alnum"),)
    )
    return (
        _Field("document_type", 0, 0, 2, "alpha"),
        _Field("issuing_state", 0, 2, 5, "alpha"),
        _Field("names", 0, 5, width, "alpha"),
        _Field("document_number", 1, 0, 9, "alnum"),
        _Field("document_number_check", 1, 9, 10, "num"),
        _Field("nationality", 1, 10, 13, "alpha"),
        _Field("birth_date", 1, 13, 19, "num"),
        _Field("birth_date_check", 1, 19, 20, "num"),
        _Field("sex", 1, 20, 21, "sex"),
        _Field("expiry_date", 1, 21, 27, "num"),
        _Field("expiry_date_check", 1, 27, 28, "num"),
        *optional,
        _Field("composite_check", 1, last, width, "num"),
    )


_LAYOUTS: dict[MrzFormat, tuple[_Field, ...]] = {
    "TD1": (
        _Field("document_type", 0, 0, 2, "alpha"),
        _Field("issuing_state", 0, 2, 5, "alpha"),
        _Field("document_number", 0, 5, 14, "alnum"),
        _Field("document_number_check", 0, 14, 15, "num"),
        _Field("optional_data", 0, 15, 30, "alnum"),
        _Field("birth_date", 1, 0, 6, "num"),
        _Field("birth_date_check", 1, 6, 7, "num"),
        _Field("sex", 1, 7, 8, "sex"),
        _Field("expiry_date", 1, 8, 14, "num"),
        _Field("expiry_date_check", 1, 14, 15, "num"),
        _Field("nationality", 1, 15, 18, "alpha"),
        _Field("optional_data_2", 1, 18, 29, "alnum"),
        _Field("composite_check", 1, 29, 30, "num"),
        _Field("names", 2, 0, 30, "alpha"),
    ),
    "TD2": _two_line_layout(36),
    "TD3": _two_line_layout(44),
}
# (line, start, end) slices covered by the composite check digit
_COMPOSITE: dict[MrzFormat, tuple[tuple[int, int, int], ...]] = {
    "TD1": ((0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)),
    "TD2": ((1, 0, 10), (1, 13, 20), (1, 21, 35)),
    "TD3": ((1, 0, 10), (1, 13, 20), (1, 21, 43)),
}


def _checked_lines(fmt: MrzFormat) -> dict[str, frozenset[int]]:
    """Which lines each check digit covers, by the name ``MrzResult.checks`` uses."""
    line_of = {field.name: field.line for field in _LAYOUTS[fmt]}
    return {
        "document_number": frozenset({line_of["document_number"]}),
        "birth_date": frozenset({line_of["birth_date"]}),
        "expiry_date": frozenset({line_of["expiry_date"]}),
        "personal_number": frozenset({line_of["optional_data"]}),
        "composite": frozenset(line for line, _start, _end in _COMPOSITE[fmt]),
    }


_CHECKED_LINES = {fmt: _checked_lines(fmt) for fmt in _LAYOUTS}


def position_alphabets(fmt: MrzFormat) -> tuple[tuple[frozenset[str], ...], ...]:
    """Per line and column, the characters the format allows there (its field's kind).

    What a recogniser may choose from at each position: reading a digit in a name is an
    error of the reading, which this rules out before it is made, not a substitution after.
    """
    width = {"TD1": 30, "TD2": 36, "TD3": 44}[fmt]
    lines = 3 if fmt == "TD1" else 2
    allowed = [[_ALLOWED["alnum"]] * width for _ in range(lines)]
    for field in _LAYOUTS[fmt]:
        for column in range(field.start, field.end):
            allowed[field.line][column] = _ALLOWED[field.kind]
    return tuple(tuple(line) for line in allowed)


@dataclass(frozen=True)
class Correction:
    """One look-alike replacement made by :func:`correct_lookalikes` (0-based position)."""

    line: int
    column: int
    field: str
    found: str
    replaced_by: str


@dataclass(frozen=True)
class MrzResult:
    format: MrzFormat
    document_type: str
    issuing_state: str
    document_number: str
    surname: str
    given_names: str
    birth_date: date | None
    sex: str | None  # "F", "M", "X" (unspecified); None when printed as '<'
    expiry_date: date | None
    nationality: str
    optional_data: str  # TD1 line 1 / TD2 optional data; TD3 personal number
    optional_data_2: str  # TD1 line 2 only, "" otherwise
    # document_number, birth_date, expiry_date, personal_number (TD3 only), composite
    checks: dict[str, bool]
    lines: tuple[str, ...]  # as parsed: normalised and corrected
    corrections: tuple[Correction, ...] = ()

    @property
    def valid(self) -> bool:
        """Every check digit of the format validates."""
        return all(self.checks.values())

    def line_validity(self) -> tuple[bool | None, ...]:
        """Per line: whether every check digit over it validates, or None for a line
        that no check digit covers (the names: read, but not verified by the MRZ)."""
        covers = _CHECKED_LINES[self.format]
        validity: list[bool | None] = []
        for line in range(len(self.lines)):
            over = [ok for name, ok in self.checks.items() if line in covers[name]]
            validity.append(all(over) if over else None)
        return tuple(validity)

    def fields(self) -> dict[str, Any]:
        """The fields a clerk compares with the document (dates as ISO strings)."""
        return {
            "document_number": self.document_number,
            "surname": self.surname,
            "given_names": self.given_names,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "nationality": self.nationality,
            "issuing_state": self.issuing_state,
        }

    def expired(self, today: date) -> bool:
        """True after the expiry day, or when no expiry date could be read (fail closed)."""
        return self.expiry_date is None or self.expiry_date < today


def normalise_line(text: str) -> str:
    """Upper-case ASCII letters, remove all whitespace, map '«'-like glyphs to '<'.

    OCR sometimes reads '<<' as one '«'; the line then comes out too short and
    :func:`parse` rejects it instead of guessing.
    """
    text = "".join(text.split()).translate(_FILLER_GLYPHS)
    return "".join(c.upper() if "a" <= c <= "z" else c for c in text)


def _char_value(char: str) -> int:
    if char == "<":
        return 0
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise MrzError(f"character {char!r} is not allowed in an MRZ")


def check_digit(field: str) -> int:
    """ICAO 9303 check digit: weights 7, 3, 1 repeated; '<' = 0, A = 10 ... Z = 35."""
    return sum(_char_value(c) * w for c, w in zip(field, cycle((7, 3, 1)), strict=False)) % 10


def _passes(field: str, printed: str, *, optional: bool = False) -> bool:
    """Whether ``printed`` is the check digit of ``field``. A filler in its place is
    allowed only for an ``optional`` field left empty (the TD3 personal number): the
    number, the dates and the composite always carry a digit (ICAO 9303-3, check digits), so two
    rows of fillers - which a reading of a blank band can give - are no valid MRZ."""
    if printed == "<":
        return optional and set(field) <= {"<"}
    return printed.isdigit() and int(printed) == check_digit(field)


def _detect(lines: Sequence[str]) -> MrzFormat:
    lengths = [len(line) for line in lines]
    shape = (len(lines), lengths[0] if lengths else 0)
    if len(set(lengths)) > 1 or shape not in _SHAPES:
        raise MrzError(
            f"expected 3 lines of 30 (TD1), 2 of 36 (TD2) or 2 of 44 (TD3) characters, "
            f"got line lengths {lengths}"
        )
    if shape == (2, 36) and lines[0].startswith("IDFRA"):
        raise MrzError("French national ID card (1988-2021 design) uses a non-ICAO 2x36 layout")
    for number, line in enumerate(lines, 1):
        for column, char in enumerate(line, 1):
            if char not in _ALPHABET:
                raise MrzError(f"line {number}, column {column}: illegal character {char!r}")
    return _SHAPES[shape]


def _correct(lines: tuple[str, ...], fmt: MrzFormat) -> tuple[tuple[str, ...], list[Correction]]:
    chars = [list(line) for line in lines]
    corrections: list[Correction] = []
    for field in _LAYOUTS[fmt]:
        table = _TO_DIGIT if field.kind == "num" else _TO_LETTER if field.kind == "alpha" else {}
        for column in range(field.start, field.end):
            found = chars[field.line][column]
            if found in table:
                chars[field.line][column] = table[found]
                corrections.append(Correction(field.line, column, field.name, found, table[found]))
    return tuple("".join(line) for line in chars), corrections


def correct_lookalikes(lines: Sequence[str]) -> tuple[str, ...]:
    """Normalise, then fix look-alikes where the field type forbids the character.

    Digits-only fields (dates, check digits): O Q D -> 0, I L -> 1, Z -> 2, S -> 5, G -> 6,
    B -> 8. Letters-only fields (codes, names): 0 -> O, 1 -> I, 2 -> Z, 5 -> S, 6 -> G,
    8 -> B. Alphanumeric fields (document number, optional data) are left alone.
    """
    normalised = tuple(normalise_line(line) for line in lines)
    return _correct(normalised, _detect(normalised))[0]


def _names(field: str) -> tuple[str, str]:
    surname, _, given = field.rstrip("<").partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def _yymmdd(text: str) -> tuple[int, int, int] | None:
    if not text.isdigit():
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        date(2000, mm, dd)  # leap year: 29 Feb is checked again with the real year
    except ValueError:
        return None
    return yy, mm, dd


def _birth_date(text: str, today: date) -> date | None:
    parts = _yymmdd(text)
    if parts is None:
        return None
    yy, mm, dd = parts
    year = today.year - today.year % 100 + yy
    if (year, mm, dd) > (today.year, today.month, today.day):
        year -= 100
    return _date(year, mm, dd)


def _expiry_date(text: str, today: date) -> date | None:
    parts = _yymmdd(text)
    if parts is None:
        return None
    yy, mm, dd = parts
    year = today.year - today.year % 100 + yy
    if year > today.year + 50:
        year -= 100
    elif year <= today.year - 50:
        year += 100
    return _date(year, mm, dd)


WITHHELD = "*"  # no character of the MRZ: a cell left out on purpose


def without_number(fmt: MrzFormat, lines: Sequence[str]) -> tuple[str, ...]:
    """Parsed ``lines`` with the document number's cells replaced by ``*``: its field,
    its check digit and, where the number overflows (a '<' as its check digit, ICAO
    9303-5 §4.2.2), the optional data up to the first filler. For keeping an MRZ where
    the town does not keep document numbers."""
    cells = [list(line) for line in lines]
    fields = {field.name: field for field in _LAYOUTS[fmt]}
    spans = [fields["document_number"], fields["document_number_check"]]
    check = fields["document_number_check"].read(lines)
    if fmt != "TD3" and check == "<":
        optional = fields["optional_data"]
        overflow = optional.read(lines).split("<", 1)[0]
        spans.append(
            _Field(
                "overflow", optional.line, optional.start, optional.start + len(overflow), "alnum"
            )
        )
    for span in spans:
        cells[span.line][span.start : span.end] = WITHHELD * (span.end - span.start)
    return tuple("".join(line) for line in cells)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 29 February outside a leap year
        return None


def _document_number(fmt: MrzFormat, raw: dict[str, str]) -> tuple[str, str, bool]:
    """Document number, remaining optional data and its check (TD1/TD2 overflow aware).

    ICAO 9303-5 §4.2.2 (and 9303-6 for TD2): a number longer than 9 characters keeps its
    first 9 in the number field, puts '<' in the check-digit position and continues at
    the start of the optional data, followed by the check digit over the whole number and
    a filler.
    """
    number, printed = raw["document_number"], raw["document_number_check"]
    optional = raw["optional_data"]
    overflow = optional.split("<", 1)[0]
    if fmt != "TD3" and printed == "<" and len(overflow) >= 2 and "<" not in number:
        full = number + overflow[:-1]
        rest = optional[len(overflow) + 1 :]
        return full, rest, _passes(full, overflow[-1])
    # a document always has a number: fillers only are a blank band read, not a number
    return number, optional, bool(number.strip("<")) and _passes(number, printed)


def parse(lines: Sequence[str], *, today: date | None = None, correct: bool = True) -> MrzResult:
    """Parse and validate an MRZ given as its lines (as read; normalised here).

    ``today`` anchors the century rules (default: ``date.today()``). With ``correct``
    (the default) look-alikes are fixed by field type first and listed in
    ``corrections``; without it, such a character raises :class:`MrzError`.
    Raises :class:`MrzError` for a wrong shape, an illegal character, or a character the
    field type forbids. Check-digit failures do not raise: see ``checks`` and ``valid``.
    """
    today = today or date.today()
    normalised = tuple(normalise_line(line) for line in lines)
    fmt = _detect(normalised)
    fixed, corrections = _correct(normalised, fmt) if correct else (normalised, [])
    raw: dict[str, str] = {}
    for field in _LAYOUTS[fmt]:
        value = raw[field.name] = field.read(fixed)
        bad = [c for c in value if c not in _ALLOWED[field.kind]]
        if bad:
            raise MrzError(f"{field.name} {value!r}: {bad[0]!r} not allowed ({field.kind} field)")

    number, optional, number_ok = _document_number(fmt, raw)
    checks = {
        "document_number": number_ok,
        "birth_date": _passes(raw["birth_date"], raw["birth_date_check"]),
        "expiry_date": _passes(raw["expiry_date"], raw["expiry_date_check"]),
    }
    if "optional_check" in raw:
        checks["personal_number"] = _passes(
            raw["optional_data"], raw["optional_check"], optional=True
        )
    composite = "".join(fixed[line][start:end] for line, start, end in _COMPOSITE[fmt])
    checks["composite"] = _passes(composite, raw["composite_check"])

    surname, given_names = _names(raw["names"])
    return MrzResult(
        format=fmt,
        document_type=raw["document_type"].rstrip("<"),
        issuing_state=raw["issuing_state"].rstrip("<"),
        document_number=number.strip("<"),
        surname=surname,
        given_names=given_names,
        birth_date=_birth_date(raw["birth_date"], today),
        sex=None if raw["sex"] == "<" else raw["sex"],
        expiry_date=_expiry_date(raw["expiry_date"], today),
        nationality=raw["nationality"].rstrip("<"),
        optional_data=optional.rstrip("<"),
        optional_data_2=raw.get("optional_data_2", "").rstrip("<"),
        checks=checks,
        lines=fixed,
        corrections=tuple(corrections),
    )
