"""The statistics' periods and small-cell rule, on their own (no database)."""

from __future__ import annotations

from datetime import date

from office.statistics import percentile_90
from office.statistics_periods import (
    Granularity,
    Period,
    last_full_month,
    month_of,
    periods,
    week_of,
)
from office.statistics_rule import Rule, Size, children, hidden_in_month

JUNE = month_of(date(2026, 6, 10))
RULE = Rule(min_appointments=5, min_clerks=2)


def test_weeks_end_with_their_month_so_that_periods_nest() -> None:
    weeks = periods(JUNE.first, JUNE.last, Granularity.WEEK)
    assert [(w.first.day, w.last.day) for w in weeks] == [
        (1, 7),
        (8, 14),
        (15, 21),
        (22, 28),
        (29, 30),
    ]
    # Monday 29 June to Sunday 5 July is two periods.
    assert week_of(date(2026, 7, 2)) == Period(date(2026, 7, 1), date(2026, 7, 5), Granularity.WEEK)
    assert weeks[1].label == "KW 24: 08.06.–14.06.2026"
    assert JUNE.label == "Juni 2026"
    assert last_full_month(date(2026, 7, 1)) == JUNE
    assert last_full_month(date(2026, 1, 31)).label == "Dezember 2025"
    # A range is widened to whole periods.
    assert periods(date(2026, 6, 10), date(2026, 7, 2), Granularity.MONTH)[-1].last == date(
        2026, 7, 31
    )


def test_the_90th_percentile_is_taken_by_nearest_rank() -> None:
    assert percentile_90([]) is None
    assert percentile_90([7]) == 7
    assert percentile_90(range(1, 11)) == 9  # 9 of 10 values do not exceed 9
    assert percentile_90(range(1, 12)) == 10  # ceil(9.9) = 10th value


def sizes(by_day: dict[int, tuple[int, int]], clerks: dict[Period, int]) -> dict[Period, Size]:
    """Sizes of June's periods from (held, clerks) per day of June; weeks and the
    month get the clerk counts given (else the largest of their days')."""
    found: dict[Period, Size] = {}
    for day in JUNE.days():
        held, n = by_day.get(day.day, (0, 0))
        found[Period(day, day, Granularity.DAY)] = Size(held, n, empty=held == 0 and n == 0)
    for period in [JUNE, *children(JUNE)]:
        days = [found[Period(d, d, Granularity.DAY)] for d in period.days()]
        found[period] = Size(
            sum(s.held for s in days),
            clerks.get(period, max(s.clerks for s in days)),
            all(s.empty for s in days),
        )
    return found


def test_a_service_one_clerk_served_is_hidden_whatever_its_size() -> None:
    table = sizes({d: (3, 1) for d in range(1, 31)}, {})
    hidden = hidden_in_month(RULE, JUNE, table.__getitem__)
    assert JUNE.key in hidden
    assert all(p.key in hidden for p in children(JUNE))


def test_a_hidden_week_cannot_be_recovered_from_the_month() -> None:
    # Weeks 1 and 2 pass; week 3 has one clerk's two calls; weeks 4 and 5 are empty.
    by_day = {1: (3, 2), 2: (3, 1), 8: (3, 2), 9: (2, 1), 15: (2, 1)}
    table = sizes(by_day, {})
    hidden = hidden_in_month(RULE, JUNE, table.__getitem__)
    weeks = children(JUNE)
    assert JUNE.key not in hidden
    assert weeks[2].key in hidden  # too small
    assert weeks[1].key in hidden  # the smaller spare week, hidden with it
    assert weeks[0].key not in hidden and weeks[3].key not in hidden  # week 4: zeros
    # What subtraction gives (the month minus the shown weeks) passes the rule.
    recovered = table[JUNE].held - sum(table[w].held for w in weeks if w.key not in hidden)
    assert recovered >= RULE.min_appointments
    # Inside a shown week the days are judged the same way: day 1 (two clerks, three
    # calls) fails, and its sum with day 2 passes.
    assert Period(date(2026, 6, 1), date(2026, 6, 1), Granularity.DAY).key in hidden
    assert Period(date(2026, 6, 2), date(2026, 6, 2), Granularity.DAY).key in hidden
    assert Period(date(2026, 6, 7), date(2026, 6, 7), Granularity.DAY).key not in hidden


def test_a_period_in_which_nothing_happened_shows_its_zeros() -> None:
    table = sizes({}, {})
    assert hidden_in_month(RULE, JUNE, table.__getitem__) == set()


def test_the_hidden_sum_may_be_all_of_a_shown_period() -> None:
    """Two clerks in the month but each alone on her days: every week fails and the
    weeks' sum is the month, which passes on its own count of clerks."""
    by_day = {1: (3, 1), 8: (3, 1)}
    table = sizes(by_day, {JUNE: 2})
    hidden = hidden_in_month(RULE, JUNE, table.__getitem__)
    assert JUNE.key not in hidden
    assert {w.key for w in children(JUNE)[:2]} <= hidden
