"""Invoices (Rechnungen) for fees paid by transfer: numbered, mailed or printed.

An invoice is issued for a case waiting for payment by invoice (by mail or by post).
Its number is gapless per calendar year of the town's local date ("2026-000042"):
the year's counter row is read, incremented and written in the same transaction as
the invoice, under a row lock on PostgreSQL (SELECT … FOR UPDATE) and under SQLite's
write lock (every transaction begins IMMEDIATE, see ``office.db``). A transaction
that fails rolls its number back with it, so no number is lost.

The payment reference is an ISO 11649 creditor reference derived from the number;
it is what the payer copies into the transfer (or the GiroCode fills in) and what
bank reconciliation matches. Issuing does not change the case's state: the case is
already waiting for payment, and the status page asks :meth:`Invoices.invoice_of`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import SOURCE_LANGUAGE
from office import audit
from office.case_views import PaymentMethod
from office.cases import CaseState
from office.catalogue import PaymentSettings
from office.context import Office
from office.errors import Conflict, InvalidInput, NotFound
from office.invoice_pdf import invoice_pdf, letters_pdf
from office.localtime import format_euros
from office.mail import MailKind, compose_invoice
from office.models import Appointment, Case, Invoice, InvoiceCounter
from office.outbox import enqueue
from office.sepa import creditor_reference
from office.statistics_record import Kind, note_case

NAME_LENGTH = 200
ADDRESS_LINES = 5  # the window's address zone has six lines; one is the name
ADDRESS_LINE_LENGTH = 60


class InvoiceDelivery(StrEnum):
    EMAIL = "email"
    POST = "post"


_METHOD = {
    InvoiceDelivery.EMAIL: PaymentMethod.INVOICE_EMAIL,
    InvoiceDelivery.POST: PaymentMethod.INVOICE_POST,
}


class InvoiceExists(Conflict):
    """The case has its invoice already; a case gets one invoice only."""

    code = "invoice_exists"
    message = "Für diesen Vorgang wurde bereits eine Rechnung gestellt."


class NotInvoiceable(Conflict):
    """The case is not waiting for payment by invoice."""

    code = "not_invoiceable"
    message = "Für diesen Vorgang kann keine Rechnung gestellt werden."


class PaymentNotConfigured(Conflict):
    """The town file has no ``[payment]`` section: there is no account to pay to."""

    code = "payment_not_configured"
    message = "Für Rechnungen ist keine Bankverbindung eingerichtet."


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as issued, with what its document prints."""

    id: str
    case_id: str
    case_reference: str
    service_name: str
    quantity: int
    unit_fee_cents: int
    number: str
    payment_reference: str
    amount_cents: int
    issued_on: date
    due_on: date
    delivery: InvoiceDelivery
    recipient_name: str
    recipient_address: tuple[str, ...]
    recipient_email: str | None
    printed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class PrintBatch:
    """The letters of one print run; ``pdf`` is None when nothing was waiting."""

    invoices: tuple[InvoiceView, ...]
    pdf: bytes | None

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(invoice.number for invoice in self.invoices)


def invoice_number(year: int, sequence: int) -> str:
    return f"{year}-{sequence:06d}"


def payment_reference(year: int, sequence: int) -> str:
    """'RF' + check digits + year and sequence: 2026-000042 → 'RF…2026000042'."""
    return creditor_reference(f"{year}{sequence:06d}")


