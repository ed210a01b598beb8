"""The office's statistics: per service and per day, week or month, from the facts
kept without personal data (``office.statistics_record``), with the small-cell rule
applied (``office.statistics_rule``). Never per clerk.

A row is one service in one period, or the total of the services shown in that
period (hidden cells are left out of it, so no total gives them away).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from office.context import Office
from office.models import StatisticFact
from office.statistics_periods import Granularity, Period, periods
from office.statistics_record import CASE_PREFIX, Kind
from office.statistics_rule import Rule, Size, hidden_in_month

# Cases by where they stand now, in the groups the page shows.
OUTCOMES: tuple[tuple[str, str, frozenset[str]], ...] = (
    (
        "running",
        "in Bearbeitung",
        frozenset({"open", "verified", "payment_pending", "paid", "waived", "in_fulfilment"}),
    ),
    ("posted", "per Post versandt", frozenset({"posted"})),
    ("forwarded", "an das Bundeszentralregister übermittelt", frozenset({"forwarded"})),
    ("closed", "abgeschlossen", frozenset({"closed"})),
    ("cancelled", "storniert", frozenset({"cancelled"})),
    ("failed", "gescheitert", frozenset({"failed"})),
)
_CLERKS = {
    Granularity.DAY: Kind.CLERKS_DAY,
    Granularity.WEEK: Kind.CLERKS_WEEK,
    Granularity.MONTH: Kind.CLERKS_MONTH,
}
_DURATIONS = (Kind.WAIT, Kind.CALL)


# The counting kinds and the attribute of a tally each adds to.
_COUNTS: dict[str, str] = {
    Kind.BOOKED: "bookings",
    Kind.CANCELLED: "cancellations",
    Kind.NO_SHOW: "no_shows",
    Kind.HELD: "held",
    Kind.OUTSIDE_HOURS: "outside_hours",
    Kind.CHECK_PASSED: "checks_passed",
    Kind.CHECK_FAILED: "checks_failed",
}
_AMOUNTS: dict[str, str] = {Kind.INVOICED: "invoiced_cents", Kind.PAID: "paid_cents"}


def percentile_90(values: Iterable[int]) -> int | None:
    """The 90th percentile by nearest rank: the smallest value that at least 90 % of
    the values do not exceed."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def median(values: Iterable[int]) -> float | None:
    listed = list(values)
    return float(statistics.median(listed)) if listed else None


@dataclass
class Tally:
    """The figures of a cell, added up from its facts."""

    bookings: int = 0
    cancellations: int = 0
    no_shows: int = 0
    held: int = 0
    outside_hours: int = 0
    waits: list[int] = field(default_factory=list)  # seconds
    calls: list[int] = field(default_factory=list)  # seconds
    checks_passed: int = 0
    checks_failed: int = 0
    case_states: Counter[str] = field(default_factory=Counter)
    invoiced_cents: int = 0
    paid_cents: int = 0

    def add(self, kind: str, count: int, amount: int) -> None:
        """Facts of one kind: their summed count and summed amount."""
        if kind in _COUNTS:
            setattr(self, _COUNTS[kind], getattr(self, _COUNTS[kind]) + count)
        elif kind in _AMOUNTS:
            setattr(self, _AMOUNTS[kind], getattr(self, _AMOUNTS[kind]) + amount)
        elif kind.startswith(CASE_PREFIX):
            self.case_states[kind.removeprefix(CASE_PREFIX)] += count

    def include(self, other: Tally) -> None:
        for name in (*_COUNTS.values(), *_AMOUNTS.values()):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.waits += other.waits
        self.calls += other.calls
        self.case_states.update(other.case_states)

    @property
    def empty(self) -> bool:
        numbers = [getattr(self, n) for n in (*_COUNTS.values(), *_AMOUNTS.values())]
        return not any(numbers) and not self.waits and not self.calls and not self.cases_total

    @property
    def cases_total(self) -> int:
        return sum(self.case_states.values())

    def cases(self, outcome: str) -> int:
        states = next(s for key, _, s in OUTCOMES if key == outcome)
        return sum(self.case_states[state] for state in states)

    @property
    def wait_median(self) -> float | None:
        return median(self.waits)

    @property
    def wait_p90(self) -> int | None:
        return percentile_90(self.waits)

    @property
    def call_median(self) -> float | None:
        return median(self.calls)

    @property
    def call_p90(self) -> int | None:
        return percentile_90(self.calls)

    @property
    def outside_share(self) -> float | None:
        """Of the held appointments, the share that began outside the regular hours."""
        return self.outside_hours / self.held if self.held else None


