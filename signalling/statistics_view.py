"""What the statistics page and its CSV show: the sections, their columns, and the
figures as German text. One list of columns serves the charts, the tables and the
CSV, so the three cannot disagree."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from office.catalogue import Town
from office.statistics import OUTCOMES, Report, Row, Tally
from office.statistics_periods import Granularity, Period
from signalling.charts import Series, bar_chart

HIDDEN = "–"  # a figure the small-cell rule hides (the page explains it in a footnote)
NONE = ""  # a figure that does not exist (a median of no calls)
TOTAL = "Alle gezeigten Anliegen"


@dataclass(frozen=True)
class Column:
    label: str  # the table's heading and the CSV's column name, unit included
    value: Callable[[Tally], float | None]  # in the unit of the label
    decimals: int = 0
    charted: bool = True  # False: in the table and the CSV only
    legend: str = ""  # a shorter name in the chart's legend

    @property
    def legend_label(self) -> str:
        return self.legend or self.label


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _euros(cents: int) -> float:
    return cents / 100


def _cases_in(outcome: str) -> Callable[[Tally], float | None]:
    return lambda tally: tally.cases(outcome)


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    what: str  # for the chart's description
    columns: tuple[Column, ...]


SECTIONS = (
    Section(
        "termine",
        "Termine",
        "Buchungen, Stornierungen, nicht wahrgenommene und abgehaltene Termine",
        (
            Column("Buchungen", lambda t: t.bookings),
            Column("Stornierungen", lambda t: t.cancellations),
            Column("Nicht erschienen", lambda t: t.no_shows),
            Column("Abgehaltene Termine", lambda t: t.held),
        ),
    ),
    Section(
        "zeiten",
        "Wartezeit und Gesprächsdauer",
        "Wartezeit vom Betreten des Warteraums bis zum Aufruf und Dauer der Gespräche, "
        "Median und 90. Perzentil in Minuten",
        (
            Column("Wartezeit Median (Min.)", lambda t: _minutes(t.wait_median), 1),
            Column("Wartezeit 90. Perzentil (Min.)", lambda t: _minutes(t.wait_p90), 1),
            Column("Gesprächsdauer Median (Min.)", lambda t: _minutes(t.call_median), 1),
            Column("Gesprächsdauer 90. Perzentil (Min.)", lambda t: _minutes(t.call_p90), 1),
        ),
    ),
    Section(
        "pruefungen",
        "Identitätsprüfungen",
        "Identitätsprüfungen mit dem Ergebnis bestanden und nicht bestanden",
        (
            Column("Identitätsprüfung bestanden", lambda t: t.checks_passed),
            Column("Identitätsprüfung nicht bestanden", lambda t: t.checks_failed),
        ),
    ),
    Section(
        "vorgaenge",
        "Vorgänge nach Stand",
        "Vorgänge nach ihrem heutigen Stand",
        tuple(Column(f"Vorgänge {label}", _cases_in(key)) for key, label, _ in OUTCOMES),
    ),
    Section(
        "gebuehren",
        "Gebühren",
        "in Rechnung gestellte und bezahlte Gebühren in Euro",
        (
            Column("Gebühren in Rechnung gestellt (EUR)", lambda t: _euros(t.invoiced_cents), 2),
            Column("Gebühren bezahlt (EUR)", lambda t: _euros(t.paid_cents), 2),
        ),
    ),
    Section(
        "zeitlage",
        "Außerhalb der regulären Öffnungszeiten",
        "Anteil der abgehaltenen Termine, die außerhalb der regulären Öffnungszeiten "
        "des Rathauses begannen, in Prozent",
        (
            Column(
                "Abgehalten außerhalb der Öffnungszeiten", lambda t: t.outside_hours, charted=False
            ),
            Column(
                "Anteil außerhalb der Öffnungszeiten (%)",
                lambda t: _percent(t.outside_share),
                1,
            ),
        ),
    ),
)
COLUMNS = tuple(column for section in SECTIONS for column in section.columns)


def number(value: float | None, decimals: int, *, grouped: bool) -> str:
    """German figures: a decimal comma, and (on the page) a dot between thousands."""
    if value is None:
        return NONE
    text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def cell(column: Column, row: Row, *, grouped: bool = True) -> str:
    if row.tally is None:
        return HIDDEN
    return number(column.value(row.tally), column.decimals, grouped=grouped)


def service_name(town: Town, service_id: str | None) -> str:
    if service_id is None:
        return TOTAL
    service = town.service(service_id)
    return service.name if service is not None else service_id


def short_label(period: Period) -> str:
    """A period's label on a chart's axis."""
    if period.granularity is Granularity.DAY:
        return f"{period.first:%d.%m.}"
    if period.granularity is Granularity.WEEK:
        return f"{period.first:%d.%m.}"
    return f"{period.first:%m/%Y}"


def charted_rows(report: Report) -> list[Row]:
    """The rows a chart shows, one per period: the total of the shown services, or
    the one service chosen."""
    wanted = None if len(report.services) > 1 else report.services[0]
    return [row for row in report.rows if row.service_id == wanted]


def chart(section: Section, report: Report, whose: str) -> Markup:
    rows = charted_rows(report)
    series = [
        Series(
            column.legend_label,
            [None if row.tally is None else column.value(row.tally) for row in rows],
        )
        for column in section.columns
        if column.charted
    ]
    description = (
        f"Balkendiagramm: {section.what}, je Zeitraum ({report.periods[0].label} bis "
        f"{report.periods[-1].label}), {whose}. Die Zahlen stehen in der Tabelle darunter."
    )
    return bar_chart(
        f"chart-{section.key}",
        section.title,
        description,
        [short_label(row.period) for row in rows],
        series,
    )


def csv_text(report: Report, town: Town) -> str:
    """The report as CSV for a German spreadsheet: semicolons, decimal commas, dates
    as DD.MM.YYYY, UTF-8 with a byte-order mark (so Excel reads the umlauts)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Zeitraum", "Von", "Bis", "Anliegen", *(c.label for c in COLUMNS), "Hinweis"])
    for row in report.rows:
        writer.writerow(
            [
                _text(row.period.label),
                f"{row.period.first:%d.%m.%Y}",
                f"{row.period.last:%d.%m.%Y}",
                _text(service_name(town, row.service_id)),
                *(cell(c, row, grouped=False) for c in COLUMNS),
                "nicht gezeigt: zu wenige Termine oder Mitarbeitende" if row.tally is None else "",
            ]
        )
    return out.getvalue()


def _text(value: str) -> str:
    """A text cell that a spreadsheet must not take for a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def table_rows(report: Report, town: Town, section: Section) -> Sequence[dict[str, object]]:
    return [
        {
            "period": row.period,
            "service_id": row.service_id or "",
            "service": service_name(town, row.service_id),
            "total": row.service_id is None,
            "hidden": row.tally is None,
            "cells": [cell(c, row) for c in section.columns],
        }
        for row in report.rows
    ]
