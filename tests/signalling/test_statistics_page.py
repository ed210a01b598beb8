"""The statistics page and its CSV against a month seeded through the office's own
desks (tests/helpers/statistics_month.py): the figures agree with the ones worked out
independently, no clerk appears anywhere, a service one clerk served shows nothing,
nothing hidden can be recovered from the weeks, and the figures survive the purge,
even the deletion of every appointment, check, case and invoice. On SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, func, select, update

from office.models import (
    Appointment,
    AuditEntry,
    Base,
    BookedUnit,
    Capture,
    Case,
    CaseEvent,
    Invoice,
    OutboxMail,
    Payment,
    Role,
    StatisticFact,
    VerificationRecord,
    VerificationStep,
)
from office.staff import Staff
from signalling.keys import JOBS, SESSIONS
from tests.helpers.booking import add_clerk
from tests.helpers.clock import Clock
from tests.helpers.mail import SmtpServer
from tests.helpers.statistics_month import (
    CLERKS,
    SEEDS,
    SKILLS,
    A,
    F,
    M,
    Month,
    Seed,
    expected,
)

PAGE = "/verwaltung/statistik"
JUNE = {"von": "2026-06-01", "bis": "2026-06-30", "je": "monat"}
TABLES = ("termine", "zeiten", "pruefungen", "vorgaenge", "gebuehren", "zeitlage")
HIDDEN = "–"
# Every table the figures were counted from, children first.
SOURCES: tuple[type[Base], ...] = (
    Payment,
    Invoice,
    CaseEvent,
    Case,
    Capture,
    VerificationStep,
    VerificationRecord,
    OutboxMail,
    BookedUnit,
    Appointment,
    AuditEntry,
)


class Tables(HTMLParser):
    """The statistics tables of a page: per table, its column headings and its rows
    (keyed by period and service: "" for the total of the shown services)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, Any]] = {}
        self._table: str | None = None
        self._row: tuple[str, str] | None = None
        self._cell: list[str] | None = None
        self._cells: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and (found.get("id") or "").startswith("table-"):
            self._table = str(found["id"]).removeprefix("table-")
            self.tables[self._table] = {"columns": [], "rows": {}}
        elif tag == "tr" and self._table and "data-period" in found:
            self._row = (str(found["data-period"]), str(found["data-service"]))
            self._cells = []
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            text = "".join(self._cell).strip()
            if self._row is None:
                self.tables[self._table]["columns"].append(text)
            else:
                self._cells.append(text)
            self._cell = None
        elif tag == "tr" and self._table and self._row is not None:
            self.tables[self._table]["rows"][self._row] = self._cells
            self._row = None
        elif tag == "table":
            self._table = None

    def row(self, period: str, service: str) -> dict[str, str]:
        """All figures of one row, by column heading, across the tables."""
        figures: dict[str, str] = {}
        for table in self.tables.values():
            columns = table["columns"][2:]  # after the period and the service
            figures.update(zip(columns, table["rows"][(period, service)][2:], strict=True))
        return figures


@pytest.fixture
async def month(client: TestClient[Any, Any], staff: Staff, clock: Clock, smtp: SmtpServer) -> int:
    """June played through the office; the admin's id (logged in)."""
    clerks = {name: await add_clerk(staff, name, *SKILLS[name]) for name in CLERKS}
    await Month(client.app, clock, smtp).play(clerks)
    admin = await staff.create("petra", "Petra P.", "correct horse battery", role=Role.ADMIN)
    clock.set(datetime(2026, 7, 10, 8, tzinfo=UTC))
    await login(client, staff, admin.id)
    return admin.id


async def login(client: TestClient[Any, Any], staff: Staff, staff_id: int) -> None:
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(staff_id)})


async def page(client: TestClient[Any, Any], **query: str) -> str:
    response = await client.get(PAGE, params=query)
    assert response.status == 200, await response.text()
    return await response.text()


async def download(client: TestClient[Any, Any], **query: str) -> str:
    response = await client.get(PAGE + ".csv", params=query)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith("\ufeff".encode()), "no byte-order mark for Excel"
    return raw.decode("utf-8").removeprefix("\ufeff")


def csv_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The CSV's rows by (first day, service name)."""
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    return {(row["Von"], row["Anliegen"]): row for row in rows}


def seeds_of(service: str) -> list[Seed]:
    return [s for s in SEEDS if s.service == service]


def without_hidden(figures: dict[str, str]) -> bool:
    return all(value == HIDDEN for value in figures.values())


async def test_the_month_agrees_with_the_seed_and_shows_no_clerk(
    client: TestClient[Any, Any], month: int
) -> None:
    # Without a choice: the last full month (the clock is in July), by month.
    html = await page(client)
    assert 'id="von" name="von" type="date" value="2026-06-01"' in html
    tables = Tables(html)
    assert set(tables.tables) == set(TABLES)
    want = expected(seeds_of(M), date(2026, 6, 1), date(2026, 6, 30))
    assert tables.row("2026-06-01", M) == want
    # One clerk served every Führungszeugnis: nothing of it shows, though it had six
    # calls; the Abmeldung had two calls (fewer than five).
    assert without_hidden(tables.row("2026-06-01", F))
    assert without_hidden(tables.row("2026-06-01", A))
    # The total adds up the shown services only.
    assert tables.row("2026-06-01", "") == want
    # Other services had nothing at all: zeros, not hidden.
    assert tables.row("2026-06-01", "lebensbescheinigung")["Buchungen"] == "0"
    for table in TABLES:
        assert f'id="chart-{table}"' in html
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="chart-termine-title', html)

    text = await download(client, **JUNE)
    rows = csv_rows(text)
    header = text.splitlines()[0].split(";")
    assert header[:4] == ["Zeitraum", "Von", "Bis", "Anliegen"]
    shown = rows[("01.06.2026", "Meldebescheinigung")]
    assert {k: shown[k] for k in want} == want
    assert {k: rows[("01.06.2026", "Alle gezeigten Anliegen")][k] for k in want} == want
    hidden = rows[("01.06.2026", "Führungszeugnis")]
    assert all(hidden[k] == HIDDEN for k in want) and hidden["Hinweis"]

    for text_shown in (html, text, await page(client, **dict(JUNE, je="woche"))):
        for username, name in CLERKS.items():
            assert username not in text_shown.lower()
            assert name not in text_shown
        assert "Petra" not in text_shown and "petra" not in text_shown
        assert "clerk:" not in text_shown


