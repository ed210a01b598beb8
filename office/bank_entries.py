"""What a statement import says about each credit: matched, partly booked, left for a
clerk (and why), or seen before; and the entries still waiting for a clerk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class EntryStatus(StrEnum):
    MATCHED = "matched"
    PARTIAL = "partial"  # booked, less than was open
    UNMATCHED = "unmatched"  # nothing booked
    ASSIGNED = "assigned"  # a clerk booked it to a case
    HANDLED = "handled"  # a clerk dealt with it otherwise
    DUPLICATE = "duplicate"  # in a summary only: imported before


OPEN_STATUSES = (EntryStatus.PARTIAL, EntryStatus.UNMATCHED)


class Reason(StrEnum):
    """Why a credit was not simply matched."""

    NO_REFERENCE = "no_reference"
    UNKNOWN_REFERENCE = "unknown_reference"
    CHECK_DIGITS = "check_digits"
    AMBIGUOUS = "ambiguous"
    CURRENCY = "currency"
    AMOUNT = "amount"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    NOT_AWAITING_PAYMENT = "not_awaiting_payment"


REASON_LABELS: dict[Reason, str] = {
    Reason.NO_REFERENCE: "Kein Zahlungsbezug (RF-Referenz oder Rechnungsnummer) angegeben.",
    Reason.UNKNOWN_REFERENCE: "Zu dieser Referenz gibt es keine Rechnung.",
    Reason.CHECK_DIGITS: "Die RF-Referenz hat falsche Prüfziffern (vermutlich vertippt).",
    Reason.AMBIGUOUS: "Die Angaben passen zu mehreren Rechnungen.",
    Reason.CURRENCY: "Der Betrag ist nicht in Euro.",
    Reason.AMOUNT: "Der Betrag fehlt oder ist nicht lesbar.",
    Reason.UNDERPAID: "Weniger als der offene Betrag: gebucht, der Rest ist offen.",
    Reason.OVERPAID: "Mehr als der offene Betrag: nicht gebucht.",
    Reason.NOT_AWAITING_PAYMENT: "Der Vorgang wartet nicht auf eine Zahlung: nicht gebucht.",
}


@dataclass(frozen=True)
class EntryResult:
    """What happened to one credit of an imported statement."""

    entry_reference: str
    status: EntryStatus
    reason: Reason | None
    amount_cents: int
    currency: str
    booked_on: date
    case_id: str | None = None
    case_reference: str | None = None
    invoice_number: str | None = None
    debtor_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ImportSummary:
    statement_id: str
    entries: tuple[EntryResult, ...]
    debits: int  # ignored
    not_booked: int  # pending or informational entries, ignored

    def _count(self, status: EntryStatus) -> int:
        return sum(1 for entry in self.entries if entry.status is status)

    @property
    def matched(self) -> int:
        return self._count(EntryStatus.MATCHED)

    @property
    def partial(self) -> int:
        return self._count(EntryStatus.PARTIAL)

    @property
    def unmatched(self) -> int:
        return self._count(EntryStatus.UNMATCHED)

    @property
    def duplicates(self) -> int:
        return self._count(EntryStatus.DUPLICATE)


@dataclass(frozen=True)
class OpenEntry:
    """A partial or unmatched entry waiting for a clerk."""

    id: int
    entry_reference: str
    statement_id: str
    booked_on: date
    amount_cents: int
    currency: str
    remittance: str
    status: EntryStatus
    reason: Reason | None
    case_id: str | None
    case_reference: str | None
    imported_at: datetime
    debtor_name: str | None = field(default=None, repr=False)
