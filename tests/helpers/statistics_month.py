"""A month of the office's work for the statistics tests: June 2026, seeded through
the office's own desks (booking, moving, cancelling, checking in, calls, identity
checks with the mailed code, cases, invoices, payments, no-shows), and the figures
it must give, worked out by hand and in plain Python, without the statistics code.

Three services: the Meldebescheinigung, served by two clerks (shown); the
Führungszeugnis, served by one clerk only (hidden, however many calls); the
Abmeldung, two calls (hidden: fewer than K = 5).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from zoneinfo import ZoneInfo

from aiohttp import web

from office.case_views import PaymentMethod
from office.cases import CaseState
from office.invoices import InvoiceDelivery
from office.models import AppointmentStatus, SpecialHours
from office.verification import CLERK_STEPS, Outcome, Step, Verifications
from office.visits import Visits
from signalling.keys import APPOINTMENTS, CASES, INVOICES, JOBS, OFFICE
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import SECRET
from tests.helpers.mail import SmtpServer, body

BERLIN = ZoneInfo("Europe/Berlin")
M, F, A = "meldebescheinigung", "fuehrungszeugnis", "abmeldung-ummeldung"
FEES = {M: 1000, F: 1300, A: 0}
CLERKS = {"zora": "Zora Z.", "quirin": "Quirin Q.", "xaver": "Xaver X."}  # usernames, names
SKILLS = {"zora": ("meldewesen",), "quirin": ("meldewesen",), "xaver": ("bundeszentralregister",)}
# Extra hours: Corpus Christi (a holiday in Baden-Württemberg) and a Friday morning.
SPECIAL = [(date(2026, 6, 4), time(10), time(12)), (date(2026, 6, 5), time(9), time(11))]


def june(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@dataclass(frozen=True)
class Seed:
    n: int
    service: str
    start: datetime  # where it ends up
    fate: str  # held, no_show, cancelled
    clerk: str | None = None  # who serves it
    wait: int = 0  # seconds from the check-in to the call
    call: int = 0  # seconds of the call
    check: str | None = None  # passed, failed
    case: str | None = None  # the case's last state
    outside: bool = False  # outside the town hall's regular hours (worked out by hand)
    booked_for: datetime | None = None  # first booked for this, then moved

    @property
    def day(self) -> date:
        return self.start.astimezone(BERLIN).date()

    @property
    def email(self) -> str:
        return f"person{self.n}@example.org"


SEEDS = [
    # Week 1 (1-7 June): six calls by two clerks.
    Seed(1, M, june(1, 7), "held", "zora", 130, 480, "passed", "posted", outside=True),
    Seed(2, M, june(1, 12, 30), "held", "quirin", 300, 720, "failed", "cancelled", outside=True),
    Seed(3, M, june(2, 7, 10), "held", "zora", 65, 360, outside=True),
    Seed(4, M, june(3, 13), "held", "quirin", 600, 540, "passed", "payment_pending", outside=True),
    Seed(5, M, june(4, 10), "held", "zora", 20, 420, outside=True),  # a holiday
    Seed(6, M, june(5, 9), "held", "quirin", 180, 600, outside=False),  # extra hours, inside
    Seed(7, M, june(6, 9), "cancelled"),
    Seed(8, M, june(5, 7), "no_show"),
    # Week 2 (8-14 June): five calls by two clerks.
    Seed(9, M, june(8, 7), "held", "zora", 240, 660, "passed", "closed", outside=True),
    Seed(10, M, june(9, 12, 30), "held", "quirin", 360, 300, outside=True),
    Seed(11, M, june(10, 7, 20), "held", "zora", 110, 840, outside=True),
    Seed(12, M, june(11, 13), "held", "quirin", 480, 545, outside=False),  # Thursday 8-18:30
    Seed(13, M, june(11, 14), "held", "zora", 75, 600, outside=False),
    Seed(14, M, june(12, 7), "no_show"),
    # Week 3 (15-21 June): two calls, one clerk.
    Seed(15, M, june(15, 7), "held", "zora", 200, 430, outside=True),
    Seed(16, M, june(16, 7), "held", "zora", 150, 470, outside=True),
    # Week 4: a booking moved here from week 3, then cancelled.
    Seed(17, M, june(24, 12, 30), "cancelled", booked_for=june(17, 12, 30)),
    # The Führungszeugnis: six calls, all by one clerk.
    Seed(21, F, june(1, 14), "held", "xaver", 100, 500, "passed", "forwarded", outside=True),
    Seed(22, F, june(2, 14), "held", "xaver", 200, 600, outside=True),
    Seed(23, F, june(8, 15), "held", "xaver", 90, 700, "passed", "forwarded", outside=True),
    Seed(24, F, june(9, 15), "held", "xaver", 95, 650, outside=True),
    Seed(25, F, june(11, 15), "held", "xaver", 105, 550, outside=False),
    Seed(26, F, june(16, 15), "held", "xaver", 115, 610, outside=True),
    # The Abmeldung: two calls.
    Seed(31, A, june(2, 13, 10), "held", "zora", 60, 900, outside=True),
    Seed(32, A, june(17, 13, 10), "held", "zora", 120, 1000, outside=True),
]

# -- the figures, in plain Python ------------------------------------------------------

RUNNING = {"open", "verified", "payment_pending", "paid", "waived", "in_fulfilment"}


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}".replace(".", ",")


def _p90(values: list[int]) -> int | None:
    ordered = sorted(values)
    return ordered[ceil(len(ordered) * 9 / 10) - 1] if ordered else None


def expected(seeds: list[Seed], first: date, last: date) -> dict[str, str]:
    """The figures of these seeds in these days, as the table and the CSV write them."""
    mine = [s for s in seeds if first <= s.day <= last]
    held = [s for s in mine if s.fate == "held"]
    waits = [s.wait for s in held]
    calls = [s.call for s in held]
    invoiced = [s for s in mine if s.case in {"posted", "closed", "payment_pending", "forwarded"}]
    paid = [s for s in invoiced if s.case != "payment_pending"]
    outside = sum(1 for s in held if s.outside)
    return {
        "Buchungen": str(len(mine)),
        "Stornierungen": str(sum(1 for s in mine if s.fate == "cancelled")),
        "Nicht erschienen": str(sum(1 for s in mine if s.fate == "no_show")),
        "Abgehaltene Termine": str(len(held)),
        "Wartezeit Median (Min.)": _minutes(statistics.median(waits) if waits else None),
        "Wartezeit 90. Perzentil (Min.)": _minutes(_p90(waits)),
        "Gesprächsdauer Median (Min.)": _minutes(statistics.median(calls) if calls else None),
        "Gesprächsdauer 90. Perzentil (Min.)": _minutes(_p90(calls)),
        "Identitätsprüfung bestanden": str(sum(1 for s in mine if s.check == "passed")),
        "Identitätsprüfung nicht bestanden": str(sum(1 for s in mine if s.check == "failed")),
        "Vorgänge in Bearbeitung": str(sum(1 for s in mine if s.case in RUNNING)),
        "Vorgänge per Post versandt": str(sum(1 for s in mine if s.case == "posted")),
        "Vorgänge an das Bundeszentralregister übermittelt": str(
            sum(1 for s in mine if s.case == "forwarded")
        ),
        "Vorgänge abgeschlossen": str(sum(1 for s in mine if s.case == "closed")),
        "Vorgänge storniert": str(sum(1 for s in mine if s.case == "cancelled")),
        "Vorgänge gescheitert": "0",
        "Gebühren in Rechnung gestellt (EUR)": _euros(sum(FEES[s.service] for s in invoiced)),
        "Gebühren bezahlt (EUR)": _euros(sum(FEES[s.service] for s in paid)),
        "Abgehalten außerhalb der Öffnungszeiten": str(outside),
        "Anteil außerhalb der Öffnungszeiten (%)": (
            f"{100 * outside / len(held):.1f}".replace(".", ",") if held else ""
        ),
    }


def _euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


# -- the month, through the office's desks ---------------------------------------------


class Month:
    """Plays the seeds through a running app, in the order of time."""

    def __init__(self, app: web.Application, clock: Clock, smtp: SmtpServer) -> None:
        self.app, self.clock, self.smtp = app, clock, smtp
        office = app[OFFICE]
        self.desk = app[APPOINTMENTS]
        self.cases = app[CASES]
        self.invoices = app[INVOICES]
        self.visits = Visits(office)
        self.checks = Verifications(office, SECRET)
        self.ids: dict[int, str] = {}

    async def play(self, clerks: dict[str, int]) -> None:
        async with self.app[OFFICE].sessions() as session, session.begin():
            session.add_all(SpecialHours(day=d, start=s, end=e) for d, s, e in SPECIAL)
        self.clock.set(datetime(2026, 5, 28, 8, tzinfo=UTC))
        for seed in SEEDS:
            booked = await book_at(
                self.desk, seed.booked_for or seed.start, seed.service, email=seed.email
            )
            self.ids[seed.n] = booked.id
            if seed.booked_for is not None:
                await self.desk.reschedule(booked.id, seed.start)
            if seed.fate == "cancelled":
                await self.desk.cancel(booked.id)
        for seed in sorted(SEEDS, key=lambda s: s.start):
            if seed.fate == "held":
                assert seed.clerk is not None
                await self._held(seed, clerks[seed.clerk])
            elif seed.fate == "no_show":
                self.clock.set(seed.start + timedelta(minutes=20))
                await self.visits.mark_no_shows(timedelta(minutes=15))
                appointment = await self.desk.get(self.ids[seed.n])
                assert appointment.status == AppointmentStatus.NO_SHOW

    async def _held(self, seed: Seed, clerk: int) -> None:
        appointment_id = self.ids[seed.n]
        self.clock.set(seed.start - timedelta(minutes=5))
        await self.visits.check_in(appointment_id)
        self.clock.advance(seconds=seed.wait)
        booked_for = round(seed.start.timestamp(), 3)
        assert await self.visits.call_started(appointment_id, clerk, booked_for)
        if seed.check is not None:
            await self._check(seed, clerk)
        if seed.case is not None:
            await self._case(seed, clerk)
        self.clock.advance(seconds=seed.call)
        await self.visits.call_finished(appointment_id, clerk)

    async def _check(self, seed: Seed, clerk: int) -> None:
        checks = self.checks
        vid = (await checks.start(self.ids[seed.n], clerk, "id_card")).verification_id
        if seed.check == "failed":
            await checks.finish(vid, clerk, Outcome.FAILED, "Ausweis abgelaufen")
            return
        await checks.consent(vid)
        for step in sorted(CLERK_STEPS):
            await checks.record(vid, clerk, Step(step), True)
        await checks.send_code(vid)
        await self.app[JOBS].mail.run()
        [mail] = [m for m in self.smtp.inbox.to(seed.email) if "Bestätigungscode" in m["Subject"]]
        code = re.search(r"^\s+(\d{6})\s*$", body(mail), re.MULTILINE)
        assert code is not None
        assert await checks.check_code(vid, code.group(1))
        await checks.finish(vid, clerk, Outcome.VERIFIED)

    async def _case(self, seed: Seed, clerk: int) -> None:
        cases, actor = self.cases, f"clerk:{clerk}"
        case = await cases.open(self.ids[seed.n], seed.service, clerk)
        if seed.case == "cancelled":
            await cases.transition(case.id, CaseState.CANCELLED, actor, reason="Zurückgezogen")
            return
        await cases.transition(case.id, CaseState.VERIFIED, actor)
        await cases.transition(
            case.id, CaseState.PAYMENT_PENDING, actor, method=PaymentMethod.INVOICE_EMAIL
        )
        await self.invoices.issue(
            case.id, InvoiceDelivery.EMAIL, f"Person {seed.n}", [], seed.email, actor
        )
        if seed.case == "payment_pending":
            return
        await cases.record_payment(case.id, "bank", f"RF-{seed.n}", FEES[seed.service], "bank")
        await cases.transition(case.id, CaseState.IN_FULFILMENT, actor)
        if seed.case == "forwarded":
            await cases.transition(
                case.id, CaseState.FORWARDED, actor, bzr_reference=f"BZR-{seed.n}"
            )
            return
        today = self.clock().astimezone(BERLIN).date()
        await cases.transition(case.id, CaseState.POSTED, actor, posted_on=today)
        if seed.case == "closed":
            await cases.transition(case.id, CaseState.CLOSED, actor)
