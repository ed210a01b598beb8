"""Reading the schedule from the database: who works when, and what is booked.

``office.slots`` computes; this module gathers its inputs for one local day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from office.catalogue import Service, Town
from office.hours import local_day_bounds, merge, office_windows, window
from office.models import BookedUnit, Clerk, SpecialHours
from office.slots import Seat, Slot, free_slots


async def seats_on(session: AsyncSession, town: Town, day: date) -> list[Seat]:
    clerks = (await session.scalars(select(Clerk).where(Clerk.active.is_(True)))).all()
    weekday = day.weekday()
    seats = []
    for clerk in clerks:
        windows = merge(
            [window(day, h.start, h.end, town.tz) for h in clerk.hours if h.weekday == weekday]
        )
        if windows:
            seats.append(Seat(clerk.id, frozenset(s.skill for s in clerk.skills), tuple(windows)))
    return seats


async def special_hours_on(session: AsyncSession, day: date) -> list[tuple[time, time]]:
    rows = await session.execute(
        select(SpecialHours.start, SpecialHours.end).where(SpecialHours.day == day)
    )
    return [(start, end) for start, end in rows.all()]


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
    windows = office_windows(town, day, await special_hours_on(session, day))
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
