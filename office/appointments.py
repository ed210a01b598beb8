"""Booking, opening, moving and cancelling appointments.

Every change happens in one transaction together with its audit entry and the mail
that reports it (see ``office.outbox``), so the three never disagree.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import N_
from office import audit
from office.booking_request import BookingRequest
from office.catalogue import Service
from office.context import Closed, Office
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
from office.mail import MailKind
from office.models import Appointment, AppointmentStatus, BookedUnit
from office.schedule import day_slots, open_windows
from office.slots import Slot, slot_starts, unit_starts
from office.statistics_record import Kind, local_day, note, note_appointment
from office.tokens import Audience

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
# A call still open in the database this long after the appointment's end is taken
# as one whose end was never recorded (a node died mid-call): it no longer holds the
# appointment against the citizen's own changes.
CALL_OVERRUN = timedelta(hours=2)


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

    def __init__(self, office: Office) -> None:
        self.office = office

    # -- reading -----------------------------------------------------------------

    async def slots(self, service_id: str, day: date) -> list[Slot]:
        """Free slots of a service offered for booking."""
        service = self.office.service(service_id)
        return await self.slots_of(service, day) if service.bookable else []

    async def slots_of(self, service: Service, day: date) -> list[Slot]:
        """Free slots for this service's terms (a reschedule keeps the booked duration)."""
        async with self.office.sessions() as session:
            return await day_slots(session, self.office.town, service, day, self.office.now())

    async def days_with_slots(self, service: Service, first: date, count: int) -> list[date]:
        """Of ``count`` days from ``first``, those with at least one free slot."""
        now = self.office.now()
        days = []
        async with self.office.sessions() as session:
            for offset in range(count):
                day = first + timedelta(days=offset)
                if await day_slots(session, self.office.town, service, day, now):
                    days.append(day)
        return days

    async def get(self, appointment_id: str) -> Appointment:
        async with self.office.sessions() as session:
            appointment = await session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound()
        return appointment

    # -- tokens ------------------------------------------------------------------

    async def open_token(self, token: str, audience: Audience) -> Appointment:
        """The live appointment a link or cookie belongs to.

        Tampered, expired, superseded (rescheduled), cancelled and purged all fail
        the same way, so a link reveals nothing about the appointment behind it.
        """
        try:
            claims = self.office.signer.verify(audience, token)
        except TokenExpired:
            raise TokenInvalid() from None  # "expired" would confirm the token was genuine
        async with self.office.sessions() as session:
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
        if appointment.ends_at + self.office.retention >= self.office.now():
            return False  # within the usual period: kept, whatever its cases
        due = await session.scalar(
            select(Appointment.id).where(
                Appointment.id == appointment.id,
                due_for_erasure(self.office.now(), self.office.mail.retention_days),
            )
        )
        return due is not None

    # -- changing ----------------------------------------------------------------

    async def _claim_slot(
        self, session: AsyncSession, appointment: Appointment, service: Service, start: datetime
    ) -> None:
        """Hold a clerk's time for the appointment, or raise SlotTaken/SlotUnavailable.

        Candidates are tried one after another, each in a savepoint: the unique
        (clerk, unit) constraint decides races between concurrent bookings.
        """
        local_day = start.astimezone(self.office.town.tz).date()
        slots = await day_slots(session, self.office.town, service, local_day, self.office.now())
        slot = next((s for s in slots if s.starts_at == start), None)
        if slot is None:
            raise (
                SlotUnavailable()
                if not await self._in_schedule(session, service, start)
                else SlotTaken()
            )
        end = start + timedelta(minutes=service.duration_minutes)
        units = unit_starts(start, end, timedelta(minutes=self.office.town.booking.unit_minutes))
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
        local_day = start.astimezone(self.office.town.tz).date()
        now = self.office.now()
        if start < now + timedelta(minutes=self.office.town.booking.lead_minutes):
            return False
        if local_day > now.astimezone(self.office.town.tz).date() + timedelta(
            days=self.office.town.booking.horizon_days
        ):
            return False
        windows = await open_windows(session, self.office.town, local_day)
        return start in slot_starts(windows, timedelta(minutes=service.duration_minutes))

    async def book(self, request: BookingRequest) -> Booked:
        service = self.office.town.service(request.service_id)
        if service is None or not service.bookable:
            raise InvalidInput({"service_id": "Dieses Anliegen gibt es nicht."})
        return await self._create(request, service, request.starts_at, walk_in=False)

    async def walk_in(self, request: BookingRequest) -> Booked:
        """An appointment starting now, for a service the town serves without booking
        (``walk_in`` in the town file). It holds no clerk's time: it goes straight to
        the waiting room, which the caller offers only while a clerk with the skill is
        on duty (the office does not know who is online). ``request.starts_at`` is
        ignored."""
        service = self.office.town.service(request.service_id)
        if service is None or not service.walk_in or not service.bookable:
            raise NotFound(N_("Für dieses Anliegen gibt es keine Beratung ohne Termin."))
        now = self.office.now().replace(second=0, microsecond=0)
        return await self._create(request, service, now, walk_in=True)

    async def _create(
        self, request: BookingRequest, service: Service, starts_at: datetime, *, walk_in: bool
    ) -> Booked:
        now = self.office.now()
        appointment = Appointment(
            id=str(uuid.uuid4()),
            reference=new_reference(),
            service_id=service.id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=service.duration_minutes),
            status=AppointmentStatus.BOOKED,
            language=request.language,
            name=request.name,
            email=request.email,
            phone=request.phone,
            token_id=secrets.token_hex(8),
            created_at=now,
        )
        async with self.office.sessions() as session, session.begin():
            session.add(appointment)
            await session.flush()
            if not walk_in:
                await self._claim_slot(session, appointment, service, starts_at)
            note_appointment(session, self.office.town, appointment, Kind.BOOKED)
            audit.record(
                session,
                now,
                audit.CITIZEN,
                "appointment.walked_in" if walk_in else "appointment.booked",
                f"appointment:{appointment.id}",
                service=service.id,
            )
            self.office.enqueue_mail(session, MailKind.CONFIRMATION, appointment)
        self.office.mail_queued()
        return Booked(appointment, self.office.issue_token(appointment, Audience.JOIN_LINK))

    async def _live(self, session: AsyncSession, appointment_id: str) -> Appointment:
        """The appointment, locked, if the citizen may still change it. The lock is what
        orders a change against a clerk taking the citizen from the waiting room."""
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.personal_data_deleted_at is not None:
            raise NotFound()
        now = self.office.now()
        if appointment.status == AppointmentStatus.CANCELLED or appointment.ends_at <= now:
            raise AppointmentClosed()
        if in_call(appointment, now):
            raise AppointmentInProgress()
        return appointment

    async def cancel(self, appointment_id: str, actor: str = audit.CITIZEN) -> Appointment:
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            appointment = await self._live(session, appointment_id)
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = now
            await session.execute(
                delete(BookedUnit).where(BookedUnit.appointment_id == appointment.id)
            )
            note_appointment(session, self.office.town, appointment, Kind.CANCELLED)
            audit.record(
                session, now, actor, "appointment.cancelled", f"appointment:{appointment.id}"
            )
            self.office.enqueue_mail(session, MailKind.CANCELLATION, appointment)
        self.office.mail_queued()
        await self.office.tell_closed(appointment.id, Closed.CANCELLED)
        return appointment

    async def reschedule(self, appointment_id: str, starts_at: datetime) -> Booked:
        """Move to another slot of the same service; the old link stops working."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            appointment = await self._live(session, appointment_id)
            service = self.office.service_of(appointment)  # the duration it was booked with
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
            appointment.rebooking_requested_at = None  # chosen: off the staff's list
            _move_booking(session, self.office, old_start, appointment)
            audit.record(
                session,
                now,
                audit.CITIZEN,
                "appointment.rescheduled",
                f"appointment:{appointment.id}",
                moved_by_minutes=int((starts_at - old_start).total_seconds() // 60),
            )
            self.office.enqueue_mail(session, MailKind.CONFIRMATION, appointment)
        self.office.mail_queued()
        await self.office.tell_closed(appointment.id, Closed.RESCHEDULED)
        return Booked(appointment, self.office.issue_token(appointment, Audience.JOIN_LINK))


def _move_booking(
    session: AsyncSession, office: Office, old_start: datetime, moved: Appointment
) -> None:
    """The statistics count a booking on its appointment's day: a move to another
    day takes it from the old one."""
    old_day, new_day = local_day(office.town, old_start), local_day(office.town, moved.starts_at)
    if old_day != new_day:
        note(session, old_day, moved.service_id, Kind.BOOKED, count=-1)
        note(session, new_day, moved.service_id, Kind.BOOKED)
