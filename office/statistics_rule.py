"""The small-cell rule: no figure that would show one person's work.

A cell is one service in one period. It shows its figures only when it rests on at
least ``min_appointments`` held appointments (K, ``BB_STATS_MIN_APPOINTMENTS``) and
at least ``min_clerks`` different clerks served that service in that period; else
every figure of the cell is hidden ("–"). A cell in which nothing happened at all
shows its zeros: they tell nothing about anybody's work.

Hiding a cell is not enough when a longer period shows: June minus the days shown
would give the hidden days' sum. Days, weeks (cut at the month's end) and months
nest (``office.statistics_periods``), so what can be recovered by subtraction is,
for each shown period, the sum of its hidden sub-periods. Where that sum would fail
the rule itself, more sub-periods are hidden (the smallest first) until it passes:
the sum then rests on K appointments and on more than one clerk. Totals over
services add up shown cells only (``office.statistics``). The number of clerks of a
sum of hidden periods is taken as the largest of theirs, which can only be too low:
it hides more, never less.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from office.statistics_periods import Granularity, Period, weeks_of


@dataclass(frozen=True)
class Size:
    """What the rule judges a cell (or a sum of cells) by."""

    held: int  # held appointments
    clerks: int  # different clerks who served them (a lower bound for a sum)
    empty: bool  # nothing at all happened


@dataclass(frozen=True)
class Rule:
    min_appointments: int
    min_clerks: int = 2

    def passes(self, size: Size) -> bool:
        return size.held >= self.min_appointments and size.clerks >= self.min_clerks

    def shows(self, size: Size) -> bool:
        return size.empty or self.passes(size)


def children(period: Period) -> list[Period]:
    if period.granularity is Granularity.MONTH:
        return weeks_of(period)
    if period.granularity is Granularity.WEEK:
        return [Period(day, day, Granularity.DAY) for day in period.days()]
    return []


def _sum(sizes: Sequence[Size]) -> Size:
    return Size(
        held=sum(s.held for s in sizes),
        clerks=max((s.clerks for s in sizes), default=0),
        empty=all(s.empty for s in sizes),
    )


def hidden_in_month(
    rule: Rule, month: Period, size_of: Callable[[Period], Size]
) -> set[tuple[Granularity, date]]:
    """The keys of the periods of one service's month (the month, its weeks, its
    days) whose figures are hidden."""
    hidden: set[tuple[Granularity, date]] = set()

    def hide(period: Period) -> None:
        hidden.add(period.key)
        for child in children(period):
            hide(child)

    def walk(period: Period) -> None:
        if not rule.shows(size_of(period)):
            hide(period)
            return
        parts = children(period)
        failing = [p for p in parts if not rule.shows(size_of(p))]
        # Shown parts that could make the hidden sum pass, smallest first.
        spare = sorted(
            (p for p in parts if p not in failing and not size_of(p).empty),
            key=lambda p: (size_of(p).held, p.first),
        )
        while failing and spare and not rule.passes(_sum([size_of(p) for p in failing])):
            failing.append(spare.pop(0))
        # Once nothing is spare, the hidden parts are all that happened in the period,
        # whose own figures pass: their sum is the period's.
        for part in parts:
            if part in failing:
                hide(part)
            else:
                walk(part)

    walk(month)
    return hidden
