"""The demo of ``make run``, as a newcomer meets it: ``buergerbuero serve`` in demo mode
prints, once it listens, the accounts with their skills and a link to an appointment
whose waiting room is open at once; the home page says the demo's hours."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from office.catalogue import Town, load_town
from office.slots import Slot
from signalling.app import create_app
from signalling.demo import DEMO_ACCOUNTS, demo_appointment, demo_service, demo_town, seed_demo
from signalling.keys import APPOINTMENTS, OFFICE, STAFF
from signalling.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.services import free_port

STARTUP_SECONDS = 60


def test_the_demo_town_takes_bookings_from_now_on() -> None:
    town = load_town()
    assert town.booking.lead_minutes > 0  # the file keeps the town's own rule
    demo = demo_town(town)
    assert demo.booking.lead_minutes == 0
    assert demo.booking.checkin_before_minutes == 60  # the next slot's room is open
    assert town.booking.checkin_before_minutes < 60
    assert demo.services == town.services


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A demo server as ``make run`` starts it, on a port and data folder of its own;
    yields its address and what it printed up to the demo link."""
    port = free_port()
    environment = {
        **os.environ,
        "BB_MODE": "demo",
        "BB_DATA_DIR": str(tmp_path / "var"),
        "BB_PORT": str(port),
        "BB_CAPTURE_WORKERS": "1",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "BB_PUBLIC_URL", "BB_WORKERS"):
        environment.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "signalling.cli", "serve"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while not any("/t/" in line for line in lines):
            line = process.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(lines)
            lines.append(line.rstrip("\n"))
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_make_run_prints_accounts_and_a_waiting_room_open_now(
    demo_server: tuple[str, list[str]],
) -> None:
    base, printed = demo_server
    started = next(i for i, line in enumerate(printed) if line.startswith("Bürgerbüro on"))
    guide = printed[printed.index("Demo accounts (second factor optional in demo mode):") :]
    assert started < len(printed) - len(guide)
    assert not any("alembic" in line for line in printed), printed  # no setup noise
    assert not any(" INFO " in line or "WARNING" in line for line in guide), guide
    for account in DEMO_ACCOUNTS:
        [line] = [g for g in guide if f" {account.username} " in g]
        assert account.password in line
        assert all(skill in line for skill in account.skills), line
    link = guide[-1].strip()
    assert link.startswith(f"{base}/t/"), guide

    # unsafe: the jar keeps cookies of an IP address (127.0.0.1), as a browser does
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(link) as response:  # the link sets the cookie, /termin
            assert response.status == 200 and response.url.path == "/termin"
            page = await response.text()
        assert 'href="/termin/warteraum"' in page  # open now, not a disabled button
        assert "Erika Mustermann" in page
        async with session.get(base + "/") as response:
            home = await response.text()
        assert "In dieser Demo täglich 00:00–23:59 Uhr" in home


async def test_the_demo_books_the_next_slot_when_the_first_begins_meanwhile(
    settings: Settings, town: Town, engine: AsyncEngine, clock: Clock
) -> None:
    app = create_app(settings, town=demo_town(town), now=clock, run_jobs=False)
    office, appointments = app[OFFICE], app[APPOINTMENTS]
    await seed_demo(app[STAFF], office)
    service = demo_service(office.town)
    first = (await appointments.slots(service.id, clock().date()))[0].starts_at
    clock.set(first - timedelta(milliseconds=1))  # the server starts just before it
    listed = appointments.slots

    async def slots_then_time_passes(service_id: str, day: date) -> list[Slot]:
        found = await listed(service_id, day)
        clock.set(first + timedelta(seconds=1))  # the slot began while it was booked
        return found

    appointments.slots = slots_then_time_passes  # type: ignore[method-assign]
    booked = await demo_appointment(appointments, office)
    assert booked is not None
    assert booked.appointment.starts_at > first
