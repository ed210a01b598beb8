"""What a transfer's remittance text refers to: RF creditor references (ISO 11649) and
invoice numbers, found however the payer typed them."""

from __future__ import annotations

import re

from office.sepa import is_creditor_reference

_RF_MAX = 25  # "RF", two check digits, up to 21 characters
_WORDS = re.compile(r"[0-9A-Z]+")
_RF_SHAPE = re.compile(r"RF[0-9]{2}[0-9A-Z]{1,21}")
_INVOICE_NUMBER = re.compile(r"(?<![0-9])[0-9]{4}-[0-9]{4,8}(?![0-9])")


def rf_candidates(text: str) -> tuple[bool, set[str]]:
    """Whether ``text`` holds anything shaped like an RF reference, and the valid ones
    in it, compact. Tolerant of spaces and case: "rf18 5390 0754 7034" counts."""
    words = _WORDS.findall(text.upper())
    present, valid = False, set()
    for start, word in enumerate(words):
        if not word.startswith("RF"):
            continue
        joined = ""
        for part in words[start:]:
            joined += part
            if len(joined) > _RF_MAX:
                break
            if _RF_SHAPE.fullmatch(joined):
                present = True  # right or wrong: the payer meant an RF reference
                if is_creditor_reference(joined):
                    valid.add(joined)
    return present, valid


def invoice_numbers(text: str) -> set[str]:
    """Invoice numbers ("2026-000042") in ``text``."""
    return set(_INVOICE_NUMBER.findall(text))
