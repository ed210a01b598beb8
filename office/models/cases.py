"""Cases (one service handled for one appointment), their timeline, invoices and payments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.models.base import Base


class CaseState(StrEnum):
    """Where a case (``Case.state``) stands; ``office.cases`` holds its transitions."""

    OPEN = "open"
    VERIFIED = "verified"  # identity verified in the call (where the service needs it)
    PAYMENT_PENDING = "payment_pending"
    PAID = "paid"
    WAIVED = "waived"  # no fee charged, with a reason
    IN_FULFILMENT = "in_fulfilment"
    POSTED = "posted"  # the town posted the document
    FORWARDED = "forwarded"  # transmitted to the Bundeszentralregister
    CLOSED = "closed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Case(Base):
    """A Vorgang: one service handled in a call, from opening to the document posted.

    Its state changes only through ``office.cases`` (checked transitions, each in
    ``case_events`` and the audit log). Fees are integer cents, fixed when opened.
    """

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # shown to the citizen
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL", name="fk_cases_appointment_id"),
        index=True,
    )
    service_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_fee_cents: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(Integer)  # unit fee x quantity
    state: Mapped[str] = mapped_column(String(24), index=True)
    payment_method: Mapped[str | None] = mapped_column(String(16))  # invoice_email, …
    reason: Mapped[str | None] = mapped_column(String(300))  # waived, cancelled, failed
    bzr_reference: Mapped[str | None] = mapped_column(String(64))
    posted_on: Mapped[date | None] = mapped_column(Date)
    opened_by: Mapped[int | None] = mapped_column(
        ForeignKey("clerks.id", ondelete="SET NULL", name="fk_cases_opened_by")
    )
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]

    events: Mapped[list[CaseEvent]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CaseEvent.id",
        passive_deletes=True,
    )


class CaseEvent(Base):
    """One step of a case's timeline (what the citizen's status page shows)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_events_case_id"), index=True
    )
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(24))  # the state entered
    actor: Mapped[str] = mapped_column(String(64))  # "clerk:3", "paypal", "bank", "system"
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)  # never personal data


class InvoiceCounter(Base):
    """The last invoice number given out per year: numbers are gapless per year, and
    the row lock (or SQLite's write lock) serialises concurrent invoices."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    """An invoice for one case. The recipient's name and address are kept here because
    the invoice must be reproducible for as long as the law keeps accounting records,
    after the appointment's personal data is purged."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT", name="fk_invoices_case_id"), unique=True
    )
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # e.g. "2026-000042"
    payment_reference: Mapped[str] = mapped_column(String(35), unique=True)  # RF creditor ref
    amount_cents: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    delivery: Mapped[str] = mapped_column(String(8))  # email or post
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_address: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    printed_at: Mapped[datetime | None]  # put in a batch of letters for the post
    created_at: Mapped[datetime]


class Payment(Base):
    """Money received for a case. ``external_id`` (PayPal's capture id, the bank
    entry's reference) makes every source idempotent: a second delivery is a no-op."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT", name="fk_payments_case_id"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # paypal, bank, clerk
    external_id: Mapped[str] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_payments_source_external_id"),
    )


class PaypalOrder(Base):
    """A PayPal order (Orders v2) created for a case's fee."""

    __tablename__ = "paypal_orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # PayPal's order id
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT", name="fk_paypal_orders_case_id"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24))  # CREATED, APPROVED, COMPLETED, …
    approve_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BankEntry(Base):
    """A credit from an imported camt.053 statement. Matched entries became payments;
    partial and unmatched ones wait here for a clerk, never guessed."""

    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_reference: Mapped[str] = mapped_column(String(100), unique=True)  # AcctSvcrRef
    statement_id: Mapped[str] = mapped_column(String(100))
    booked_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    remittance: Mapped[str] = mapped_column(String(300))  # what the payer wrote
    # Not EUR: never booked (amount_cents then counts that currency's hundredths).
    currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")
    debtor_name: Mapped[str | None] = mapped_column(String(140))  # for the clerk; never logged
    # matched, partial, unmatched; assigned or handled once a clerk resolved it
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(32))  # why not matched (a code)
    note: Mapped[str | None] = mapped_column(String(300))  # the clerk's, when resolved
    case_id: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL", name="fk_bank_entries_case_id")
    )
    imported_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
