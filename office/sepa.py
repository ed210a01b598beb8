"""SEPA identifiers: the IBAN (ISO 13616), the BIC (ISO 9362) and the structured
creditor reference (ISO 11649, "RF…") that a payer copies into the transfer and the
bank statement brings back for reconciliation.

Pure functions, no I/O; each ``check_*`` returns the normalised value or raises
``ValueError`` with a message that says what is wrong.
"""

from __future__ import annotations

import re

# IBAN lengths of the SEPA countries (EPC409-09, the IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC_SHAPE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_RF_BODY = re.compile(r"^[A-Z0-9]{1,21}$")


def _mod97(alphanumeric: str) -> int:
    """ISO 7064 MOD 97-10 over letters as numbers (A=10 … Z=35)."""
    return int("".join(str(int(c, 36)) for c in alphanumeric)) % 97


def compact(value: str) -> str:
    """Without spaces, upper case: how an IBAN or reference is compared and stored."""
    return "".join(value.split()).upper()


def check_iban(value: str) -> str:
    iban = compact(value)
    if not _IBAN_SHAPE.match(iban):
        raise ValueError(f"IBAN {value!r} is malformed (2 letters, 2 check digits, account)")
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is None:
        raise ValueError(f"IBAN {value!r}: {iban[:2]} is not a SEPA country")
    if len(iban) != expected:
        raise ValueError(f"IBAN {value!r} has {len(iban)} characters; {iban[:2]} needs {expected}")
    if _mod97(iban[4:] + iban[:4]) != 1:
        raise ValueError(f"IBAN {value!r} fails its checksum (mod 97): a typing error?")
    return iban


def check_bic(value: str) -> str:
    bic = compact(value)
    if not _BIC_SHAPE.match(bic):
        raise ValueError(
            f"BIC {value!r} is malformed: 4 letters bank, 2 letters country, "
            "2 characters location, optionally 3 characters branch"
        )
    return bic


def format_iban(iban: str) -> str:
    """In groups of four, as printed: 'DE02 1203 0000 0000 2020 51'."""
    iban = compact(iban)
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def creditor_reference(body: str) -> str:
    """The ISO 11649 reference for ``body`` (up to 21 letters and digits): 'RF' + two
    check digits + body, e.g. creditor_reference('539007547034') == 'RF18539007547034'."""
    body = compact(body)
    if not _RF_BODY.match(body):
        raise ValueError(f"reference body {body!r}: 1 to 21 letters and digits")
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def is_creditor_reference(value: str) -> bool:
    reference = compact(value)
    return (
        reference.startswith("RF")
        and len(reference) >= 5
        and reference[2:4].isdigit()
        and bool(_RF_BODY.match(reference[4:]))
        and _mod97(reference[4:] + reference[:4]) == 1
    )
