"""Writing the statistics as it happens: one fact per event, in the event's own
transaction, without a person in it (``office.models.StatisticFact``).

Every figure belongs to the appointment's local day and service, whenever its event
happens: a cancellation weeks before, a fee paid a month after. So a row of the
statistics always speaks of the appointments of that day and service, and the
small-cell rule can judge it by them.

For that rule, a held call also records how many different clerks have served the
service on that day, in that week and in that month so far: a number counted from
the appointments (which still name their clerk then), never who they were.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from office.catalogue import Town
from office.hours import closed_reason, local_day_bounds, window
from office.models import Appointment, AppointmentStatus, Case, StatisticFact
from office.statistics_periods import Period, day_of, month_of, week_of


class Kind(StrEnum):
    BOOKED = "booked"  # walk-ins too
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    HELD = "held"
    OUTSIDE_HOURS = "outside_hours"  # a held call that began outside the regular hours
    WAIT = "wait"  # amount: seconds from the check-in to the call
    CALL = "call"  # amount: seconds of the call
    CHECK_PASSED = "check_passed"
    CHECK_FAILED = "check_failed"
    INVOICED = "invoiced"  # amount: cents
    PAID = "paid"  # amount: cents
    # amount: distinct clerks who served the service in the period; ``day``: its first
    CLERKS_DAY = "clerks_day"
    CLERKS_WEEK = "clerks_week"
    CLERKS_MONTH = "clerks_month"


CASE_PREFIX = "case."  # + the state a case entered (or left, with count -1)


def local_day(town: Town, instant: datetime) -> date:
    return instant.astimezone(town.tz).date()


def note(
    session: AsyncSession,
    day: date,
    service_id: str,
    kind: str,
    *,
    count: int = 1,
    amount: int | None = None,
) -> None:
    session.add(
        StatisticFact(
            id=secrets.token_hex(16),
            day=day,
            service_id=service_id,
            kind=kind,
            count=count,
            amount=amount,
        )
    )


def note_appointment(
    session: AsyncSession, town: Town, appointment: Appointment, kind: Kind, count: int = 1
) -> None:
    note(session, local_day(town, appointment.starts_at), appointment.service_id, kind, count=count)


def outside_regular_hours(town: Town, instant: datetime) -> bool:
    """Whether ``instant`` lies outside the town hall's regular opening hours (the
    town file's ``regular_hours``; none on public holidays and closing days)."""
    day = local_day(town, instant)
    if closed_reason(town, day) is not None:
        return True
    for rule in town.regular_hours:
        if rule.applies(day):
            hours = window(day, rule.start, rule.end, town.tz)
            if hours.start <= instant < hours.end:
                return False
    return True


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


async def note_held(session: AsyncSession, town: Town, appointment: Appointment) -> None:
    """The appointment's call has just ended (its status is ``completed`` in this
    transaction): held, the wait, the call's length, the hours, and the clerk counts."""
    day = local_day(town, appointment.starts_at)
    service = appointment.service_id
    note(session, day, service, Kind.HELD)
    if outside_regular_hours(town, appointment.starts_at):
        note(session, day, service, Kind.OUTSIDE_HOURS)
    wait = _seconds(appointment.checked_in_at, appointment.call_started_at)
    if wait is not None:
        note(session, day, service, Kind.WAIT, amount=wait)
    call = _seconds(appointment.call_started_at, appointment.call_ended_at)
    if call is not None:
        note(session, day, service, Kind.CALL, amount=call)
    for kind, period in (
        (Kind.CLERKS_DAY, day_of(day)),
        (Kind.CLERKS_WEEK, week_of(day)),
        (Kind.CLERKS_MONTH, month_of(day)),
    ):
        clerks = await _clerks_serving(session, town, service, period)
        note(session, period.first, service, kind, amount=clerks)


async def _clerks_serving(
    session: AsyncSession, town: Town, service_id: str, period: Period
) -> int:
    """How many different clerks served held appointments of the service in the
    period, as far as the database knows now. Two calls ending at once may each miss
    the other: the number is then too low, which only hides more."""
    start = local_day_bounds(period.first, town.tz).start
    end = local_day_bounds(period.last + timedelta(days=1), town.tz).start
    return int(
        await session.scalar(
            select(func.count(distinct(Appointment.clerk_id))).where(
                Appointment.service_id == service_id,
                Appointment.status == AppointmentStatus.COMPLETED,
                Appointment.clerk_id.is_not(None),
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
        )
        or 0
    )


async def case_cell(session: AsyncSession, town: Town, case: Case) -> tuple[date, str]:
    """The day and service a case's figures belong to: its appointment's (the
    case's own service and day when the appointment is gone)."""
    if case.appointment_id is not None:
        appointment = await session.get(Appointment, case.appointment_id)
        if appointment is not None:
            return local_day(town, appointment.starts_at), appointment.service_id
    return local_day(town, case.created_at), case.service_id


async def note_case(
    session: AsyncSession,
    town: Town,
    case: Case,
    kind: str,
    *,
    count: int = 1,
    amount: int | None = None,
) -> None:
    day, service = await case_cell(session, town, case)
    note(session, day, service, kind, count=count, amount=amount)


async def note_case_state(
    session: AsyncSession, town: Town, case: Case, left: str | None, entered: str
) -> None:
    """A case entered a state (and left another): cases are counted by the state
    they are in now."""
    if left is not None:
        await note_case(session, town, case, CASE_PREFIX + left, count=-1)
    await note_case(session, town, case, CASE_PREFIX + entered)
