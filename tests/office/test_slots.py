"""Free slots: the pure computation, and the booking desk on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from office.appointments import Appointments, Booked
from office.booking_request import parse_booking
from office.errors import SlotTaken, SlotUnavailable
from office.hours import Window
from office.slots import Seat, Slot, free_slots, slot_starts, unit_starts
from office.staff import Staff, WorkingTime
from tests.helpers.clock import Clock

BERLIN = ZoneInfo("Europe/Berlin")
UNIT = timedelta(minutes=5)
PASSWORD = "correct horse battery"


def at(hour: int, minute: int = 0, day: date = date(2026, 6, 1)) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def starts(slots: list[Slot]) -> list[datetime]:
    return [s.starts_at for s in slots]


# -- unit_starts and slot_starts ---------------------------------------------------


def test_unit_starts_cover_an_aligned_interval() -> None:
    assert unit_starts(at(8, 10), at(8, 25), UNIT) == [at(8, 10), at(8, 15), at(8, 20)]


def test_unit_starts_cover_every_unit_an_unaligned_interval_touches() -> None:
    assert unit_starts(at(8, 12), at(8, 21), UNIT) == [at(8, 10), at(8, 15), at(8, 20)]
    assert unit_starts(at(8, 10), at(8, 10), UNIT) == []


def test_unit_grid_is_the_same_whatever_the_local_offset() -> None:
    # The grid is anchored in UTC, so a 15-minute unit lands on quarter hours.
    assert unit_starts(at(8, 7), at(8, 31), minutes(15)) == [at(8, 0), at(8, 15), at(8, 30)]


def test_slot_starts_step_by_the_duration_in_each_window() -> None:
    windows = [Window(at(8), at(9)), Window(at(12, 30), at(13))]
    assert slot_starts(windows, minutes(20)) == [at(8), at(8, 20), at(8, 40), at(12, 30)]


def test_slot_starts_never_run_past_the_window_end() -> None:
    assert slot_starts([Window(at(12, 30), at(12, 50))], minutes(15)) == [at(12, 30)]
    assert slot_starts([Window(at(12, 30), at(12, 40))], minutes(15)) == []


# -- free_slots --------------------------------------------------------------------

BOTH = Seat(1, frozenset({"a", "b"}), (Window(at(8), at(12)),))
ONLY_A = Seat(2, frozenset({"a"}), (Window(at(8), at(10)),))
MORNING = [Window(at(8), at(9))]
MIDNIGHT = at(0)


def free(
    skill: str,
    duration: int,
    *,
    seats: list[Seat] | None = None,
    occupied: set[tuple[int, datetime]] | None = None,
    windows: list[Window] | None = None,
    not_before: datetime = MIDNIGHT,
) -> list[Slot]:
    return free_slots(
        skill=skill,
        duration=minutes(duration),
        windows=MORNING if windows is None else windows,
        seats=[BOTH, ONLY_A] if seats is None else seats,
        occupied=occupied or set(),
        unit=UNIT,
        not_before=not_before,
    )


def test_the_one_skill_clerk_is_offered_first() -> None:
    slots = free("a", 10)
    assert starts(slots) == [at(8, m) for m in range(0, 60, 10)]
    assert {s.clerk_ids for s in slots} == {(2, 1)}
    assert all(s.free_seats == 2 for s in slots)
    assert all(s.ends_at - s.starts_at == minutes(10) for s in slots)


def test_equally_versatile_clerks_are_offered_by_id() -> None:
    seats = [Seat(7, frozenset({"a"}), BOTH.windows), Seat(3, frozenset({"a"}), BOTH.windows)]
    assert {s.clerk_ids for s in free("a", 10, seats=seats)} == {(3, 7)}


def test_only_clerks_with_the_skill_are_offered() -> None:
    slots = free("b", 10)
    assert len(slots) == 6
    assert {s.clerk_ids for s in slots} == {(1,)}
    assert free("c", 10) == []


def test_an_occupied_unit_blocks_the_slot_for_that_clerk_only() -> None:
    slots = {s.starts_at: s.clerk_ids for s in free("a", 10, occupied={(2, at(8, 15))})}
    assert slots[at(8, 10)] == (1,)
    assert all(clerks == (2, 1) for start, clerks in slots.items() if start != at(8, 10))
    # The other clerk's services are untouched.
    assert {s.clerk_ids for s in free("b", 10, occupied={(2, at(8, 15))})} == {(1,)}
    assert len(free("b", 10, occupied={(2, at(8, 15))})) == 6


def test_a_slot_disappears_when_every_skilled_clerk_is_busy() -> None:
    occupied = {(1, at(8, 10)), (2, at(8, 10))}
    assert at(8, 10) not in starts(free("a", 10, occupied=occupied))
    assert len(free("a", 10, occupied=occupied)) == 5
    # Skill b has only clerk 1: one unit of theirs removes the slot.
    assert at(8, 10) not in starts(free("b", 10, occupied={(1, at(8, 15))}))


def test_services_of_different_lengths_overlap_on_the_unit_grid() -> None:
    # Clerk 1 alone holds a 10-minute appointment at 08:10 (units 08:10 and 08:15).
    occupied = {(1, at(8, 10)), (1, at(8, 15))}
    seats = [BOTH]
    assert starts(free("a", 10, seats=seats, occupied=occupied)) == [
        at(8, 0),
        at(8, 20),
        at(8, 30),
        at(8, 40),
        at(8, 50),
    ]
    # 15 minutes: 08:00-08:15 holds unit 08:10, 08:15-08:30 holds 08:15.
    assert starts(free("b", 15, seats=seats, occupied=occupied)) == [at(8, 30), at(8, 45)]
    # 20 minutes: 08:00-08:20 overlaps; 08:20 starts right after the booking ends.
    assert starts(free("b", 20, seats=seats, occupied=occupied)) == [at(8, 20), at(8, 40)]


def test_a_booking_elsewhere_on_the_day_blocks_nothing_here() -> None:
    occupied = {(1, at(8, 0) - UNIT), (1, at(9, 0))}
    assert len(free("b", 15, seats=[BOTH], occupied=occupied)) == 4


def test_a_clerk_must_work_the_whole_slot() -> None:
    windows = [Window(at(9, 45), at(10, 15))]
    slots = {s.starts_at: s.clerk_ids for s in free("a", 10, windows=windows)}
    # Clerk 2 works until 10:00: the 09:55 slot would run past it.
    assert slots == {at(9, 45): (2, 1), at(9, 55): (1,), at(10, 5): (1,)}


def test_no_clerk_at_work_no_slot() -> None:
    assert free("a", 10, windows=[Window(at(13), at(14))]) == []
    assert free("a", 10, seats=[]) == []


def test_not_before_filters_earlier_starts() -> None:
    assert starts(free("a", 10, not_before=at(8, 25))) == [at(8, 30), at(8, 40), at(8, 50)]
    assert starts(free("a", 10, not_before=at(8, 30)))[0] == at(8, 30)
    assert free("a", 10, not_before=at(9)) == []


# -- through the booking desk, on the database -------------------------------------

WEEK = [WorkingTime(d, time(7, 0), time(19, 0)) for d in range(6)]


async def hire(staff: Staff, username: str, skills: list[str]) -> int:
    clerk = await staff.create(username, username.title(), PASSWORD, skills=skills, hours=WEEK)
    return clerk.id


async def book(desk: Appointments, service_id: str, starts_at: datetime) -> Booked:
    request = parse_booking(
        {
            "service_id": service_id,
            "starts_at": starts_at.isoformat(),
            "name": "Erika Mustermann",
            "email": "erika@example.org",
            "consent": True,
        }
    )
    return await desk.book(request)


def local_times(slots: list[Slot]) -> list[time]:
    return [s.starts_at.astimezone(BERLIN).time() for s in slots]


async def test_slots_follow_summer_time_after_the_spring_change(
    desk: Appointments, clerk: int, clock: Clock
) -> None:
    clock.set(datetime(2026, 3, 26, 12, 0, tzinfo=UTC))  # Thursday before the change
    friday = await desk.slots("meldebescheinigung", date(2026, 3, 27))  # CET
    monday = await desk.slots("meldebescheinigung", date(2026, 3, 30))  # CEST

    assert starts(friday) == [datetime(2026, 3, 27, 6, m, tzinfo=UTC) for m in range(0, 60, 10)]
    assert local_times(friday)[0] == time(7, 0)

    assert monday[0].starts_at == datetime(2026, 3, 30, 5, 0, tzinfo=UTC)
    assert local_times(monday)[:6] == [time(7, m) for m in range(0, 60, 10)]
    # Afternoon hours 12:30-19:00 local are 10:30-17:00 UTC in summer.
    assert monday[6].starts_at == datetime(2026, 3, 30, 10, 30, tzinfo=UTC)
    assert monday[-1].ends_at == datetime(2026, 3, 30, 17, 0, tzinfo=UTC)
    assert len(monday) == 6 + 39
    assert all(s.clerk_ids == (clerk,) for s in monday)
    # The Sunday of the change has no hours at all.
    assert await desk.slots("meldebescheinigung", date(2026, 3, 29)) == []


async def test_slots_follow_winter_time_after_the_autumn_change(
    desk: Appointments, clerk: int, clock: Clock
) -> None:
    clock.set(datetime(2026, 10, 22, 12, 0, tzinfo=UTC))  # Thursday before the change
    friday = await desk.slots("meldebescheinigung", date(2026, 10, 23))  # CEST
    monday = await desk.slots("meldebescheinigung", date(2026, 10, 26))  # CET

    assert starts(friday) == [datetime(2026, 10, 23, 5, m, tzinfo=UTC) for m in range(0, 60, 10)]
    assert local_times(friday)[0] == time(7, 0)

    assert monday[0].starts_at == datetime(2026, 10, 26, 6, 0, tzinfo=UTC)
    assert local_times(monday)[:6] == [time(7, m) for m in range(0, 60, 10)]
    assert monday[6].starts_at == datetime(2026, 10, 26, 11, 30, tzinfo=UTC)
    assert monday[-1].ends_at == datetime(2026, 10, 26, 18, 0, tzinfo=UTC)
    assert len(monday) == 6 + 39
    assert await desk.slots("meldebescheinigung", date(2026, 10, 25)) == []


async def test_a_slot_after_the_spring_change_can_be_booked(
    desk: Appointments, clerk: int, clock: Clock
) -> None:
    clock.set(datetime(2026, 3, 26, 12, 0, tzinfo=UTC))
    booked = await book(desk, "meldebescheinigung", datetime(2026, 3, 30, 5, 0, tzinfo=UTC))
    assert booked.appointment.starts_at == datetime(2026, 3, 30, 5, 0, tzinfo=UTC)
    monday = await desk.slots("meldebescheinigung", date(2026, 3, 30))
    assert monday[0].starts_at == datetime(2026, 3, 30, 5, 10, tzinfo=UTC)
    # 06:00 UTC would be 07:00 in winter time, but is 08:00 now: not a slot.
    with pytest.raises(SlotUnavailable):
        await book(desk, "meldebescheinigung", datetime(2026, 3, 30, 6, 0, tzinfo=UTC))


async def test_no_slots_on_a_bw_public_holiday(desk: Appointments, clerk: int) -> None:
    # Thursday 2026-06-04 is Fronleichnam in Baden-Württemberg.
    assert await desk.slots("meldebescheinigung", date(2026, 6, 4)) == []
    assert await desk.slots("beratung", date(2026, 6, 4)) == []
    assert len(await desk.slots("meldebescheinigung", date(2026, 6, 3))) == 6 + 39
    assert len(await desk.slots("meldebescheinigung", date(2026, 6, 11))) == 6 + 39
    with pytest.raises(SlotUnavailable):
        await book(desk, "meldebescheinigung", datetime(2026, 6, 4, 5, 0, tzinfo=UTC))


async def test_no_slots_on_a_closing_day(desk: Appointments, clerk: int, clock: Clock) -> None:
    clock.set(datetime(2026, 12, 21, 12, 0, tzinfo=UTC))
    assert await desk.slots("meldebescheinigung", date(2026, 12, 24)) == []
    assert await desk.slots("meldebescheinigung", date(2026, 12, 23)) != []


async def test_no_slots_beyond_the_horizon_or_in_the_past(desk: Appointments, clerk: int) -> None:
    horizon = desk.office.town.booking.horizon_days
    last = date(2026, 6, 1) + timedelta(days=horizon)  # Monday 2026-07-13
    assert last == date(2026, 7, 13)
    assert len(await desk.slots("meldebescheinigung", last)) == 6 + 39
    assert await desk.slots("meldebescheinigung", last + timedelta(days=1)) == []
    assert await desk.slots("meldebescheinigung", date(2026, 5, 29)) == []
    with pytest.raises(SlotUnavailable):
        await book(desk, "meldebescheinigung", datetime(2026, 7, 14, 5, 0, tzinfo=UTC))


async def test_no_slots_before_now_plus_lead(desk: Appointments, clerk: int, clock: Clock) -> None:
    assert desk.office.town.booking.lead_minutes == 30
    clock.set(datetime(2026, 6, 1, 4, 50, tzinfo=UTC))  # 06:50 local
    slots = await desk.slots("meldebescheinigung", date(2026, 6, 1))
    assert slots[0].starts_at == datetime(2026, 6, 1, 5, 20, tzinfo=UTC)  # exactly now + lead

    clock.advance(minutes=1)
    slots = await desk.slots("meldebescheinigung", date(2026, 6, 1))
    assert slots[0].starts_at == datetime(2026, 6, 1, 5, 30, tzinfo=UTC)
    with pytest.raises(SlotUnavailable):
        await book(desk, "meldebescheinigung", datetime(2026, 6, 1, 5, 20, tzinfo=UTC))
    booked = await book(desk, "meldebescheinigung", datetime(2026, 6, 1, 5, 30, tzinfo=UTC))
    assert booked.appointment.starts_at == datetime(2026, 6, 1, 5, 30, tzinfo=UTC)


async def test_two_clerks_give_a_slot_two_seats(desk: Appointments, staff: Staff) -> None:
    first = await hire(staff, "berta", ["meldewesen"])
    second = await hire(staff, "carl", ["meldewesen"])
    day, start = date(2026, 6, 1), datetime(2026, 6, 1, 10, 30, tzinfo=UTC)

    [slot] = [s for s in await desk.slots("meldebescheinigung", day) if s.starts_at == start]
    assert slot.clerk_ids == (first, second)

    await book(desk, "meldebescheinigung", start)
    [slot] = [s for s in await desk.slots("meldebescheinigung", day) if s.starts_at == start]
    assert slot.clerk_ids == (second,)

    await book(desk, "meldebescheinigung", start)
    assert start not in starts(await desk.slots("meldebescheinigung", day))
    with pytest.raises(SlotTaken):
        await book(desk, "meldebescheinigung", start)
    # The neighbouring slots are untouched.
    neighbours = {s.starts_at: s for s in await desk.slots("meldebescheinigung", day)}
    assert neighbours[start + minutes(10)].free_seats == 2
    assert neighbours[at(16, 50)].free_seats == 2  # the day's last slot


async def test_booking_one_skill_takes_the_clerk_from_the_other(
    desk: Appointments, clerk: int
) -> None:
    # One clerk with "meldewesen" and "beratung": their time is the capacity.
    day = date(2026, 6, 1)
    assert at(10, 30) in starts(await desk.slots("beratung", day))
    assert at(10, 45) in starts(await desk.slots("beratung", day))

    await book(desk, "meldebescheinigung", at(10, 40))  # 10:40-10:50

    advice = starts(await desk.slots("beratung", day))  # 15 minutes from 10:30
    assert at(10, 30) not in advice  # 10:30-10:45 overlaps
    assert at(10, 45) not in advice  # 10:45-11:00 overlaps
    assert at(11, 0) in advice
    registration = starts(await desk.slots("meldebescheinigung", day))
    assert at(10, 40) not in registration
    assert at(10, 30) in registration and at(10, 50) in registration
    moving = starts(await desk.slots("abmeldung-ummeldung", day))  # 20 minutes
    assert at(10, 30) not in moving and at(10, 50) in moving
    with pytest.raises(SlotTaken):
        await book(desk, "beratung", at(10, 45))


async def test_the_versatile_clerk_is_kept_free(
    desk: Appointments, staff: Staff, clerk: int
) -> None:
    # Anna (the clerk fixture) does registration and advice; Berta only registration.
    berta = await hire(staff, "berta", ["meldewesen"])
    day = date(2026, 6, 1)

    await book(desk, "meldebescheinigung", at(10, 30))  # goes to Berta
    [advice] = [s for s in await desk.slots("beratung", day) if s.starts_at == at(10, 30)]
    assert advice.clerk_ids == (clerk,)
    [registration] = [
        s for s in await desk.slots("meldebescheinigung", day) if s.starts_at == at(10, 30)
    ]
    assert registration.clerk_ids == (clerk,)
    assert berta not in registration.clerk_ids

    await book(desk, "meldebescheinigung", at(10, 30))  # now Anna's time
    assert at(10, 30) not in starts(await desk.slots("beratung", day))


async def test_no_slots_for_a_skill_nobody_has(desk: Appointments, clerk: int) -> None:
    assert await desk.slots("fuehrungszeugnis", date(2026, 6, 1)) == []
    assert await desk.slots("meldebescheinigung", date(2026, 6, 1)) != []