@dataclass(frozen=True)
class Row:
    period: Period
    service_id: str | None  # None: the total of the services shown in the period
    tally: Tally | None  # None: hidden by the small-cell rule


@dataclass(frozen=True)
class Report:
    periods: list[Period]
    services: list[str]
    rows: list[Row]
    rule: Rule

    @property
    def hidden(self) -> int:
        return sum(1 for row in self.rows if row.tally is None)


class Statistics:
    def __init__(self, office: Office, rule: Rule) -> None:
        self.office = office
        self.rule = rule

    async def report(
        self, first: date, last: date, granularity: Granularity, service_id: str | None = None
    ) -> Report:
        """The rows for the periods covering ``first`` to ``last``, every service (or
        one), each period's total first when there are several services."""
        shown_periods = periods(first, last, granularity)
        months = periods(shown_periods[0].first, shown_periods[-1].last, Granularity.MONTH)
        facts = await self._facts(months[0].first, months[-1].last)
        services = [s.id for s in self.office.town.services]
        services += sorted({s for s, _ in facts.days} - set(services))
        if service_id is not None:
            services = [service_id]
        rows: list[Row] = []
        hidden = {s: facts.hidden(self.rule, s, months) for s in services}
        for period in shown_periods:
            cells = [
                Row(period, s, None if period.key in hidden[s] else facts.tally(s, period))
                for s in services
            ]
            if len(services) > 1:
                total = Tally()
                for cell in cells:
                    if cell.tally is not None:
                        total.include(cell.tally)
                rows.append(Row(period, None, total))
            rows += cells
        return Report(shown_periods, services, rows, self.rule)

    async def _facts(self, first: date, last: date) -> _Facts:
        found = _Facts()
        in_range = (StatisticFact.day >= first) & (StatisticFact.day <= last)
        async with self.office.sessions() as session:
            summed = await session.execute(
                select(
                    StatisticFact.service_id,
                    StatisticFact.day,
                    StatisticFact.kind,
                    func.sum(StatisticFact.count),
                    func.coalesce(func.sum(StatisticFact.amount), 0),
                    func.coalesce(func.max(StatisticFact.amount), 0),
                )
                .where(in_range, StatisticFact.kind.not_in([k.value for k in _DURATIONS]))
                .group_by(StatisticFact.service_id, StatisticFact.day, StatisticFact.kind)
            )
            for service, day, kind, count, amount, largest in summed.all():
                if kind in _CLERKS.values():
                    found.clerks[(service, kind, day)] = int(largest or 0)
                else:
                    found.day(service, day).add(kind, int(count or 0), int(amount or 0))
            durations = await session.execute(
                select(
                    StatisticFact.service_id,
                    StatisticFact.day,
                    StatisticFact.kind,
                    StatisticFact.amount,
                ).where(in_range, StatisticFact.kind.in_([k.value for k in _DURATIONS]))
            )
            for service, day, kind, amount in durations.all():
                tally = found.day(service, day)
                (tally.waits if kind == Kind.WAIT else tally.calls).append(int(amount or 0))
        return found


@dataclass
class _Facts:
    """The facts of some months, by service and day."""

    days: dict[tuple[str, date], Tally] = field(default_factory=dict)
    clerks: dict[tuple[str, str, date], int] = field(default_factory=dict)

    def day(self, service_id: str, day: date) -> Tally:
        return self.days.setdefault((service_id, day), Tally())

    def tally(self, service_id: str, period: Period) -> Tally:
        total = Tally()
        for day in period.days():
            if (found := self.days.get((service_id, day))) is not None:
                total.include(found)
        return total

    def size(self, service_id: str, period: Period) -> Size:
        tally = self.tally(service_id, period)
        clerks = self.clerks.get((service_id, _CLERKS[period.granularity], period.first), 0)
        return Size(held=tally.held, clerks=clerks, empty=tally.empty)

    def hidden(
        self, rule: Rule, service_id: str, months: list[Period]
    ) -> set[tuple[Granularity, date]]:
        hidden: set[tuple[Granularity, date]] = set()
        for month in months:
            hidden |= hidden_in_month(rule, month, lambda p: self.size(service_id, p))
        return hidden
