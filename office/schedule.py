"""Reading the schedule from the database: who works when, and what is booked.

``office.slots`` computes; this module gathers its inputs for one local day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from office.catalogue import Service, Town
from office.hours import (
    Window,
    local_day_bounds,
    merge,
    office_windows,
    subtract,
    window,
)
from office.models import Absence, BookedUnit, Clerk, Closure, SpecialHours
from office.slots import Seat, Slot, free_slots


async def absences_between(session: AsyncSession, bounds: Window) -> dict[int, list[Window]]:
    """Each clerk's absences that overlap ``bounds``."""
    rows = await session.execute(
        select(Absence.clerk_id, Absence.starts_at, Absence.ends_at).where(
            Absence.starts_at < bounds.end, Absence.ends_at > bounds.start
        )
    )
    absent: dict[int, list[Window]] = {}
    for clerk_id, starts_at, ends_at in rows.all():
        absent.setdefault(clerk_id, []).append(Window(starts_at, ends_at))
    return absent


async def seats_on(session: AsyncSession, town: Town, day: date) -> list[Seat]:
    """Who works on a local day, with which skills, when: weekly hours less absences."""
    clerks = (await session.scalars(select(Clerk).where(Clerk.active.is_(True)))).all()
    absent = await absences_between(session, local_day_bounds(day, town.tz))
    weekday = day.weekday()
    seats = []
    for clerk in clerks:
        windows = subtract(
            merge(
                [window(day, h.start, h.end, town.tz) for h in clerk.hours if h.weekday == weekday]
            ),
            absent.get(clerk.id, []),
        )
        if windows:
            seats.append(Seat(clerk.id, frozenset(s.skill for s in clerk.skills), tuple(windows)))
    return seats


async def special_hours_on(session: AsyncSession, day: date) -> list[tuple[time, time]]:
    rows = await session.execute(
        select(SpecialHours.start, SpecialHours.end).where(SpecialHours.day == day)
    )
    return [(start, end) for start, end in rows.all()]


def closure_window(town: Town, closure: Closure) -> Window:
    """The UTC time a closure takes out of its day: the whole day without times."""
    if closure.start is None or closure.end is None:
        return local_day_bounds(closure.day, town.tz)
    return window(closure.day, closure.start, closure.end, town.tz)


async def open_windows(session: AsyncSession, town: Town, day: date) -> list[Window]:
    """The virtual office's hours on a local day: the town file's rules and the special
    hours entered for the day, less the closures entered for it."""
    closures = (await session.scalars(select(Closure).where(Closure.day == day))).all()
    return subtract(
        office_windows(town, day, await special_hours_on(session, day)),
        [closure_window(town, c) for c in closures],
    )


async def occupied_between(
    session: AsyncSession, start: datetime, end: datetime
) -> set[tuple[int, datetime]]:
    rows = await session.execute(
        select(BookedUnit.clerk_id, BookedUnit.unit_start).where(
            BookedUnit.unit_start >= start, BookedUnit.unit_start < end
        )
    )
    return {(clerk_id, unit_start) for clerk_id, unit_start in rows.all()}


async def day_slots(
    session: AsyncSession, town: Town, service: Service, day: date, now: datetime
) -> list[Slot]:
    """Free slots of a service on a local day, as of ``now``."""
    today = now.astimezone(town.tz).date()
    if day < today or day > today + timedelta(days=town.booking.horizon_days):
        return []
    windows = await open_windows(session, town, day)
    if not windows:
        return []
    bounds = local_day_bounds(day, town.tz)
    unit = timedelta(minutes=town.booking.unit_minutes)
    return free_slots(
        skill=service.skill,
        duration=timedelta(minutes=service.duration_minutes),
        windows=windows,
        seats=await seats_on(session, town, day),
        occupied=await occupied_between(session, bounds.start - unit, bounds.end + unit),
        unit=unit,
        not_before=now + timedelta(minutes=town.booking.lead_minutes),
    )
