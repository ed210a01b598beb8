"""When the virtual office is open, and when each clerk works, as UTC windows.

Hours are configured in local wall-clock time; slots are stored in UTC. Converting a
wall-clock time on a given date is where daylight saving bites, so it happens only
here: a time that does not exist (the hour skipped in March) moves to the end of
the gap, and an ambiguous one (the hour repeated in October) takes its first
occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from office.catalogue import Town


@dataclass(frozen=True, order=True)
class Window:
    """A half-open interval [start, end) in aware UTC datetimes."""

    start: datetime
    end: datetime

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


def to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a date in a zone."""
    local = datetime.combine(day, wall, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Inside the spring-forward gap: the wall clock jumps over this time, so it maps to
    # the instant the gap ends. That instant lies between the two readings of the wall
    # time (old offset, new offset); find where the offset changes, to the minute.
    before = local.replace(fold=1).astimezone(UTC)
    after = instant
    if before > after:
        before, after = after, before
    old_offset = before.astimezone(tz).utcoffset()
    while after - before > timedelta(minutes=1):
        middle = before + (after - before) / 2
        if middle.astimezone(tz).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return after.replace(second=0, microsecond=0)


def window(day: date, start: time, end: time, tz: ZoneInfo) -> Window:
    return Window(to_utc(day, start, tz), to_utc(day, end, tz))


def local_day_bounds(day: date, tz: ZoneInfo) -> Window:
    """The UTC instants at which a local calendar day begins and ends (23 to 25 hours)."""
    return Window(to_utc(day, time(0), tz), to_utc(day + timedelta(days=1), time(0), tz))


@lru_cache(maxsize=32)
def _public_holidays(country: str, state: str, year: int) -> dict[date, str]:
    return dict(holidays.country_holidays(country, subdiv=state, years=year, language="de"))


def public_holiday(town: Town, day: date) -> str | None:
    """The holiday's German name, or None on a working day."""
    return _public_holidays(town.town.country, town.town.state, day.year).get(day)


def closed_reason(town: Town, day: date) -> str | None:
    """Why the virtual office is closed on a date, or None."""
    if (name := public_holiday(town, day)) is not None:
        return name
    if day in town.closing_days:
        return "Geschlossen"
    return None


def office_windows(
    town: Town, day: date, special: Iterable[tuple[time, time]] = ()
) -> list[Window]:
    """The virtual office hours on a date.

    Special hours for the date are added to the weekly rules; on a holiday or
    closing day only special hours open the office.
    """
    tz = town.tz
    windows = [window(day, start, end, tz) for start, end in special]
    if closed_reason(town, day) is None:
        windows += [
            window(day, rule.start, rule.end, tz)
            for rule in town.virtual_hours
            if rule.applies(day)
        ]
    return merge(windows)


def merge(windows: Sequence[Window]) -> list[Window]:
    """Sort windows and join those that overlap or touch."""
    merged: list[Window] = []
    for current in sorted(windows):
        if merged and current.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Window(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return merged


def subtract(windows: Sequence[Window], cuts: Sequence[Window]) -> list[Window]:
    """What is left of ``windows`` once every ``cuts`` window is taken out of them
    (an absence out of a clerk's hours, a closure out of the office's)."""
    left = list(windows)
    for cut in cuts:
        kept: list[Window] = []
        for w in left:
            if cut.end <= w.start or w.end <= cut.start:
                kept.append(w)
                continue
            if w.start < cut.start:
                kept.append(Window(w.start, cut.start))
            if cut.end < w.end:
                kept.append(Window(cut.end, w.end))
        left = kept
    return left
