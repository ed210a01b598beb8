"""Bank reconciliation: the credits of a camt.053 statement matched to invoices.

A credit is matched only by what the payer wrote: an invoice's RF creditor reference
(structured, or anywhere in the text, validated by its check digits), or, where no RF
reference appears at all, the invoice number. Never by name or amount alone.

- the amount equals the case's open amount: **matched**, booked as a payment;
- less: **partial**, booked too (the money was received), listed for a clerk;
- more, no invoice, a case not waiting for payment, another currency: **unmatched**,
  listed for a clerk, nothing booked.

Every credit is stored once as a :class:`~office.models.BankEntry`, keyed by the
bank's entry reference; payments are booked idempotently under the same reference
(:meth:`Cases.record_payment`, source ``bank``), so importing a statement again, or
after an interrupted import, books nothing twice. A clerk resolves what is listed:
assigns the money to a case (booked then) or marks it handled, audited.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from office import audit
from office.bank_entries import (
    OPEN_STATUSES,
    EntryResult,
    EntryStatus,
    ImportSummary,
    OpenEntry,
    Reason,
)
from office.camt import Credit, parse_statement
from office.cases import Cases, CaseState
from office.errors import Conflict, InvalidInput, NotFound
from office.models import BankEntry, Case, Invoice, Payment
from office.remittance import invoice_numbers, rf_candidates
from office.sepa import compact

log = logging.getLogger(__name__)
SOURCE = "bank"
CURRENCY = "EUR"
NOTE_LENGTH = 300


@dataclass(frozen=True)
class _Decision:
    status: EntryStatus
    reason: Reason | None
    case_id: str | None = None
    case_reference: str | None = None
    invoice_number: str | None = None


class Reconciliation:
    """Imports bank statements and keeps the entries a clerk must look at."""

    def __init__(self, cases: Cases) -> None:
        self.cases = cases
        self.office = cases.office
        # One import at a time per process: matching reads a case's open amount and
        # booking changes it, in two transactions.
        self._importing = asyncio.Lock()

    # -- importing ---------------------------------------------------------------------

    async def import_statement(self, data: bytes, actor: str) -> ImportSummary:
        """Import a camt.053 document (``StatementInvalid`` if it is not one, and then
        nothing is stored)."""
        statement = await asyncio.to_thread(parse_statement, data)
        async with self._importing:
            results = [await self._import(credit, actor) for credit in statement.credits]
        summary = ImportSummary(statement.id, tuple(results), statement.debits,
                                statement.not_booked)  # fmt: skip
        counts = Counter(result.status.value for result in results)
        log.info(
            "bank statement %s imported by %s: %s, %d debits ignored",
            statement.id,
            actor,
            dict(counts),
            statement.debits,
        )
        return summary

    async def _import(self, credit: Credit, actor: str) -> EntryResult:
        async with self.office.sessions() as session:
            stored = await session.scalar(
                select(BankEntry).where(BankEntry.entry_reference == credit.entry_reference)
            )
            if stored is not None:
                return _result(credit, EntryStatus.DUPLICATE, None, stored.case_id)
            # Booked already by an import that stopped before it stored the entry.
            earlier = await session.scalar(
                select(Payment.case_id).where(
                    Payment.source == SOURCE, Payment.external_id == credit.entry_reference
                )
            )
            found = await _invoice_for(session, credit)
        # (one session at a time: SQLite's transactions each take the write lock)
        decision = await self._decide(credit, earlier, found)
        booked = False
        if decision.case_id is not None and decision.status in (
            EntryStatus.MATCHED,
            EntryStatus.PARTIAL,
        ):
            booked = await self.cases.record_payment(
                decision.case_id, SOURCE, credit.entry_reference, _hundredths(credit), actor
            )
        now = self.office.now()
        entry = BankEntry(
            entry_reference=credit.entry_reference,
            statement_id=credit.statement_id,
            booked_on=credit.booked_on,
            amount_cents=_hundredths(credit),
            currency=credit.currency[:3],
            debtor_name=credit.debtor_name,
            remittance=credit.remittance[:300],
            status=decision.status.value,
            reason=decision.reason.value if decision.reason else None,
            case_id=decision.case_id,
            imported_at=now,
        )
        try:
            async with self.office.sessions() as session, session.begin():
                session.add(entry)
                await session.flush()
                _audit_entry(session, now, actor, entry)
        except IntegrityError:
            # Another import stored this entry meanwhile; the payment (if any) is
            # booked once whoever booked it.
            if booked:
                await self._follow_payment(credit.entry_reference, decision)
            return _result(credit, EntryStatus.DUPLICATE, None, entry.case_id)
        return _result(
            credit,
            decision.status,
            decision.reason,
            decision.case_id,
            decision.case_reference,
            decision.invoice_number,
        )

    async def _follow_payment(self, entry_reference: str, decision: _Decision) -> None:
        """The entry stored by a concurrent import must say what was booked."""
        async with self.office.sessions() as session, session.begin():
            stored = await session.scalar(
                select(BankEntry)
                .where(BankEntry.entry_reference == entry_reference)
                .with_for_update()
            )
            if stored is not None and decision.case_id is not None:
                stored.status = decision.status.value
                stored.reason = decision.reason.value if decision.reason else None
                stored.case_id = decision.case_id

    async def _decide(
        self, credit: Credit, earlier: str | None, found: Invoice | Reason
    ) -> _Decision:
        cents = credit.amount_cents
        if credit.currency != CURRENCY:
            return _Decision(EntryStatus.UNMATCHED, Reason.CURRENCY)
        if cents is None or cents <= 0:
            return _Decision(EntryStatus.UNMATCHED, Reason.AMOUNT)
        if earlier is not None:
            view = await self.cases.get(earlier)
            if view.state is CaseState.PAYMENT_PENDING:
                return _Decision(EntryStatus.PARTIAL, Reason.UNDERPAID, view.id, view.reference)
            return _Decision(EntryStatus.MATCHED, None, view.id, view.reference)
        if isinstance(found, Reason):
            return _Decision(EntryStatus.UNMATCHED, found)
        view = await self.cases.get(found.case_id)
        named = (view.id, view.reference, found.number)
        if view.state is not CaseState.PAYMENT_PENDING:
            return _Decision(EntryStatus.UNMATCHED, Reason.NOT_AWAITING_PAYMENT, *named)
        if cents == view.open_cents:
            return _Decision(EntryStatus.MATCHED, None, *named)
        if cents < view.open_cents:
            return _Decision(EntryStatus.PARTIAL, Reason.UNDERPAID, *named)
        return _Decision(EntryStatus.UNMATCHED, Reason.OVERPAID, *named)

    # -- the clerk's list --------------------------------------------------------------

    async def open_entries(self, limit: int = 500) -> list[OpenEntry]:
        """Partial and unmatched entries not yet resolved, oldest booking first."""
        async with self.office.sessions() as session:
            rows = (
                await session.execute(
                    select(BankEntry, Case.reference)
                    .outerjoin(Case, Case.id == BankEntry.case_id)
                    .where(
                        BankEntry.status.in_([s.value for s in OPEN_STATUSES]),
                        BankEntry.resolved_at.is_(None),
                    )
                    .order_by(BankEntry.booked_on, BankEntry.id)
                    .limit(limit)
                )
            ).all()
        return [
            OpenEntry(
                id=entry.id,
                entry_reference=entry.entry_reference,
                statement_id=entry.statement_id,
                booked_on=entry.booked_on,
                amount_cents=entry.amount_cents,
                currency=entry.currency,
                remittance=entry.remittance,
                status=EntryStatus(entry.status),
                reason=Reason(entry.reason) if entry.reason else None,
                case_id=entry.case_id,
                case_reference=reference,
                imported_at=entry.imported_at,
                debtor_name=entry.debtor_name,
            )
            for entry, reference in rows
        ]

    async def find_case(self, text: str) -> str | None:
        """The case a clerk names by its reference (Vorgangsnummer) or its invoice's
        number or payment reference; None if there is none."""
        value = " ".join(text.split())
        if not value or len(value) > 40:
            return None
        async with self.office.sessions() as session:
            case_id = await session.scalar(select(Case.id).where(Case.reference == value.upper()))
            if case_id is None:
                case_id = await session.scalar(
                    select(Invoice.case_id).where(
                        or_(Invoice.number == value, Invoice.payment_reference == compact(value))
                    )
                )
            return case_id

    async def resolve(self, entry_id: int, case_id: str | None, actor: str, note: str) -> None:
        """A clerk's decision on an open entry: with ``case_id`` the money is booked to
        that case (an unmatched entry) or confirmed for it (a partial one); without, the
        entry is marked handled. Either way it leaves the open list, audited."""
        note = note.strip()
        if len(note) > NOTE_LENGTH:
            raise InvalidInput({"note": f"Höchstens {NOTE_LENGTH} Zeichen."})
        async with self.office.sessions() as session:
            entry = await session.get(BankEntry, entry_id)
            if entry is None:
                raise NotFound("Diese Buchung gibt es nicht.")
            status = EntryStatus(entry.status)
            if status not in OPEN_STATUSES or entry.resolved_at is not None:
                raise Conflict("Diese Buchung ist bereits erledigt.")
            reference, cents, currency = entry.entry_reference, entry.amount_cents, entry.currency
            booked_case = entry.case_id if status is EntryStatus.PARTIAL else None
        booked = False
        if case_id is not None and booked_case is None:
            if currency != CURRENCY or cents <= 0:
                raise InvalidInput(
                    {"case": "Nur Beträge in Euro können einem Vorgang zugeordnet werden."}
                )
            await self.cases.get(case_id)  # NotFound for a case that does not exist
            booked = await self.cases.record_payment(case_id, SOURCE, reference, cents, actor)
            if not booked:
                raise Conflict("Diese Buchung ist bereits einem Vorgang zugeordnet.")
        elif case_id is not None and case_id != booked_case:
            raise InvalidInput({"case": "Eine Teilzahlung bleibt bei ihrem Vorgang gebucht."})
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            entry = await session.scalar(
                select(BankEntry).where(BankEntry.id == entry_id).with_for_update()
            )
            if entry is None:  # entries are never deleted; a guard all the same
                raise NotFound("Diese Buchung gibt es nicht.")
            if entry.resolved_at is not None and not booked:
                raise Conflict("Diese Buchung ist bereits erledigt.")
            # The entry follows the money: one booked here is assigned, whatever a
            # concurrent clerk decided meanwhile.
            entry.status = (EntryStatus.ASSIGNED if booked else EntryStatus.HANDLED).value
            if booked:
                entry.case_id = case_id
            entry.resolved_at = now
            entry.note = note or None
            audit.record(
                session,
                now,
                actor,
                f"bank.entry_{entry.status}",
                f"bank_entry:{entry.id}",
                case_id=entry.case_id,
                was=status.value,
            )


async def _invoice_for(session: AsyncSession, credit: Credit) -> Invoice | Reason:
    """The one invoice the payer named, or why there is none."""
    text = " ".join(p for p in (credit.structured_reference, credit.unstructured) if p)
    present, valid = rf_candidates(text)
    if present:
        if not valid:
            return Reason.CHECK_DIGITS
        condition = Invoice.payment_reference.in_(sorted(valid))
    else:
        numbers = invoice_numbers(text)
        if not numbers:
            return Reason.NO_REFERENCE
        condition = Invoice.number.in_(sorted(numbers))
    invoices = (await session.scalars(select(Invoice).where(condition).limit(2))).all()
    if not invoices:
        return Reason.UNKNOWN_REFERENCE
    if len(invoices) > 1:
        return Reason.AMBIGUOUS
    return invoices[0]


def _hundredths(credit: Credit) -> int:
    """The amount in hundredths of its currency (exact for a matched EUR amount;
    rounded only for amounts that are never booked)."""
    if credit.amount is None:
        return 0
    return int((credit.amount * 100).to_integral_value())


def _audit_entry(session: AsyncSession, at: datetime, actor: str, entry: BankEntry) -> None:
    # Ids, codes and amounts only: the payer's name and text stay out of the log.
    audit.record(
        session,
        at,
        actor,
        "bank.entry_imported",
        f"bank_entry:{entry.id}",
        status=entry.status,
        reason=entry.reason,
        case_id=entry.case_id,
        amount_cents=entry.amount_cents,
        currency=entry.currency,
    )


def _result(
    credit: Credit,
    status: EntryStatus,
    reason: Reason | None,
    case_id: str | None,
    case_reference: str | None = None,
    invoice_number: str | None = None,
) -> EntryResult:
    return EntryResult(
        entry_reference=credit.entry_reference,
        status=status,
        reason=reason,
        amount_cents=_hundredths(credit),
        currency=credit.currency,
        booked_on=credit.booked_on,
        case_id=case_id,
        case_reference=case_reference,
        invoice_number=invoice_number,
        debtor_name=credit.debtor_name,
    )
