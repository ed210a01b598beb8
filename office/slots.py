"""Which appointment slots are free: a pure computation over hours and bookings.

Capacity is counted in clerk time, not in appointments per slot. An appointment
holds every ``unit_minutes`` unit of one clerk who has the service's skill and works
at that time; a slot is free while some such clerk has all its units free. This is
the rule "fewer appointments than clerks with the skill on duty", made exact for
services of different lengths and clerks with several skills.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from office.hours import Window

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Seat:
    """One clerk's capacity on a day: their skills and working windows."""

    clerk_id: int
    skills: frozenset[str]
    windows: tuple[Window, ...]

    def works(self, start: datetime, end: datetime) -> bool:
        return any(w.covers(start, end) for w in self.windows)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    clerk_ids: tuple[int, ...]  # clerks who could take it, best choice first

    @property
    def free_seats(self) -> int:
        return len(self.clerk_ids)


def unit_starts(start: datetime, end: datetime, unit: timedelta) -> list[datetime]:
    """The starts of the grid units [start, end) touches; the grid is the same for all."""
    first = _EPOCH + ((start - _EPOCH) // unit) * unit
    units = []
    current = first
    while current < end:
        units.append(current)
        current += unit
    return units


def slot_starts(windows: Sequence[Window], duration: timedelta) -> list[datetime]:
    """Slot starts inside the office windows, stepping by the service's duration."""
    starts = []
    for w in windows:
        current = w.start
        while current + duration <= w.end:
            starts.append(current)
            current += duration
    return starts


def free_slots(
    *,
    skill: str,
    duration: timedelta,
    windows: Sequence[Window],
    seats: Sequence[Seat],
    occupied: Collection[tuple[int, datetime]],
    unit: timedelta,
    not_before: datetime,
) -> list[Slot]:
    """Slots of a service in the given office windows that some clerk can still take.

    ``occupied`` holds (clerk_id, unit_start) pairs already booked. Clerks with
    fewer skills are offered first, which keeps the versatile ones free for the
    services only they can do.
    """
    skilled = sorted(
        (s for s in seats if skill in s.skills), key=lambda s: (len(s.skills), s.clerk_id)
    )
    slots = []
    for start in slot_starts(windows, duration):
        if start < not_before:
            continue
        end = start + duration
        units = unit_starts(start, end, unit)
        clerks = tuple(
            seat.clerk_id
            for seat in skilled
            if seat.works(start, end) and all((seat.clerk_id, u) not in occupied for u in units)
        )
        if clerks:
            slots.append(Slot(start, end, clerks))
    return slots
