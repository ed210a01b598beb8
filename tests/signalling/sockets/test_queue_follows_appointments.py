"""Property: whatever the order, no clerk is handed an appointment that was cancelled,
deleted or moved (and not checked in again for its new time).

Each example builds a fresh office (four citizens, two clerks) and runs random rounds
of actions; the actions of a round run at once, so the server interleaves them: the
citizens' HTTP actions (cancel by page or API, delete, move) against the waiting room's
socket commands (join, leave, next, take, end, send back, hang up).

What is checked comes from two independent records. The audit log, whose entries for
one appointment are ordered by the appointment's row lock, is replayed: a call may
start only while the appointment is open and checked in since its last move. And the
live state at the end: every place in the waiting room, and every call, belongs to an
appointment that may still be served.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from office.appointments import Appointments, servable
from office.catalogue import Town
from office.models import Appointment, AppointmentStatus, AuditEntry, Base
from office.staff import Staff
from office.tokens import Audience
from rooms.store import RoomStore
from signalling.app import create_app
from signalling.keys import APPOINTMENTS, ROOM_STORE, STAFF
from signalling.settings import Settings
from tests.helpers.booking import book_at, citizen_cookie, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import FUZZ_SEED, WEEKDAYS_7_TO_19, at, fuzz_examples
from tests.helpers.pages import csrf_of
from tests.helpers.peers import Peer
from tests.helpers.services import delete_prefix, redis_client

CITIZENS = 4
CLERKS = 2
TIMES = [at(10, 30), at(10, 30), at(10, 40), at(10, 40)]  # 12:30 and 12:40 in Ostfildern
MOVE_TO = date(2026, 6, 2)
_prefixes = itertools.count()


@dataclass
class Office:
    base: str
    desk: Appointments
    store: RoomStore
    appointments: list[Appointment]
    citizens: list[Peer]
    clerks: list[Peer]
    browsers: list[aiohttp.ClientSession]
    handed_over: list[tuple[int, str]] = field(default_factory=list)  # (clerk, appointment)


STAFF_TABLES = {"clerks", "clerk_skills", "clerk_hours", "staff_sessions"}


async def wipe(engine: AsyncEngine) -> None:
    """Empty every table but the staff's: the clerks are made once (hashing their
    passwords is the slow part of an office)."""
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in STAFF_TABLES:
                await connection.execute(delete(table))


async def clerks_of(staff: Staff) -> list[int]:
    existing = [c.id for c in await staff.all()]
    for n in range(len(existing), CLERKS):
        created = await staff.create(
            f"clerk{n}",
            f"Clerk {n}",
            "correct horse battery",
            skills=["meldewesen"],
            hours=WEEKDAYS_7_TO_19,
        )
        existing.append(created.id)
    return existing


@asynccontextmanager
async def fresh_office(
    settings: Settings, town: Town, engine: AsyncEngine, backend: str
) -> AsyncIterator[Office]:
    """A new app on an emptied database (and a Redis prefix of its own)."""
    await wipe(engine)
    clock = Clock()
    if backend == "redis":
        settings = settings.model_copy(
            update={"redis_prefix": f"{settings.redis_prefix}-{next(_prefixes)}"}
        )
    app = create_app(settings, town=town, now=clock, run_jobs=False)
    server = TestServer(app)
    await server.start_server()
    base = str(server.make_url("/"))
    desk: Appointments = app[APPOINTMENTS]
    staff: Staff = app[STAFF]
    clerk_ids = await clerks_of(staff)
    appointments = [
        await book_at(desk, when, email=f"c{n}@example.org", name=f"Citizen {n}")
        for n, when in enumerate(TIMES)
    ]
    clock.set(at(10, 28))
    citizens, clerks, browsers = [], [], []
    try:
        for appointment in appointments:
            peer = Peer("/citizen")
            await peer.connect(base, citizen_cookie(desk, appointment))
            citizens.append(peer)
            browser = aiohttp.ClientSession(
                base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)
            )
            browsers.append(browser)
        for clerk_id in clerk_ids:
            peer = Peer("/clerk")
            await peer.connect(base, await staff_cookie(staff, clerk_id))
            clerks.append(peer)
        yield Office(base, desk, app[ROOM_STORE], appointments, citizens, clerks, browsers)
    finally:
        for peer in citizens + clerks:
            if peer.client.connected:
                await peer.disconnect()
        for browser in browsers:
            await browser.close()
        await server.close()
        if backend == "redis" and settings.redis_url:
            client = await redis_client(int(settings.redis_url.rsplit("/", 1)[1]))
            await delete_prefix(client, settings.redis_prefix)
            await client.aclose()


# -- the actions ---------------------------------------------------------------------------


async def call(peer: Peer, event: str, data: Any = None) -> Any:
    """The command's ack; None when the server closed the socket instead (its
    appointment closed meanwhile: that close is the answer, and the client's pending
    ack would only time out)."""
    answer = asyncio.ensure_future(peer.call(event, data, within=10))
    while not answer.done():
        if not peer.client.connected:
            answer.cancel()
            return None
        await asyncio.wait({answer}, timeout=0.05)
    return answer.result() if answer.exception() is None else None


async def citizen_page(office: Office, n: int, path: str, **fields: str) -> int:
    """Open the citizen's link in their browser, then post the form at ``path``."""
    browser, appointment = office.browsers[n], office.appointments[n]
    token = office.desk.office.issue_token(appointment, Audience.JOIN_LINK)
    async with browser.get(f"/t/{token}", allow_redirects=False) as opened:
        if opened.status != 303:
            return opened.status  # the link no longer works (moved, cancelled, deleted)
    async with browser.get(path) as form:
        if form.status != 200:
            return form.status
        csrf = csrf_of(await form.text())
    async with browser.post(path, data={"csrf": csrf, **fields}, allow_redirects=False) as done:
        return done.status


