"""The office's statistics for admins: ``GET /verwaltung/statistik`` (charts and
tables) and ``GET /verwaltung/statistik.csv`` (the same rows for a spreadsheet).

Query: ``von`` and ``bis`` (dates, ``YYYY-MM-DD``), ``je`` (``tag``, ``woche`` or
``monat``) and ``anliegen`` (a service id, or empty for all). Without them: the last
full month, by month, every service. The periods are whole: a range is widened to
the first and last period it touches. Never per clerk; the small-cell rule
(``office.statistics_rule``) hides figures that could show one person's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from office.errors import InvalidInput
from office.models import Clerk, Role
from office.statistics import Report, Statistics
from office.statistics_periods import Granularity, last_full_month
from office.statistics_rule import Rule
from signalling.keys import CLOCK, OFFICE, SETTINGS, TOWN
from signalling.pages.staff import staff_page
from signalling.render import render
from signalling.statistics_view import (
    HIDDEN,
    SECTIONS,
    chart,
    csv_text,
    service_name,
    table_rows,
)

routes = web.RouteTableDef()
PAGE = "/verwaltung/statistik"
MAX_DAYS = 366  # a year at most at once
MAX_DAYS_BY_DAY = 93  # a quarter, day by day
GRANULARITY_LABELS = {
    Granularity.DAY: "Tag",
    Granularity.WEEK: "Woche",
    Granularity.MONTH: "Monat",
}


@dataclass(frozen=True)
class Choice:
    """What the admin asked to see."""

    first: date
    last: date
    granularity: Granularity
    service_id: str | None

    def query(self) -> str:
        return urlencode(
            {
                "von": self.first.isoformat(),
                "bis": self.last.isoformat(),
                "je": self.granularity.value,
                "anliegen": self.service_id or "",
            }
        )


def _date(raw: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors[field] = "Bitte ein Datum angeben (TT.MM.JJJJ)."
        return None


def parse_choice(query: dict[str, str], service_ids: set[str], today: date) -> Choice:
    """The admin's choice from the query, or :class:`InvalidInput` in German."""
    default = last_full_month(today)
    errors: dict[str, str] = {}
    first = _date(query["von"], "von", errors) if query.get("von") else default.first
    last = _date(query["bis"], "bis", errors) if query.get("bis") else default.last
    raw_granularity = query.get("je") or Granularity.MONTH.value
    try:
        granularity = Granularity(raw_granularity)
    except ValueError:
        errors["je"] = "Bitte Tag, Woche oder Monat wählen."
        granularity = Granularity.MONTH
    service_id = query.get("anliegen") or None
    if service_id is not None and service_id not in service_ids:
        errors["anliegen"] = "Dieses Anliegen gibt es nicht."
    if first is not None and last is not None and not errors:
        limit = MAX_DAYS_BY_DAY if granularity is Granularity.DAY else MAX_DAYS
        if last < first:
            errors["bis"] = "Das Ende liegt vor dem Anfang."
        elif (last - first) + timedelta(days=1) > timedelta(days=limit):
            errors["bis"] = f"Bitte höchstens {limit} Tage auf einmal."
    if errors or first is None or last is None:
        raise InvalidInput(errors)
    return Choice(first, last, granularity, service_id)


def _statistics(request: web.Request) -> Statistics:
    settings = request.app[SETTINGS]
    rule = Rule(settings.stats_min_appointments, settings.stats_min_clerks)
    return Statistics(request.app[OFFICE], rule)


def _today(request: web.Request) -> date:
    return request.app[CLOCK]().astimezone(request.app[TOWN].tz).date()


def _service_ids(request: web.Request) -> set[str]:
    return {s.id for s in request.app[TOWN].services}


async def _report(request: web.Request, choice: Choice) -> Report:
    return await _statistics(request).report(
        choice.first, choice.last, choice.granularity, choice.service_id
    )


@routes.get(PAGE, name="statistics")
@staff_page(Role.ADMIN)
async def show(request: web.Request, clerk: Clerk) -> web.Response:
    town = request.app[TOWN]
    query = dict(request.query)
    context: dict[str, Any] = {
        "services": town.services,
        "granularities": GRANULARITY_LABELS,
        "values": query,
        "errors": {},
        "report": None,
        "hidden_mark": HIDDEN,
        "rule": _statistics(request).rule,
        "regular_hours": bool(town.regular_hours),
    }
    try:
        choice = parse_choice(query, _service_ids(request), _today(request))
    except InvalidInput as exc:
        context["errors"] = exc.fields
        return render(request, "staff/statistics.html", context, status=400)
    report = await _report(request, choice)
    whose = (
        "für alle gezeigten Anliegen zusammen"
        if choice.service_id is None
        else f"für {service_name(town, choice.service_id)}"
    )
    context.update(
        {
            "values": {
                "von": choice.first.isoformat(),
                "bis": choice.last.isoformat(),
                "je": choice.granularity.value,
                "anliegen": choice.service_id or "",
            },
            "report": report,
            "whose": whose,
            "csv_link": f"{PAGE}.csv?{choice.query()}",
            "sections": [
                {
                    "section": section,
                    "chart": chart(section, report, whose),
                    "rows": table_rows(report, town, section),
                }
                for section in SECTIONS
            ],
        }
    )
    return render(request, "staff/statistics.html", context)


@routes.get(PAGE + ".csv", name="statistics_csv")
@staff_page(Role.ADMIN)
async def download(request: web.Request, clerk: Clerk) -> web.Response:
    try:
        choice = parse_choice(dict(request.query), _service_ids(request), _today(request))
    except InvalidInput as exc:
        text = " ".join(exc.fields.values())
        return web.Response(status=400, text=text, content_type="text/plain", charset="utf-8")
    report = await _report(request, choice)
    name = f"statistik-{choice.first}-{choice.last}-{choice.granularity.value}.csv"
    return web.Response(
        body=csv_text(report, request.app[TOWN]).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
