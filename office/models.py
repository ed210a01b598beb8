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
    totp_secret: Mapped[str | None] = mapped_column(String(64))
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