async def cancel_api(office: Office, n: int) -> Any:
    token = office.desk.office.issue_token(office.appointments[n], Audience.JOIN_LINK)
    browser = office.browsers[n]
    async with browser.post("/api/v1/appointments/cancel", json={"token": token}) as response:
        return response.status


async def cancel_page(office: Office, n: int) -> Any:
    return await citizen_page(office, n, "/termin/absagen")


async def delete_data(office: Office, n: int) -> Any:
    return await citizen_page(office, n, "/termin/daten-loeschen")


async def move(office: Office, n: int) -> Any:
    slots = await office.desk.slots("meldebescheinigung", MOVE_TO)
    if not slots:
        return "no slot"
    status = await citizen_page(
        office, n, "/termin/verschieben", starts_at=slots[0].starts_at.isoformat()
    )
    if status == 303:  # the link changed: later actions use the new one
        office.appointments[n] = await office.desk.get(office.appointments[n].id)
    return status


async def join(office: Office, n: int) -> Any:
    return await call(office.citizens[n], "queue_join")


async def leave(office: Office, n: int) -> Any:
    return await call(office.citizens[n], "queue_leave")


async def hang_up(office: Office, n: int) -> Any:
    return await call(office.citizens[n], "call_hangup")


async def take_next(office: Office, c: int) -> Any:
    ack = await call(office.clerks[c % CLERKS], "queue_next")
    if ack and ack["ok"]:
        office.handed_over.append((c % CLERKS, ack["data"]["citizen"]["appointment_id"]))
    return ack


async def take(office: Office, n: int, c: int) -> Any:
    appointment_id = office.appointments[n].id
    ack = await call(office.clerks[c % CLERKS], "queue_take", {"appointment_id": appointment_id})
    if ack and ack["ok"]:
        office.handed_over.append((c % CLERKS, appointment_id))
    return ack


async def end(office: Office, c: int) -> Any:
    return await call(office.clerks[c % CLERKS], "call_end")


async def send_back(office: Office, c: int) -> Any:
    return await call(office.clerks[c % CLERKS], "call_requeue")


citizen = st.integers(0, CITIZENS - 1)
clerk = st.integers(0, CLERKS - 1)
actions = st.one_of(
    st.tuples(st.sampled_from([cancel_api, cancel_page, delete_data, move]), citizen),
    st.tuples(st.sampled_from([join, join, leave, hang_up]), citizen),
    st.tuples(st.sampled_from([take_next, take_next, end, send_back]), clerk),
    st.tuples(st.just(take), citizen, clerk),
)
# Everyone joins first (in random order) so that there is a queue to take from.
rounds = st.lists(st.lists(actions, min_size=1, max_size=3), min_size=4, max_size=12)


# -- what must hold ----------------------------------------------------------------------


async def replay_audit(desk: Appointments) -> dict[str, int]:
    """Replay each appointment's audit entries in the order of its row lock; a call
    may start only while it is open and checked in since its last move. Returns the
    number of calls started per appointment."""
    async with desk.office.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    closed: dict[str, str] = {}
    checked_in: set[str] = set()
    started: dict[str, int] = {}
    for entry in entries:
        if not entry.subject.startswith("appointment:"):
            continue
        appointment = entry.subject.removeprefix("appointment:")
        if entry.action == "visit.checked_in":
            assert appointment not in closed, f"checked in after {closed[appointment]}"
            checked_in.add(appointment)
        elif entry.action == "appointment.rescheduled":
            checked_in.discard(appointment)
        elif entry.action in ("appointment.cancelled", "appointment.data_deleted"):
            closed.setdefault(appointment, entry.action)
        elif entry.action == "visit.call_started":
            assert appointment not in closed, f"handed over after {closed[appointment]}"
            assert appointment in checked_in, "handed over without a check-in for its time"
            started[appointment] = started.get(appointment, 0) + 1
    return started


async def check(office: Office) -> None:
    started = await replay_audit(office.desk)
    for _clerk, appointment_id in office.handed_over:
        assert started.get(appointment_id, 0) >= 1, "a clerk got a call nobody recorded"
    async with office.desk.office.sessions() as session:
        rows = {a.id: a for a in (await session.scalars(select(Appointment))).all()}
    for ticket in await office.store.waiting():
        row = rows[ticket.appointment_id]
        assert servable(row), f"waiting, but {row.status}, deleted={row.personal_data_deleted_at}"
        assert row.starts_at.timestamp() == ticket.appointment_at, "waiting for the old time"
    for live_call in await office.store.calls():
        row = rows[live_call.appointment_id]
        assert row.status != AppointmentStatus.CANCELLED and row.personal_data_deleted_at is None


PROPERTY = hypothesis_settings(
    max_examples=fuzz_examples(12),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate],
)


@pytest.mark.parametrize("backend", ["memory", "redis"])
@PROPERTY
@seed(FUZZ_SEED)
@given(plan=rounds, first=st.permutations(range(CITIZENS)))
async def test_no_clerk_is_handed_a_closed_appointment(
    settings: Settings,
    town: Town,
    engine: AsyncEngine,
    backend: str,
    plan: list[list[tuple[Any, ...]]],
    first: list[int],
) -> None:
    async with fresh_office(settings, town, engine, backend) as office:
        await asyncio.gather(*(join(office, n) for n in first))
        for round_ in plan:
            await asyncio.gather(*(action(office, *args) for action, *args in round_))
        await asyncio.sleep(0.1)  # the last changes' pushes and hooks settle
        await check(office)
