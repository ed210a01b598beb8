"""The periods the statistics are shown by: days, weeks and months.

Weeks are cut at the end of a month (a week from Monday 29 June to Sunday 5 July is
two periods, 29–30 June and 1–5 July), so that days, weeks and months nest: every
day lies in one week of its month, every such week in one month. That nesting is
what lets the small-cell rule (``office.statistics_rule``) make sure no figure can
be recovered by subtracting shown figures from a longer period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from office.localtime import _MONTHS


class Granularity(StrEnum):
    """The length of the periods: the values are the page's (German) query values."""

    DAY = "tag"
    WEEK = "woche"
    MONTH = "monat"


@dataclass(frozen=True, order=True)
class Period:
    """Whole local days from ``first`` to ``last`` (both included)."""

    first: date
    last: date
    granularity: Granularity

    @property
    def key(self) -> tuple[Granularity, date]:
        return (self.granularity, self.first)

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    @property
    def label(self) -> str:
        """How the page and the CSV name it, in German."""
        if self.granularity is Granularity.MONTH:
            return f"{_MONTHS['de'][self.first.month - 1]} {self.first.year}"
        if self.granularity is Granularity.WEEK:
            week = self.first.isocalendar().week
            return f"KW {week}: {self.first:%d.%m.}–{self.last:%d.%m.%Y}"
        return f"{self.first:%d.%m.%Y}"


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1), Granularity.MONTH)


def week_of(day: date) -> Period:
    """The week (Monday to Sunday) of ``day``, cut to its month."""
    month = month_of(day)
    monday = day - timedelta(days=day.weekday())
    return Period(
        max(monday, month.first), min(monday + timedelta(days=6), month.last), Granularity.WEEK
    )


def day_of(day: date) -> Period:
    return Period(day, day, Granularity.DAY)


def period_of(day: date, granularity: Granularity) -> Period:
    if granularity is Granularity.MONTH:
        return month_of(day)
    if granularity is Granularity.WEEK:
        return week_of(day)
    return day_of(day)


def periods(first: date, last: date, granularity: Granularity) -> list[Period]:
    """The periods that cover ``first`` to ``last``, whole (the first and the last
    period may reach beyond them)."""
    found = []
    day = first
    while day <= last:
        period = period_of(day, granularity)
        found.append(period)
        day = period.last + timedelta(days=1)
    return found


def weeks_of(month: Period) -> list[Period]:
    return periods(month.first, month.last, Granularity.WEEK)


def last_full_month(today: date) -> Period:
    return month_of(today.replace(day=1) - timedelta(days=1))