class Invoices:
    """The invoice desk, on the appointments' database and mail outbox."""

    def __init__(self, office: Office) -> None:
        self.office = office

    @property
    def payment(self) -> PaymentSettings:
        payment = self.office.town.payment
        if payment is None:
            raise PaymentNotConfigured()
        return payment

    # -- reading -----------------------------------------------------------------------

    async def invoice_of(self, case_id: str) -> InvoiceView | None:
        """The case's invoice, or None (e.g. for "Rechnung gestellt am …")."""
        async with self.office.sessions() as session:
            row = (
                await session.execute(
                    select(Invoice, Case)
                    .join(Case, Case.id == Invoice.case_id)
                    .where(Invoice.case_id == case_id)
                )
            ).one_or_none()
            return None if row is None else self._view(row[0], row[1])

    async def document(self, case_id: str, viewer: str) -> bytes:
        """The case's invoice as a PDF, as issued (reproducible after the purge). It
        carries a name and an address: who looked at it goes to the audit log."""
        invoice = await self.invoice_of(case_id)
        if invoice is None:
            raise NotFound("Für diesen Vorgang gibt es keine Rechnung.")
        async with self.office.sessions() as session, session.begin():
            audit.record(
                session, self.office.now(), viewer, "invoice.viewed", f"invoice:{invoice.id}"
            )
        return await asyncio.to_thread(invoice_pdf, invoice, self.office.town)

    # -- changing ----------------------------------------------------------------------

    async def issue(
        self,
        case_id: str,
        delivery: InvoiceDelivery,
        recipient_name: str,
        recipient_address: Sequence[str],
        recipient_email: str | None,
        actor: str,
    ) -> InvoiceView:
        """Issue the case's invoice and, for delivery by mail, queue the mail with the
        PDF in the same transaction. Refused (changing nothing) with
        :class:`InvoiceExists` for a second invoice, :class:`NotInvoiceable` for a case
        not waiting for payment by invoice, :class:`InvalidInput` for bad recipients."""
        payment = self.payment
        name, address, email = _recipient(
            delivery, recipient_name, recipient_address, recipient_email
        )
        now = self.office.now()
        issued_on = now.astimezone(self.office.town.tz).date()
        try:
            async with self.office.sessions() as session, session.begin():
                case = await session.scalar(
                    select(Case).where(Case.id == case_id).with_for_update()
                )
                if case is None:
                    raise NotFound("Diesen Vorgang gibt es nicht.")
                await _check_invoiceable(session, case, delivery)
                sequence = await _next_sequence(session, issued_on.year)
                invoice = Invoice(
                    id=str(uuid.uuid4()),
                    case_id=case.id,
                    year=issued_on.year,
                    sequence=sequence,
                    number=invoice_number(issued_on.year, sequence),
                    payment_reference=payment_reference(issued_on.year, sequence),
                    amount_cents=case.fee_cents,
                    issued_on=issued_on,
                    due_on=issued_on + timedelta(days=payment.due_days),
                    delivery=delivery.value,
                    recipient_name=name,
                    recipient_address=list(address),
                    recipient_email=email,
                    printed_at=None,
                    created_at=now,
                )
                session.add(invoice)
                await session.flush()  # a racing second invoice for the case fails here
                town = self.office.town
                await note_case(session, town, case, Kind.INVOICED, amount=invoice.amount_cents)
                audit.record(
                    session,
                    now,
                    actor,
                    "invoice.issued",
                    f"case:{case.id}",
                    number=invoice.number,
                    amount_cents=invoice.amount_cents,
                    delivery=delivery.value,
                )
                view = self._view(invoice, case)
                if delivery is InvoiceDelivery.EMAIL and email is not None:
                    # Rendered off the event loop; the mail commits with the invoice.
                    pdf = await asyncio.to_thread(invoice_pdf, view, self.office.town)
                    status_url, language = await self._reader(session, case, email)
                    self._enqueue_mail(session, view, email, pdf, status_url, language, now)
        except IntegrityError:
            raise InvoiceExists() from None
        if delivery is InvoiceDelivery.EMAIL:
            self.office.mail_queued()
        return view

    async def print_batch(self, actor: str) -> PrintBatch:
        """The letters for every post invoice not printed yet, as one PDF, marked
        printed in the same transaction: a failed render marks nothing, and two
        clerks printing at once never get the same letter twice."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            claimed = (
                await session.scalars(
                    update(Invoice)
                    .where(
                        Invoice.delivery == InvoiceDelivery.POST.value,
                        Invoice.printed_at.is_(None),
                    )
                    .values(printed_at=now)
                    .returning(Invoice.id)
                )
            ).all()
            if not claimed:
                return PrintBatch((), None)
            rows = (
                await session.execute(
                    select(Invoice, Case)
                    .join(Case, Case.id == Invoice.case_id)
                    .where(Invoice.id.in_(claimed))
                    .order_by(Invoice.year, Invoice.sequence)
                    .execution_options(populate_existing=True)
                )
            ).all()
            invoices = tuple(self._view(invoice, case) for invoice, case in rows)
            pdf = await asyncio.to_thread(letters_pdf, invoices, self.office.town)
            audit.record(
                session,
                now,
                actor,
                "invoice.printed",
                "invoices",
                numbers=[invoice.number for invoice in invoices],
            )
        return PrintBatch(invoices, pdf)

    # -- helpers -----------------------------------------------------------------------

    def _view(self, invoice: Invoice, case: Case) -> InvoiceView:
        service = self.office.town.service(case.service_id)
        return InvoiceView(
            id=invoice.id,
            case_id=case.id,
            case_reference=case.reference,
            service_name=service.name if service is not None else case.service_id,
            quantity=case.quantity,
            unit_fee_cents=case.unit_fee_cents,
            number=invoice.number,
            payment_reference=invoice.payment_reference,
            amount_cents=invoice.amount_cents,
            issued_on=invoice.issued_on,
            due_on=invoice.due_on,
            delivery=InvoiceDelivery(invoice.delivery),
            recipient_name=invoice.recipient_name,
            recipient_address=tuple(invoice.recipient_address),
            recipient_email=invoice.recipient_email,
            printed_at=invoice.printed_at,
            created_at=invoice.created_at,
        )

    async def _reader(self, session: AsyncSession, case: Case, email: str) -> tuple[str, str]:
        """The citizen's personal link, only into the mailbox that booked it (the link
        opens the appointment, so it never goes to a different address), and the
        language the appointment was booked in (German for a case without one)."""
        if case.appointment_id is None:
            return "", SOURCE_LANGUAGE
        appointment = await session.get(Appointment, case.appointment_id)
        if appointment is None:
            return "", SOURCE_LANGUAGE
        if (
            appointment.email is None
            or appointment.personal_data_deleted_at is not None
            or appointment.email.casefold() != email.casefold()
        ):
            return "", appointment.language
        return self.office.links(appointment).join, appointment.language

    def _enqueue_mail(
        self,
        session: AsyncSession,
        invoice: InvoiceView,
        email: str,
        pdf: bytes,
        status_url: str,
        language: str,
        now: datetime,
    ) -> None:
        message = compose_invoice(
            town=self.office.town,
            settings=self.office.mail,
            to=email,
            context={
                "name": invoice.recipient_name,
                "number": invoice.number,
                "case_reference": invoice.case_reference,
                "service_name": invoice.service_name,
                "amount": format_euros(invoice.amount_cents, language),
                "due": invoice.due_on.strftime("%d.%m.%Y"),
                "payment_reference": invoice.payment_reference,
                "status_url": status_url,
            },
            pdf=pdf,
            filename=f"Rechnung-{invoice.number}.pdf",
            message_key=invoice.number,
            now=now,
            language=language,
        )
        enqueue(session, MailKind.INVOICE, message, now)


def _recipient(
    delivery: InvoiceDelivery, name: str, address: Sequence[str], email: str | None
) -> tuple[str, tuple[str, ...], str | None]:
    """The recipient, checked: an address fit for the window envelope for the post,
    a valid mail address for delivery by mail."""
    problems: dict[str, str] = {}
    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        problems["recipient_name"] = "Bitte den Namen angeben."
    lines = tuple(" ".join(line.split()) for line in address if line.strip())
    if len(lines) > ADDRESS_LINES or any(len(line) > ADDRESS_LINE_LENGTH for line in lines):
        problems["recipient_address"] = (
            f"Höchstens {ADDRESS_LINES} Zeilen zu je {ADDRESS_LINE_LENGTH} Zeichen."
        )
    elif delivery is InvoiceDelivery.POST and len(lines) < 2:
        problems["recipient_address"] = "Bitte Straße und Ort angeben."
    checked: str | None = None
    if email is not None and email.strip():
        try:
            checked = validate_email(email.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            problems["recipient_email"] = "Bitte eine gültige E-Mail-Adresse angeben."
    elif delivery is InvoiceDelivery.EMAIL:
        problems["recipient_email"] = "Bitte eine E-Mail-Adresse angeben."
    if problems:
        raise InvalidInput(problems)
    return name, lines, checked


async def _check_invoiceable(session: AsyncSession, case: Case, delivery: InvoiceDelivery) -> None:
    existing = await session.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.case_id == case.id)
    )
    if existing:
        raise InvoiceExists()
    if CaseState(case.state) is not CaseState.PAYMENT_PENDING:
        raise NotInvoiceable("Eine Rechnung gibt es erst, wenn der Vorgang auf Zahlung wartet.")
    method = PaymentMethod(case.payment_method) if case.payment_method else None
    if method not in _METHOD.values():
        raise NotInvoiceable("Für diesen Vorgang wurde nicht Zahlung per Rechnung gewählt.")
    if _METHOD[delivery] is not method:
        raise InvalidInput({"delivery": "Der Versandweg passt nicht zur gewählten Zahlungsart."})
    if case.fee_cents <= 0:
        raise NotInvoiceable("Für diesen Vorgang fällt keine Gebühr an.")


async def _next_sequence(session: AsyncSession, year: int) -> int:
    """The year's next number: read-modify-write of its counter row, in the caller's
    transaction. The row is created first if missing; two creators racing both pass
    (ON CONFLICT DO NOTHING) and then queue on the row lock."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(InvoiceCounter).values(year=year, last_number=0).on_conflict_do_nothing()
    )
    counter = await session.scalar(
        select(InvoiceCounter)
        .where(InvoiceCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if counter is None:  # cannot happen: inserted above or by a committed racer
        raise RuntimeError(f"no invoice counter for {year}")
    counter.last_number += 1
    await session.flush()
    return counter.last_number
