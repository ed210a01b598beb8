"""Clerks and admins, their skills and hours, the office's special hours, staff sessions."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.models.base import Base


class Role(StrEnum):
    CLERK = "clerk"
    ADMIN = "admin"
    # The data-protection officer: reads the audit log, nothing else.
    DPO = "dpo"


class Clerk(Base):
    """A staff account: a clerk or an admin."""

    __tablename__ = "clerks"
    # One account per person at the town's OpenID provider: the subject is unique
    # only together with its issuer (OpenID Connect Core, 5.7).
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject", name="uq_clerks_sso"),)

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
    # The nonce of the one enrolment link that works (office.enrolment): a new link,
    # or setting the password, ends the older ones. NULL when none is open.
    enrolment_nonce: Mapped[str | None] = mapped_column(String(32))
    # Set for an account that signs in through single sign-on (office.sso_accounts).
    sso_issuer: Mapped[str | None] = mapped_column(String(255))
    sso_subject: Mapped[str | None] = mapped_column(String(255))

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


class Absence(Base):
    """A time a clerk does not work (leave, illness, training): their seat is gone."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Never the reason: a sick day is health data. Only what the admin needs to tell
    # two entries apart ("Urlaub", "Fortbildung").
    note: Mapped[str] = mapped_column(String(80), default="")


class Closure(Base):
    """The office closed on one date, all day (``start`` NULL) or from ``start`` to ``end``."""

    __tablename__ = "closures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    start: Mapped[time | None] = mapped_column(Time)
    end: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(200), default="")


class StaffSession(Base):
    """A logged-in clerk or admin. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
