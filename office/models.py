"""Database tables (SQLAlchemy 2 declarative, the same on SQLite and PostgreSQL).

Times are stored in UTC. ``UTCDateTime`` makes that hold on SQLite too, which keeps no
time zone: values go in as naive UTC and come back as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend; naive input is refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # the call took place
    NO_SHOW = "no_show"  # not checked in within the grace period


class Role(StrEnum):
    CLERK = "clerk"
    ADMIN = "admin"


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


class Appointment(Base):
    """A booked video appointment. Personal fields are emptied by the retention purge."""

    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED)
    language: Mapped[str] = mapped_column(String(2), default="de")
    # Personal data: NULL once purged (see office.retention).
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Rotated when a new link is mailed (reschedule): older links stop working.
    token_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    reminder_queued_at: Mapped[datetime | None]
    personal_data_deleted_at: Mapped[datetime | None]
    # The visit: first check-in to the waiting room, the call, who served.
    checked_in_at: Mapped[datetime | None]
    call_started_at: Mapped[datetime | None]
    call_ended_at: Mapped[datetime | None]
    clerk_id: Mapped[int | None] = mapped_column(
        ForeignKey("clerks.id", ondelete="SET NULL", name="fk_appointments_clerk_id")
    )

    units: Mapped[list[BookedUnit]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_appointments_starts_at", "starts_at"),)


class BookedUnit(Base):
    """One unit of one clerk's time held by an appointment.

    The unique constraint on (clerk, unit) is what makes double booking impossible:
    two transactions racing for the same capacity cannot both commit. The clerk is
    only an accounting seat: whoever is free serves the citizen on the day.
    """

    __tablename__ = "booked_units"

    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    unit_start: Mapped[datetime] = mapped_column(primary_key=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id", ondelete="CASCADE"))

    appointment: Mapped[Appointment] = relationship(back_populates="units")

    __table_args__ = (UniqueConstraint("clerk_id", "unit_start", name="uq_booked_unit_seat"),)


class Clerk(Base):
    """A staff account: a clerk or an admin."""

    __tablename__ = "clerks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.CLERK)
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(200))  # sealed (office.sealed)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    skills: Mapped[list[ClerkSkill]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )
    hours: Mapped[list[ClerkHours]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )


class ClerkSkill(Base):
    __tablename__ = "clerk_skills"

    clerk_id: Mapped[int] = mapped_column(
        ForeignKey("clerks.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(64), primary_key=True)


class ClerkHours(Base):
    """A clerk's weekly working time (local time of the town)."""

    __tablename__ = "clerk_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)


class SpecialHours(Base):
    """Extra virtual hours on one date; they open the office even on a holiday."""

    __tablename__ = "special_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(200), default="")


class StaffSession(Base):
    """A logged-in clerk or admin. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class OutboxMail(Base):
    """A mail waiting to be delivered (transactional outbox).

    Written in the same transaction as the change it reports, so a booking never
    exists without its confirmation, nor the other way round. The rendered message
    is dropped once delivered: personal data does not linger here.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "failed_at"),)


class VerificationRecord(Base):
    """The identity check of one appointment: checklist, outcome, who and when.

    Never holds the answers to security questions nor the one-time code itself (only
    its hash); ID captures live in ``captures``, encrypted.
    """

    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("clerks.id", ondelete="SET NULL"))
    document_type: Mapped[str | None] = mapped_column(String(32))
    security_features: Mapped[list[str]] = mapped_column(JSON, default=list)
    otp_hash: Mapped[str | None] = mapped_column(String(64))
    otp_expires_at: Mapped[datetime | None]
    otp_attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    steps: Mapped[list[VerificationStep]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="VerificationStep.id",
        passive_deletes=True,
    )


class VerificationStep(Base):
    """One timestamped entry of a verification's step log."""

    __tablename__ = "verification_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verification_id: Mapped[str] = mapped_column(
        ForeignKey("verifications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    step: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Capture(Base):
    """An ID-document or face capture of a verification, encrypted (AES-GCM).

    Only ciphertext is stored; the image inside is already marked "KOPIE" (and the
    card access number blacked out), as the law on ID-card copies asks.
    """

    __tablename__ = "captures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    verification_id: Mapped[str] = mapped_column(
        ForeignKey("verifications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # front, back, face, tilt_a, tilt_b
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)


class AuditEntry(Base):
    """Who did what to which record, when. Never personal data in ``detail``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SpentToken(Base):
    """A one-time token that has been used (its ``jti``), kept until it would have
    expired anyway. Any node refuses a second use: the insert hits the primary key."""

    __tablename__ = "spent_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(64))
    spent_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


# -- cases, invoices and payments (after the call) ----------------------------------


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
