"""The EPC QR code ("GiroCode") payload, EPC069-12 version 002.

A banking app that scans it fills in a SEPA credit transfer: beneficiary, IBAN, BIC,
amount and the remittance. The remittance is either a structured creditor reference
(ISO 11649, what reconciliation matches) or free text, never both. Amounts are integer
cents throughout; no float is involved anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno

from office.catalogue import PaymentSettings
from office.sepa import check_bic, check_iban, is_creditor_reference

SERVICE_TAG = "BCD"
VERSION = "002"
CHARACTER_SET = "1"  # UTF-8
IDENTIFICATION = "SCT"  # SEPA credit transfer
MIN_CENTS = 1
MAX_CENTS = 99_999_999_999  # EUR 999999999.99
NAME_LENGTH = 70
REFERENCE_LENGTH = 35
MAX_PAYLOAD_BYTES = 331


def format_amount(cents: int) -> str:
    """'EUR12.34' from 1234: the amount element, two decimals, no float."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError("the amount is integer cents")
    if not MIN_CENTS <= cents <= MAX_CENTS:
        raise ValueError("the amount must be from EUR 0.01 to EUR 999999999.99")
    euros, rest = divmod(cents, 100)
    return f"EUR{euros}.{rest:02d}"


@dataclass(frozen=True)
class CreditTransfer:
    """What the code asks the payer's bank to do; validated when built."""

    name: str
    iban: str
    bic: str
    amount_cents: int
    reference: str  # ISO 11649 structured creditor reference

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not name or len(name) > NAME_LENGTH or "\n" in name or "\r" in name:
            raise ValueError(f"beneficiary name: 1 to {NAME_LENGTH} characters on one line")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "iban", check_iban(self.iban))
        object.__setattr__(self, "bic", check_bic(self.bic))
        format_amount(self.amount_cents)
        if len(self.reference) > REFERENCE_LENGTH or not is_creditor_reference(self.reference):
            raise ValueError(f"{self.reference!r} is not an ISO 11649 creditor reference")

    def payload(self) -> str:
        """The text to encode, lines separated by LF. Purpose (line 9) is empty, the
        structured reference fills line 10, and the unstructured remittance (line 11)
        stays empty as the spec requires when line 10 is used; trailing empty
        elements are left out, as EPC069-12 allows."""
        lines = [
            SERVICE_TAG,
            VERSION,
            CHARACTER_SET,
            IDENTIFICATION,
            self.bic,
            self.name,
            self.iban,
            format_amount(self.amount_cents),
            "",  # purpose
            self.reference,
        ]
        text = "\n".join(lines)
        if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise ValueError("the EPC QR payload exceeds 331 bytes")
        return text


def parse_payload(text: str) -> dict[str, str]:
    """The elements of a payload by name (for checks and tests): the inverse of
    :meth:`CreditTransfer.payload`."""
    names = (
        "service_tag", "version", "character_set", "identification", "bic", "name",
        "iban", "amount", "purpose", "reference", "text", "information",
    )  # fmt: skip
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) > len(names):
        raise ValueError("too many lines for an EPC QR payload")
    return dict(zip(names, lines + [""] * (len(names) - len(lines)), strict=True))


def girocode(payment: PaymentSettings, reference: str, amount_cents: int) -> segno.QRCode:
    """The code asking for ``amount_cents`` to the town's account with ``reference``,
    at error correction level M as EPC069-12 asks (boosting it would change the level)."""
    transfer = CreditTransfer(
        name=payment.creditor_name,
        iban=payment.iban,
        bic=payment.bic,
        amount_cents=amount_cents,
        reference=reference,
    )
    return segno.make(transfer.payload(), error="m", micro=False, boost_error=False)