async def test_no_hidden_week_can_be_recovered_from_the_month(
    client: TestClient[Any, Any], month: int
) -> None:
    html = await page(client, von="2026-06-01", bis="2026-06-30", je="woche", anliegen=M)
    tables = Tables(html)
    weeks = ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22", "2026-06-29"]
    rows = {week: tables.row(week, M) for week in weeks}
    # Week 1: six calls by two clerks, shown as seeded.
    assert rows[weeks[0]] == expected(seeds_of(M), date(2026, 6, 1), date(2026, 6, 7))
    # Week 3 (two calls, one clerk) and week 4 (a booking, cancelled) are hidden; their
    # sum would still be one clerk's work, so week 2 is hidden with them.
    assert all(without_hidden(rows[w]) for w in weeks[1:4])
    # Nothing happened in week 5.
    assert rows[weeks[4]]["Buchungen"] == "0" and rows[weeks[4]]["Abgehaltene Termine"] == "0"
    # What subtraction gives (the month minus the shown weeks) rests on enough calls.
    month_held = int(
        expected(seeds_of(M), date(2026, 6, 1), date(2026, 6, 30))["Abgehaltene Termine"]
    )
    shown_held = sum(int(rows[w]["Abgehaltene Termine"]) for w in (weeks[0], weeks[4]))
    assert month_held - shown_held >= 5
    # Day by day, every day of week 1 with a call is hidden (never two clerks and five
    # calls in a day), and so are their sums: the week's figures stay the only ones.
    days = Tables(await page(client, von="2026-06-01", bis="2026-06-07", je="tag", anliegen=M))
    assert all(without_hidden(days.row(f"2026-06-0{d}", M)) for d in range(1, 7))
    assert days.row("2026-06-07", M)["Buchungen"] == "0"  # a Sunday


async def test_the_figures_survive_the_purge_and_the_loss_of_every_source(
    client: TestClient[Any, Any], month: int, clock: Clock, staff: Staff
) -> None:
    before_html = Tables(await page(client, **JUNE)).tables
    before_weeks = Tables(await page(client, **dict(JUNE, je="woche"))).tables
    before_csv = await download(client, **JUNE)

    clock.set(datetime(2026, 8, 1, 8, tzinfo=UTC))
    assert await client.app[JOBS].purge.run() > 0
    sessions = client.app[SESSIONS]
    async with sessions() as session:
        kept = await session.scalar(select(func.count()).where(Appointment.name.is_not(None)))
    assert kept == 1  # the one whose fee is still open
    await login(client, staff, month)  # a month later: a new session
    assert Tables(await page(client, **JUNE)).tables == before_html
    assert await download(client, **JUNE) == before_csv

    # Whatever later retention rules delete, the facts do not depend on it: not even
    # on the appointments naming their clerk.
    async with sessions() as session, session.begin():
        await session.execute(update(Appointment).values(clerk_id=None))
        for table in SOURCES:
            await session.execute(delete(table))
    assert Tables(await page(client, **JUNE)).tables == before_html
    assert Tables(await page(client, **dict(JUNE, je="woche"))).tables == before_weeks
    assert await download(client, **JUNE) == before_csv


async def test_the_facts_hold_no_person(client: TestClient[Any, Any], month: int) -> None:
    async with client.app[SESSIONS]() as session:
        facts = (await session.scalars(select(StatisticFact))).all()
    assert facts
    columns = set(StatisticFact.__table__.columns.keys())
    assert columns == {"id", "day", "service_id", "kind", "count", "amount"}
    # A clerk count is a number, never who: at most the three clerks there are.
    assert all(f.amount is not None and f.amount <= 3 for f in facts if "clerks" in f.kind)


async def test_only_admins_see_the_statistics_and_bad_choices_are_refused(
    client: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    assert (await client.get(PAGE, allow_redirects=False)).status == 303  # to the login
    await login(client, staff, clerk)
    for path in (PAGE, PAGE + ".csv"):
        response = await client.get(path)
        assert response.status == 403
    admin = await staff.create("petra", "Petra P.", "correct horse battery", role=Role.ADMIN)
    await login(client, staff, admin.id)
    response = await client.get(PAGE, params={"von": "2026-06-30", "bis": "2026-06-01"})
    assert response.status == 400
    assert "Das Ende liegt vor dem Anfang." in await response.text()
    response = await client.get(PAGE, params={"je": "stunde", "anliegen": "gibt-es-nicht"})
    assert response.status == 400
    text = await response.text()
    assert (
        "Bitte Tag, Woche oder Monat wählen." in text and "Dieses Anliegen gibt es nicht." in text
    )
    response = await client.get(
        PAGE + ".csv", params={"von": "2026-01-01", "bis": "2026-06-30", "je": "tag"}
    )
    assert response.status == 400
    assert "höchstens 93 Tage" in await response.text()
    # The dashboard links the page.
    assert 'href="/verwaltung/statistik"' in await (await client.get("/dashboard")).text()
