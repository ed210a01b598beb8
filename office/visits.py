"""The visit: check-in to the waiting room, the call, no-shows, the day's list.

The live queue is in ``rooms``; this records what happened, for the clerk console,
the statistics and the citizen's own page.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from office import audit
from office.appointments import servable
from office.context import Closed, Office
from office.errors import CheckinClosed, CheckinNotOpen, NotFound
from office.hours import local_day_bounds
from office.models import Appointment, AppointmentStatus
from office.statistics_record import Kind, note, note_held
from office.statistics_record import local_day as stat_day


@dataclass(frozen=True)
class DayEntry:
    """One line of the clerk console's list of the day's appointments."""

    appointment_id: str
    reference: str
    service_id: str
    starts_at: datetime
    status: str  # booked, checked_in, completed, no_show, cancelled
    name: str | None


class Visits:
    def __init__(self, office: Office) -> None:
        self.office = office

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.office.sessions

    @property
    def now(self) -> Callable[[], datetime]:
        return self.office.now

    async def check_in(self, appointment_id: str) -> Appointment:
        """Record the first check-in; later ones (reconnects) keep its time."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            appointment = await session.get(Appointment, appointment_id, with_for_update=True)
            if appointment is None or appointment.personal_data_deleted_at is not None:
                raise NotFound()
            if appointment.status != AppointmentStatus.BOOKED or appointment.call_ended_at:
                raise CheckinClosed()
            window = self.office.checkin_window(appointment)
            if appointment.checked_in_at is None:
                if now < window.start:
                    raise CheckinNotOpen()
                if now >= window.end:
                    raise CheckinClosed()
                appointment.checked_in_at = now
                audit.record(
                    session, now, audit.CITIZEN, "visit.checked_in", f"appointment:{appointment.id}"
                )
        return appointment

    async def call_started(self, appointment_id: str, clerk_id: int, booked_for: float) -> bool:
        """Record that the clerk took the citizen, if the appointment may still be
        served (booked for ``booked_for``, checked in, not cancelled, moved or deleted);
        False, and nothing recorded, when it may not. The row lock orders this against
        the citizen's own cancel, move or deletion: whichever comes second sees the
        first (a change during the call is refused, see ``appointments.in_call``)."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            appointment = await session.get(Appointment, appointment_id, with_for_update=True)
            if (
                appointment is None
                or not servable(appointment)
                # (to the millisecond, as the room store keeps times)
                or round(appointment.starts_at.timestamp(), 3) != booked_for
            ):
                return False
            if appointment.call_started_at is None:
                appointment.call_started_at = now
            appointment.clerk_id = clerk_id
            audit.record(
                session,
                now,
                audit.staff_actor(clerk_id),
                "visit.call_started",
                f"appointment:{appointment.id}",
            )
        return True

    async def call_returned(self, appointment_id: str) -> None:
        """The citizen is back in the waiting room (sent back, or the clerk was lost):
        no clerk serves the appointment now, so the citizen may change it again."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Appointment)
                .where(Appointment.id == appointment_id, Appointment.call_ended_at.is_(None))
                .values(clerk_id=None)
            )

    async def waiting_allowed(self, appointment_id: str) -> bool:
        """Whether the appointment may (still) have a place in the waiting room."""
        async with self.sessions() as session:
            appointment = await session.get(Appointment, appointment_id)
        return appointment is not None and servable(appointment)

    async def call_finished(self, appointment_id: str, clerk_id: int) -> None:
        now = self.now()
        async with self.sessions() as session, session.begin():
            appointment = await session.get(Appointment, appointment_id, with_for_update=True)
            if appointment is None:
                raise NotFound()
            held_now = appointment.status == AppointmentStatus.BOOKED
            appointment.call_ended_at = now
            appointment.status = AppointmentStatus.COMPLETED
            if held_now:  # counted once, whoever ends it how often
                await note_held(session, self.office.town, appointment)
            audit.record(
                session,
                now,
                audit.staff_actor(clerk_id),
                "visit.call_ended",
                f"appointment:{appointment.id}",
            )

    async def mark_no_shows(self, grace: timedelta) -> list[str]:
        """Appointments nobody checked in to within ``grace`` after their start. A page
        of theirs that is still open is told (the appointment's closed hooks)."""
        now = self.now()
        due = (
            (Appointment.status == AppointmentStatus.BOOKED)
            & Appointment.checked_in_at.is_(None)
            & (Appointment.starts_at < now - grace)
            & (Appointment.starts_at > now - timedelta(days=1))
        )
        async with self.sessions() as session, session.begin():
            # One statement finds and marks them: what is counted is what was marked.
            rows = (
                await session.execute(
                    update(Appointment)
                    .where(due)
                    .values(status=AppointmentStatus.NO_SHOW)
                    .returning(Appointment.id, Appointment.service_id, Appointment.starts_at)
                )
            ).all()
            ids = [row.id for row in rows]
            for row in rows:
                day = stat_day(self.office.town, row.starts_at)
                note(session, day, row.service_id, Kind.NO_SHOW)
            if ids:
                audit.record(
                    session, now, audit.SYSTEM, "visit.no_shows", "appointments", count=len(ids)
                )
        for appointment_id in ids:
            await self.office.tell_closed(appointment_id, Closed.NO_SHOW)
        return ids

    async def day(self, skills: Collection[str], day: date | None = None) -> Sequence[DayEntry]:
        """The day's appointments in time order, for the console of a clerk with these
        skills: only the services she can serve (least privilege: no other names)."""
        tz = self.office.town.tz
        bounds = local_day_bounds(day or self.now().astimezone(tz).date(), tz)
        services = [s.id for s in self.office.town.services if s.skill in skills]
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Appointment)
                    .where(
                        Appointment.starts_at >= bounds.start,
                        Appointment.starts_at < bounds.end,
                        Appointment.service_id.in_(services),
                    )
                    .order_by(Appointment.starts_at)
                )
            ).all()
        return [
            DayEntry(
                appointment_id=a.id,
                reference=a.reference,
                service_id=a.service_id,
                starts_at=a.starts_at,
                status="checked_in"
                if a.status == AppointmentStatus.BOOKED and a.checked_in_at
                else str(a.status),
                name=a.name,
            )
            for a in rows
        ]

    async def names(self, appointment_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Name and reference per appointment, for the clerk console."""
        found: dict[str, tuple[str, str]] = {}
        async with self.sessions() as session:
            for start in range(0, len(appointment_ids), 500):
                chunk = list(appointment_ids[start : start + 500])
                rows = await session.execute(
                    select(Appointment.id, Appointment.name, Appointment.reference).where(
                        Appointment.id.in_(chunk)
                    )
                )
                for appointment_id, name, reference in rows.all():
                    found[appointment_id] = (name or "", reference)
        return found

    async def phone(self, appointment_id: str) -> str | None:
        """The phone number the citizen gave at booking, for a call back."""
        async with self.sessions() as session:
            phone: str | None = await session.scalar(
                select(Appointment.phone).where(Appointment.id == appointment_id)
            )
        return phone or None

    async def started_at(self, appointment_id: str) -> datetime | None:
        async with self.sessions() as session:
            appointment = await session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound()
        return appointment.call_started_at

    @staticmethod
    def as_timestamp(moment: datetime) -> float:
        return moment.astimezone(UTC).timestamp()
