"""Absences and closing days: capacity that disappears, and what was booked on it.

``office.schedule`` leaves absent clerks and closed hours out of the free slots. What
was booked before is handled here, in the transaction that enters the absence or the
closure: an absent clerk's appointment moves to a colleague with the service's skill
who works then and is free (the citizen keeps the time and is not bothered); one that
nobody can take, and every one in a closure, stays booked and its citizen is mailed a
link to choose a new time. It is never cancelled silently: it stays on the staff's
list (``to_rebook``) until the citizen has chosen or a clerk has settled it with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import N_
from office import audit
from office.context import Office
from office.errors import InvalidInput, NotFound
from office.hours import Window, local_day_bounds, to_utc
from office.mail import MailKind
from office.models import (
    Absence,
    Appointment,
    AppointmentStatus,
    BookedUnit,
    Clerk,
    Closure,
    SpecialHours,
)
from office.schedule import closure_window, open_windows, seats_on
from office.slots import unit_starts

NOTE_MAX = 80


@dataclass
class Handled:
    """What became of the appointments booked on the time that was taken away."""

    moved: list[str] = field(default_factory=list)  # appointment ids, same time, a colleague
    to_rebook: list[str] = field(default_factory=list)  # citizen mailed a rebooking link


def _note(text: str, limit: int = NOTE_MAX) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        raise InvalidInput({"note": N_("Die Notiz ist zu lang.")})
    return text


class Absences:
    def __init__(self, office: Office) -> None:
        self.office = office

    # -- absences ------------------------------------------------------------------

    async def add(
        self,
        clerk_id: int,
        first_day: date,
        last_day: date,
        *,
        start: time | None = None,
        end: time | None = None,
        note: str = "",
        actor: str,
    ) -> Handled:
        """The clerk is away from ``start`` on the first day (midnight without one) to
        ``end`` on the last (its end without one): whole days, or part of one."""
        tz = self.office.town.tz
        starts_at = to_utc(first_day, start or time(0), tz)
        ends_at = (
            to_utc(last_day, end, tz) if end is not None else local_day_bounds(last_day, tz).end
        )
        if ends_at <= starts_at:
            raise InvalidInput({"end": N_("Das Ende muss nach dem Beginn liegen.")})
        if last_day - first_day > timedelta(days=366):
            raise InvalidInput({"end": N_("Eine Abwesenheit dauert höchstens ein Jahr.")})
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            if await session.get(Clerk, clerk_id) is None:
                raise NotFound(N_("Dieses Konto gibt es nicht."))
            absence = Absence(
                clerk_id=clerk_id,
                starts_at=starts_at,
                ends_at=ends_at,
                created_at=now,
                note=_note(note),
            )
            session.add(absence)
            await session.flush()
            audit.record(session, now, actor, "absence.added", f"clerk:{clerk_id}", id=absence.id)
            held = await self._held(session, Window(max(starts_at, now), ends_at), clerk_id)
            handled = await self._hand_over(session, held, actor)
        self.office.mail_queued()
        return handled

    async def remove(self, absence_id: int, *, actor: str) -> None:
        """The absence is withdrawn: the time is bookable again. Appointments moved or
        mailed because of it stay as they are."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            absence = await session.get(Absence, absence_id)
            if absence is None:
                raise NotFound(N_("Diese Abwesenheit gibt es nicht."))
            await session.delete(absence)
            audit.record(
                session, now, actor, "absence.removed", f"clerk:{absence.clerk_id}", id=absence_id
            )

    async def upcoming(self) -> Sequence[Absence]:
        """Absences that have not ended yet, soonest first."""
        async with self.office.sessions() as session:
            return (
                await session.scalars(
                    select(Absence)
                    .where(Absence.ends_at > self.office.now())
                    .order_by(Absence.starts_at, Absence.id)
                )
            ).all()

    # -- closing days and special hours ----------------------------------------------

    async def close(
        self,
        day: date,
        *,
        start: time | None = None,
        end: time | None = None,
        note: str = "",
        actor: str,
    ) -> Handled:
        """Close the office on a date, all day or from ``start`` to ``end``."""
        if (start is None) != (end is None) or (start and end and end <= start):
            raise InvalidInput(
                {"end": N_("Bitte Beginn und Ende angeben (das Ende nach dem Beginn) oder keins.")}
            )
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            closure = Closure(day=day, start=start, end=end, note=_note(note, 200))
            session.add(closure)
            await session.flush()
            audit.record(session, now, actor, "closure.added", f"closure:{closure.id}")
            span = closure_window(self.office.town, closure)
            held = await self._held(session, Window(max(span.start, now), span.end))
            handled = Handled()
            for appointment in held:
                await self._ask_to_rebook(session, appointment, actor)
                handled.to_rebook.append(appointment.id)
        self.office.mail_queued()
        return handled

    async def reopen(self, closure_id: int, *, actor: str) -> None:
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            closure = await session.get(Closure, closure_id)
            if closure is None:
                raise NotFound(N_("Diese Schließung gibt es nicht."))
            await session.delete(closure)
            audit.record(session, now, actor, "closure.removed", f"closure:{closure_id}")

    async def add_special_hours(
        self, day: date, start: time, end: time, *, note: str = "", actor: str
    ) -> None:
        """Extra virtual hours on a date (they open the office even on a holiday)."""
        if end <= start:
            raise InvalidInput({"end": N_("Das Ende muss nach dem Beginn liegen.")})
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            hours = SpecialHours(day=day, start=start, end=end, note=_note(note, 200))
            session.add(hours)
            await session.flush()
            audit.record(session, now, actor, "special_hours.added", f"special_hours:{hours.id}")

    async def remove_special_hours(self, hours_id: int, *, actor: str) -> Handled:
        """Take extra hours back; what was booked in them must be rebooked."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            hours = await session.get(SpecialHours, hours_id)
            if hours is None:
                raise NotFound(N_("Diese Sonderöffnung gibt es nicht."))
            tz = self.office.town.tz
            span = Window(to_utc(hours.day, hours.start, tz), to_utc(hours.day, hours.end, tz))
            await session.delete(hours)
            audit.record(session, now, actor, "special_hours.removed", f"special_hours:{hours_id}")
            await session.flush()
            handled = Handled()
            # Only what the remaining hours no longer cover has lost its time.
            still_open = await open_windows(session, self.office.town, hours.day)
            for appointment in await self._held(session, Window(max(span.start, now), span.end)):
                if not any(
                    w.covers(appointment.starts_at, appointment.ends_at) for w in still_open
                ):
                    await self._ask_to_rebook(session, appointment, actor)
                    handled.to_rebook.append(appointment.id)
        self.office.mail_queued()
        return handled

    async def closures(self) -> Sequence[Closure]:
        today = self.office.now().astimezone(self.office.town.tz).date()
        async with self.office.sessions() as session:
            return (
                await session.scalars(
                    select(Closure).where(Closure.day >= today).order_by(Closure.day, Closure.id)
                )
            ).all()

    async def special_hours(self) -> Sequence[SpecialHours]:
        today = self.office.now().astimezone(self.office.town.tz).date()
        async with self.office.sessions() as session:
            return (
                await session.scalars(
                    select(SpecialHours)
                    .where(SpecialHours.day >= today)
                    .order_by(SpecialHours.day, SpecialHours.start)
                )
            ).all()

    # -- appointments to rebook ------------------------------------------------------

    async def to_rebook(self) -> Sequence[Appointment]:
        """Appointments whose citizen was asked to choose a new time and has not yet."""
        async with self.office.sessions() as session:
            return (
                await session.scalars(
                    select(Appointment)
                    .where(
                        Appointment.rebooking_requested_at.is_not(None),
                        Appointment.status == AppointmentStatus.BOOKED,
                        Appointment.personal_data_deleted_at.is_(None),
                        Appointment.ends_at > self.office.now(),
                    )
                    .order_by(Appointment.starts_at)
                )
            ).all()

    async def settled(self, appointment_id: str, *, actor: str) -> None:
        """A clerk settled it with the citizen (by phone, say): off the list."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            appointment = await session.get(Appointment, appointment_id, with_for_update=True)
            if appointment is None or appointment.rebooking_requested_at is None:
                raise NotFound()
            appointment.rebooking_requested_at = None
            audit.record(
                session,
                now,
                actor,
                "appointment.rebooking_settled",
                f"appointment:{appointment.id}",
            )

    # -- the appointments on the time taken away ----------------------------------------

    async def _held(
        self, session: AsyncSession, span: Window, clerk_id: int | None = None
    ) -> Sequence[Appointment]:
        """Booked appointments (of ``clerk_id``, or anyone's) overlapping ``span`` that
        have not begun. Walk-ins hold no time and are not affected."""
        if span.end <= span.start:
            return []
        holding = select(BookedUnit.appointment_id).distinct()
        if clerk_id is not None:
            holding = holding.where(BookedUnit.clerk_id == clerk_id)
        return (
            await session.scalars(
                select(Appointment)
                .where(
                    Appointment.id.in_(holding),
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.starts_at < span.end,
                    Appointment.ends_at > span.start,
                    Appointment.starts_at >= self.office.now(),
                )
                .order_by(Appointment.starts_at)
                .with_for_update()
            )
        ).all()

    async def _hand_over(
        self, session: AsyncSession, held: Sequence[Appointment], actor: str
    ) -> Handled:
        handled = Handled()
        for appointment in held:
            if await self._move(session, appointment, actor):
                handled.moved.append(appointment.id)
            else:
                await self._ask_to_rebook(session, appointment, actor)
                handled.to_rebook.append(appointment.id)
        return handled

    async def _move(self, session: AsyncSession, appointment: Appointment, actor: str) -> bool:
        """Give the appointment's time to a colleague who has the skill, works then (absences
        counted, the new one included) and is free; fewer skills first, as in booking."""
        town = self.office.town
        service = self.office.service(appointment.service_id)
        unit = timedelta(minutes=town.booking.unit_minutes)
        units = unit_starts(appointment.starts_at, appointment.ends_at, unit)
        day = appointment.starts_at.astimezone(town.tz).date()
        seats = sorted(
            (
                s
                for s in await seats_on(session, town, day)
                if service.skill in s.skills and s.works(appointment.starts_at, appointment.ends_at)
            ),
            key=lambda s: (len(s.skills), s.clerk_id),
        )
        busy = set(
            (
                await session.execute(
                    select(BookedUnit.clerk_id, BookedUnit.unit_start).where(
                        BookedUnit.unit_start.in_(units)
                    )
                )
            ).all()
        )
        old = await session.scalar(
            select(BookedUnit.clerk_id).where(BookedUnit.appointment_id == appointment.id)
        )
        for seat in seats:
            if seat.clerk_id == old or any((seat.clerk_id, u) in busy for u in units):
                continue
            try:
                async with session.begin_nested():
                    await session.execute(
                        delete(BookedUnit).where(BookedUnit.appointment_id == appointment.id)
                    )
                    session.add_all(
                        BookedUnit(
                            appointment_id=appointment.id, unit_start=u, clerk_id=seat.clerk_id
                        )
                        for u in units
                    )
                    await session.flush()
            except IntegrityError:
                continue  # booked by someone else a moment ago: the next colleague
            audit.record(
                session,
                self.office.now(),
                actor,
                "appointment.moved_to_colleague",
                f"appointment:{appointment.id}",
                from_clerk=old,
                to_clerk=seat.clerk_id,
            )
            return True
        return False

    async def _ask_to_rebook(
        self, session: AsyncSession, appointment: Appointment, actor: str
    ) -> None:
        now = self.office.now()
        if appointment.rebooking_requested_at is None and appointment.email is not None:
            self.office.enqueue_mail(session, MailKind.REBOOKING, appointment)
        appointment.rebooking_requested_at = now
        audit.record(
            session, now, actor, "appointment.rebooking_requested", f"appointment:{appointment.id}"
        )
