"""Office hours as UTC windows: daylight saving, holidays, closing days, merging."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from office.catalogue import Town
from office.hours import (
    Window,
    closed_reason,
    local_day_bounds,
    merge,
    office_windows,
    public_holiday,
    to_utc,
)

BERLIN = ZoneInfo("Europe/Berlin")
SPRING = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST, at 01:00 UTC
AUTUMN = date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET, at 01:00 UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def w(start: datetime, end: datetime) -> Window:
    return Window(start, end)


# -- to_utc across daylight saving -------------------------------------------------


@pytest.mark.parametrize(
    ("day", "wall", "expected"),
    [
        # The day before the spring change: CET, UTC+1.
        (date(2026, 3, 28), time(7, 0), utc(2026, 3, 28, 6, 0)),
        # Spring change day: before the gap CET, after it CEST.
        (SPRING, time(1, 59), utc(2026, 3, 29, 0, 59)),
        (SPRING, time(3, 0), utc(2026, 3, 29, 1, 0)),
        (SPRING, time(7, 0), utc(2026, 3, 29, 5, 0)),
        # The day after: CEST, UTC+2.
        (date(2026, 3, 30), time(7, 0), utc(2026, 3, 30, 5, 0)),
        # Autumn change day: before the repeated hour CEST, after it CET.
        (AUTUMN, time(1, 30), utc(2026, 10, 24, 23, 30)),
        (AUTUMN, time(3, 0), utc(2026, 10, 25, 2, 0)),
        (AUTUMN, time(7, 0), utc(2026, 10, 25, 6, 0)),
        (date(2026, 10, 24), time(7, 0), utc(2026, 10, 24, 5, 0)),
        (date(2026, 10, 26), time(7, 0), utc(2026, 10, 26, 6, 0)),
    ],
)
def test_to_utc_uses_the_offset_of_the_day(day: date, wall: time, expected: datetime) -> None:
    assert to_utc(day, wall, BERLIN) == expected


@pytest.mark.parametrize("wall", [time(2, 0), time(2, 30), time(2, 59)])
def test_to_utc_maps_a_time_in_the_spring_gap_to_the_gap_end(wall: time) -> None:
    result = to_utc(SPRING, wall, BERLIN)
    assert result == utc(2026, 3, 29, 1, 0)
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
    # The gap end is 03:00 local, the first wall-clock time that exists again.
    assert result.astimezone(BERLIN).time() == time(3, 0)


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        (time(2, 0), utc(2026, 10, 25, 0, 0)),
        (time(2, 30), utc(2026, 10, 25, 0, 30)),
        (time(2, 59), utc(2026, 10, 25, 0, 59)),
    ],
)
def test_to_utc_takes_the_first_occurrence_of_an_ambiguous_time(
    wall: time, expected: datetime
) -> None:
    result = to_utc(AUTUMN, wall, BERLIN)
    assert result == expected
    # First occurrence: still summer time (UTC+2), not the repeat an hour later.
    assert result.astimezone(BERLIN).utcoffset() == timedelta(hours=2)
    assert result != expected + timedelta(hours=1)


# -- local day bounds --------------------------------------------------------------


def test_local_day_bounds_on_an_ordinary_day_is_24_hours() -> None:
    bounds = local_day_bounds(date(2026, 6, 1), BERLIN)
    assert bounds == Window(utc(2026, 5, 31, 22, 0), utc(2026, 6, 1, 22, 0))
    assert bounds.end - bounds.start == timedelta(hours=24)


def test_local_day_bounds_on_the_spring_change_is_23_hours() -> None:
    bounds = local_day_bounds(SPRING, BERLIN)
    assert bounds.start == utc(2026, 3, 28, 23, 0)
    assert bounds.end == utc(2026, 3, 29, 22, 0)
    assert bounds.end - bounds.start == timedelta(hours=23)


def test_local_day_bounds_on_the_autumn_change_is_25_hours() -> None:
    bounds = local_day_bounds(AUTUMN, BERLIN)
    assert bounds.start == utc(2026, 10, 24, 22, 0)
    assert bounds.end == utc(2026, 10, 25, 23, 0)
    assert bounds.end - bounds.start == timedelta(hours=25)


def test_consecutive_local_days_tile_without_gap_or_overlap() -> None:
    day = date(2026, 3, 27)
    for _ in range(3):
        assert (
            local_day_bounds(day, BERLIN).end
            == local_day_bounds(day + timedelta(days=1), BERLIN).start
        )
        day += timedelta(days=1)


# -- office windows ----------------------------------------------------------------


def test_office_windows_on_an_ordinary_monday(town: Town) -> None:
    # Monday 2026-06-01, CEST: 07:00-08:00 and 12:30-19:00 local.
    assert office_windows(town, date(2026, 6, 1)) == [
        w(utc(2026, 6, 1, 5, 0), utc(2026, 6, 1, 6, 0)),
        w(utc(2026, 6, 1, 10, 30), utc(2026, 6, 1, 17, 0)),
    ]


def test_office_windows_follow_the_winter_offset(town: Town) -> None:
    # Friday 2026-03-27, CET: only 07:00-08:00 local.
    assert office_windows(town, date(2026, 3, 27)) == [
        w(utc(2026, 3, 27, 6, 0), utc(2026, 3, 27, 7, 0))
    ]


def test_office_windows_on_saturday_and_sunday(town: Town) -> None:
    assert office_windows(town, date(2026, 6, 6)) == [
        w(utc(2026, 6, 6, 7, 0), utc(2026, 6, 6, 10, 0))
    ]
    assert office_windows(town, date(2026, 6, 7)) == []


@pytest.mark.parametrize(
    ("day", "name"),
    [(date(2026, 6, 4), "Fronleichnam"), (date(2026, 1, 6), "Heilige Drei Könige")],
)
def test_no_office_windows_on_a_bw_public_holiday(town: Town, day: date, name: str) -> None:
    # Independent check that these are Baden-Württemberg holidays (not nationwide ones).
    bw = holidays.country_holidays("DE", subdiv="BW", years=2026, language="de")
    assert bw.get(day) == name
    assert day not in holidays.country_holidays("DE", subdiv="BE", years=2026)
    assert day.weekday() < 5  # a weekday: the weekly rules alone would open the office

    assert public_holiday(town, day) == name
    assert closed_reason(town, day) == name
    assert office_windows(town, day) == []


def test_no_office_windows_on_a_configured_closing_day(town: Town) -> None:
    day = date(2026, 12, 24)  # Thursday, not a public holiday
    assert day in town.closing_days
    assert public_holiday(town, day) is None
    assert closed_reason(town, day) == "Geschlossen"
    assert office_windows(town, day) == []
    # The day before is an ordinary Wednesday with both windows.
    assert len(office_windows(town, date(2026, 12, 23))) == 2


def test_an_ordinary_weekday_is_not_closed(town: Town) -> None:
    assert closed_reason(town, date(2026, 6, 3)) is None
    assert public_holiday(town, date(2026, 6, 3)) is None


def test_special_hours_open_the_office_on_a_holiday(town: Town) -> None:
    day = date(2026, 6, 4)  # Fronleichnam
    assert office_windows(town, day, [(time(9, 0), time(11, 0))]) == [
        w(utc(2026, 6, 4, 7, 0), utc(2026, 6, 4, 9, 0))
    ]


def test_special_hours_open_the_office_on_a_closing_day(town: Town) -> None:
    day = date(2026, 12, 24)  # CET
    assert office_windows(town, day, [(time(9, 0), time(10, 0))]) == [
        w(utc(2026, 12, 24, 8, 0), utc(2026, 12, 24, 9, 0))
    ]


def test_special_hours_add_to_and_merge_with_the_weekly_rules(town: Town) -> None:
    # Monday: 07:00-08:00 and 12:30-19:00; special 07:30-09:00 extends the morning.
    assert office_windows(town, date(2026, 6, 1), [(time(7, 30), time(9, 0))]) == [
        w(utc(2026, 6, 1, 5, 0), utc(2026, 6, 1, 7, 0)),
        w(utc(2026, 6, 1, 10, 30), utc(2026, 6, 1, 17, 0)),
    ]


# -- merge -------------------------------------------------------------------------


def h(hour: int, minute: int = 0) -> datetime:
    return utc(2026, 6, 1, hour, minute)


def test_merge_joins_overlapping_windows() -> None:
    assert merge([w(h(8), h(10)), w(h(9), h(11))]) == [w(h(8), h(11))]


def test_merge_joins_touching_windows() -> None:
    assert merge([w(h(8), h(9)), w(h(9), h(10))]) == [w(h(8), h(10))]


def test_merge_keeps_separate_windows_apart_and_sorts_them() -> None:
    assert merge([w(h(12), h(13)), w(h(8), h(9)), w(h(9, 1), h(10))]) == [
        w(h(8), h(9)),
        w(h(9, 1), h(10)),
        w(h(12), h(13)),
    ]


def test_merge_swallows_contained_windows_and_chains() -> None:
    windows = [w(h(10), h(11)), w(h(8), h(12)), w(h(12), h(13)), w(h(12, 30), h(14))]
    assert merge(windows) == [w(h(8), h(14))]


def test_merge_of_nothing_is_nothing() -> None:
    assert merge([]) == []
