"""Appointments, the clerk time they hold, their mail outbox, the audit log, and
spent one-time tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.models.base import Base


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # the call took place
    NO_SHOW = "no_show"  # not checked in within the grace period


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
    # Whether the citizen gave feedback (once per appointment); not which one.
    feedback_given: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The clerk is absent or the office closed at this time and no colleague could take
    # it over: the citizen was mailed a link to choose a new time (office.absences).
    # Cleared when they do; until then the appointment is listed for the staff.
    rebooking_requested_at: Mapped[datetime | None]

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


class AuditEntry(Base):
    """Who did what to which record, when. Never personal data in ``detail``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)  # the DPO filters by
    subject: Mapped[str] = mapped_column(String(80), index=True)  # kind and record
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SpentToken(Base):
    """A one-time token that has been used (its ``jti``), kept until it would have
    expired anyway. Any node refuses a second use: the insert hits the primary key."""

    __tablename__ = "spent_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(64))
    spent_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class CallGuest(Base):
    """An interpreter or companion invited into one call by its clerk. The row is what
    makes the mailed or shown link good for one use and the guest's session end with
    the call or when the clerk removes them; it holds no personal data (the guest's
    name or address is never asked for)."""

    __tablename__ = "call_guests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the links' subject
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # interpreter | companion
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("clerks.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the link's, then the session's
    joined_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]


# -- cases, invoices and payments (after the call) ----------------------------------
