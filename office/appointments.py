"""Booking, opening, moving and cancelling appointments.

Every change happens in one transaction together with its audit entry and the mail
that reports it (see ``office.outbox``), so the three never disagree.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from office import audit
from office.booking_request import BookingRequest
from office.catalogue import Service, Town
from office.erasure import due_for_erasure
from office.errors import (
    AppointmentClosed,
    AppointmentInProgress,
    InvalidInput,
    NotFound,
    SlotTaken,
    SlotUnavailable,
    TokenExpired,
    TokenInvalid,
)
from office.hours import Window, office_windows
from office.mail import Links, MailKind, MailSettings, compose
from office.models import Appointment, AppointmentStatus, BookedUnit
from office.outbox import enqueue
from office.schedule import day_slots, special_hours_on
from office.slots import Slot, slot_starts, unit_starts
from office.tokens import Audience, Signer

log = logging.getLogger(__name__)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
# A call still open in the database this long after the appointment's end is taken
# as one whose end was never recorded (a node died mid-call): it no longer holds the
# appointment against the citizen's own changes.
CALL_OVERRUN = timedelta(hours=2)
# How long past the retention period a link's signature stays valid. What ends a link
# is the erasure of its appointment's data (checked on every use); this only bounds a
# link whose appointment's cases run on for months.
LINK_BACKSTOP = timedelta(days=90)


class Closed(StrEnum):
    """Why an appointment can no longer be served: its waiting room place goes."""

    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # a new time: the citizen checks in again then
    DATA_DELETED = "data_deleted"
    NO_SHOW = "no_show"


# Told after an appointment closed, once its transaction committed (the live rooms
# take it out of the waiting room and tell the citizen's open page).
ClosedHook = Callable[[str, Closed], Awaitable[None]]


def in_call(appointment: Appointment, now: datetime) -> bool:
    """Whether a clerk is serving the appointment right now (as the database knows:
    a call started and neither ended nor handed back to the waiting room)."""
    return (
        appointment.clerk_id is not None
        and appointment.call_ended_at is None
        and now < appointment.ends_at + CALL_OVERRUN
    )


def servable(appointment: Appointment) -> bool:
    """Whether a clerk may take the appointment from the waiting room now."""
    return (
        appointment.status == AppointmentStatus.BOOKED
        and appointment.personal_data_deleted_at is None
        and appointment.checked_in_at is not None
        and appointment.call_ended_at is None
    )


def new_reference() -> str:
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    join_token: str


class Appointments:
    """The booking desk. One instance per app; safe to share between requests."""

    def __init__(
        self,
        town: Town,
        sessions: async_sessionmaker[AsyncSession],
        signer: Signer,
        mail: MailSettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        mail_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.town = town
        # Called after a transaction that queued mail has committed (wakes the sender).
        self.mail_queued = mail_queued
        self.sessions = sessions
        self.signer = signer
        self.mail = mail
        self.now = now
        self.closed_hooks: list[ClosedHook] = []

    async def tell_closed(self, appointment_id: str, why: Closed) -> None:
        """Run the hooks for an appointment that closed (after its commit). A hook that
        fails is logged: the change stands, and the waiting room re-checks every
        appointment before a clerk gets it."""
        for hook in self.closed_hooks:
            try:
                await hook(appointment_id, why)
            except Exception:
                log.exception("appointment %s closed (%s): a hook failed", appointment_id, why)

    # -- reading -----------------------------------------------------------------

    def service(self, service_id: str) -> Service:
        service = self.town.service(service_id)
        if service is None:
            raise NotFound("Dieses Anliegen gibt es nicht.")
        return service

    async def slots(self, service_id: str, day: date) -> list[Slot]:
        service = self.service(service_id)
        async with self.sessions() as session:
            return await day_slots(session, self.town, service, day, self.now())

    async def days_with_slots(self, service_id: str, first: date, count: int) -> list[date]:
        """Of ``count`` days from ``first``, those with at least one free slot."""
        service = self.service(service_id)
        now = self.now()
        days = []
        async with self.sessions() as session:
            for offset in range(count):
                day = first + timedelta(days=offset)
                if await day_slots(session, self.town, service, day, now):
                    days.append(day)
        return days

    async def get(self, appointment_id: str) -> Appointment:
        async with self.sessions() as session:
            appointment = await session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound()
        return appointment

    def checkin_window(self, appointment: Appointment) -> Window:
        rules = self.town.booking
        return Window(
            appointment.starts_at - timedelta(minutes=rules.checkin_before_minutes),
            appointment.starts_at + timedelta(minutes=rules.checkin_after_minutes),
        )

    # -- tokens ------------------------------------------------------------------

    def _token_expiry(self, appointment: Appointment) -> datetime:
        """A backstop: a link opens its appointment while the personal data is kept
        (``open_token`` asks ``office.erasure``), which a running case prolongs beyond
        the usual period; links in later mails (a case's news) are issued later."""
        start = max(appointment.ends_at, self.now())
        return start + timedelta(days=self.mail.retention_days) + LINK_BACKSTOP

    def issue_token(self, appointment: Appointment, audience: Audience) -> str:
        return self.signer.issue(
            audience, appointment.id, self._token_expiry(appointment), tid=appointment.token_id
        )

    async def open_token(self, token: str, audience: Audience) -> Appointment:
        """The live appointment a link or cookie belongs to.

        Tampered, expired, superseded (rescheduled), cancelled and purged all fail
        the same way, so a link reveals nothing about the appointment behind it.
        """
        try:
            claims = self.signer.verify(audience, token)
        except TokenExpired:
            raise TokenInvalid() from None  # "expired" would confirm the token was genuine
        async with self.sessions() as session:
            appointment = await session.get(Appointment, str(claims["sub"]))
            if (
                appointment is None
                or appointment.token_id != claims.get("tid")
                or appointment.status == AppointmentStatus.CANCELLED
                or appointment.personal_data_deleted_at is not None
                or await self._due_for_erasure(session, appointment)
            ):
                raise TokenInvalid()
        return appointment

    async def _due_for_erasure(self, session: AsyncSession, appointment: Appointment) -> bool:
        if appointment.ends_at + timedelta(days=self.mail.retention_days) >= self.now():
            return False  # within the usual period: kept, whatever its cases
        due = await session.scalar(
            select(Appointment.id).where(
                Appointment.id == appointment.id,
                due_for_erasure(self.now(), self.mail.retention_days),
            )
        )
        return due is not None

    def links(self, appointment: Appointment) -> Links:
        base = self.mail.public_url.rstrip("/")
        token = self.issue_token(appointment, Audience.JOIN_LINK)
        return Links(
            join=f"{base}/t/{token}", delete=f"{base}/t/{token}?next=loeschen", booking=f"{base}/"
        )

    def enqueue_mail(
        self,
        session: AsyncSession,
        kind: MailKind,
        appointment: Appointment,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue a mail about the appointment in the caller's transaction."""
        message = compose(
            kind,
            town=self.town,
            settings=self.mail,
            appointment=appointment,
            service=self.service(appointment.service_id),
            links=self.links(appointment),
            now=self.now(),
            extra=extra,
        )
        enqueue(session, kind, message, self.now(), appointment.id)

    # -- changing ----------------------------------------------------------------

    async def _claim_slot(
        self, session: AsyncSession, appointment: Appointment, service: Service, start: datetime
    ) -> None:
        """Hold a clerk's time for the appointment, or raise SlotTaken/SlotUnavailable.

        Candidates are tried one after another, each in a savepoint: the unique
        (clerk, unit) constraint decides races between concurrent bookings.
        """
        local_day = start.astimezone(self.town.tz).date()
        slots = await day_slots(session, self.town, service, local_day, self.now())
        slot = next((s for s in slots if s.starts_at == start), None)
        if slot is None:
            raise (
                SlotUnavailable()
                if not await self._in_schedule(session, service, start)
                else SlotTaken()
            )
        end = start + timedelta(minutes=service.duration_minutes)
        units = unit_starts(start, end, timedelta(minutes=self.town.booking.unit_minutes))
        for clerk_id in slot.clerk_ids:
            try:
                async with session.begin_nested():
                    session.add_all(
                        BookedUnit(appointment_id=appointment.id, unit_start=u, clerk_id=clerk_id)
                        for u in units
                    )
                    await session.flush()
            except IntegrityError:
                continue
            return
        raise SlotTaken()

    async def _in_schedule(self, session: AsyncSession, service: Service, start: datetime) -> bool:
        """Whether the slot exists at all, booked or not (to tell 'taken' from 'no such slot')."""
        local_day = start.astimezone(self.town.tz).date()
        now = self.now()
        if start < now + timedelta(minutes=self.town.booking.lead_minutes):
            return False
        if local_day > now.astimezone(self.town.tz).date() + timedelta(
            days=self.town.booking.horizon_days
        ):
            return False
        windows = office_windows(self.town, local_day, await special_hours_on(session, local_day))
        return start in slot_starts(windows, timedelta(minutes=service.duration_minutes))

    async def book(self, request: BookingRequest) -> Booked:
        service = self.town.service(request.service_id)
        if service is None:
            raise InvalidInput({"service_id": "Dieses Anliegen gibt es nicht."})
        now = self.now()
        appointment = Appointment(
            id=str(uuid.uuid4()),
            reference=new_reference(),
            service_id=service.id,
            starts_at=request.starts_at,
            ends_at=request.starts_at + timedelta(minutes=service.duration_minutes),
            status=AppointmentStatus.BOOKED,
            language=request.language,
            name=request.name,
            email=request.email,
            phone=request.phone,
            token_id=secrets.token_hex(8),
            created_at=now,
        )
        async with self.sessions() as session, session.begin():
            session.add(appointment)
            await session.flush()
            await self._claim_slot(session, appointment, service, request.starts_at)
            audit.record(
                session,
                now,
                audit.CITIZEN,
                "appointment.booked",
                f"appointment:{appointment.id}",
                service=service.id,
            )
            self.enqueue_mail(session, MailKind.CONFIRMATION, appointment)
        self.mail_queued()
        return Booked(appointment, self.issue_token(appointment, Audience.JOIN_LINK))

    async def _live(self, session: AsyncSession, appointment_id: str) -> Appointment:
        """The appointment, locked, if the citizen may still change it. The lock is what
        orders a change against a clerk taking the citizen from the waiting room."""
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.personal_data_deleted_at is not None:
            raise NotFound()
        now = self.now()
        if appointment.status == AppointmentStatus.CANCELLED or appointment.ends_at <= now:
            raise AppointmentClosed()
        if in_call(appointment, now):
            raise AppointmentInProgress()
        return appointment

    async def cancel(self, appointment_id: str, actor: str = audit.CITIZEN) -> Appointment:
        now = self.now()
        async with self.sessions() as session, session.begin():
            appointment = await self._live(session, appointment_id)
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = now
            await session.execute(
                delete(BookedUnit).where(BookedUnit.appointment_id == appointment.id)
            )
            audit.record(
                session, now, actor, "appointment.cancelled", f"appointment:{appointment.id}"
            )
            self.enqueue_mail(session, MailKind.CANCELLATION, appointment)
        self.mail_queued()
        await self.tell_closed(appointment.id, Closed.CANCELLED)
        return appointment

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Booked:
        """Move to another slot of the same service; the old link stops working."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            appointment = await self._live(session, appointment_id)
            service = self.service(appointment.service_id)
            await session.execute(
                delete(BookedUnit).where(BookedUnit.appointment_id == appointment.id)
            )
            await self._claim_slot(session, appointment, service, starts_at)
            old_start = appointment.starts_at
            appointment.starts_at = starts_at
            appointment.ends_at = starts_at + timedelta(minutes=service.duration_minutes)
            appointment.token_id = secrets.token_hex(8)
            appointment.reminder_queued_at = None
            appointment.checked_in_at = None  # a check-in was for the old time
            audit.record(
                session,
                now,
                audit.CITIZEN,
                "appointment.rescheduled",
                f"appointment:{appointment.id}",
                moved_by_minutes=int((starts_at - old_start).total_seconds() // 60),
            )
            self.enqueue_mail(session, MailKind.CONFIRMATION, appointment)
        self.mail_queued()
        await self.tell_closed(appointment.id, Closed.RESCHEDULED)
        return Booked(appointment, self.issue_token(appointment, Audience.JOIN_LINK))
