"""Reminder mails and the mail outbox, across job runs, restarts and two app nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from office.appointments import Appointments
from office.booking_request import BookingRequest
from office.catalogue import Town
from office.models import Appointment, OutboxMail
from signalling.app import create_app
from signalling.keys import APPOINTMENTS, JOBS, SESSIONS, STAFF
from signalling.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.constants import WEEKDAYS_7_TO_19
from tests.helpers.mail import SmtpServer, body, join_link
from tests.helpers.services import free_port

WEDNESDAY = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)  # 12:30 local, two days ahead
LEAD = timedelta(hours=24)
REMINDER = "Erinnerung"


@asynccontextmanager
async def running(
    settings: Settings, clock: Clock, town: Town
) -> AsyncIterator[TestClient[Any, Any]]:
    """One app node on the test database, jobs driven by hand; shut down on exit."""
    app = create_app(settings, town=town, now=clock, run_jobs=False)
    async with TestClient(TestServer(app)) as client:
        yield client


async def add_clerk(client: TestClient[Any, Any]) -> None:
    await client.app[STAFF].create(
        "anna", "Anna A.", "correct horse battery", skills=["meldewesen"], hours=WEEKDAYS_7_TO_19
    )


async def book(
    client: TestClient[Any, Any], starts_at: datetime, email: str = "erika@example.org"
) -> Appointment:
    desk: Appointments = client.app[APPOINTMENTS]
    request = BookingRequest("meldebescheinigung", starts_at, "Erika Mustermann", email, None, "de")
    return (await desk.book(request)).appointment


async def run_jobs(client: TestClient[Any, Any]) -> int:
    """One round of the reminder job and then the mail job; returns reminders queued."""
    queued: int = await client.app[JOBS].reminders.run()
    await client.app[JOBS].mail.run()
    return queued


async def outbox_rows(client: TestClient[Any, Any]) -> list[OutboxMail]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(OutboxMail).order_by(OutboxMail.id))).all())


async def test_one_reminder_at_lead_time_across_runs_and_a_restart(
    settings: Settings, clock: Clock, town: Town, engine: AsyncEngine, smtp: SmtpServer
) -> None:
    async with running(settings, clock, town) as first:
        await add_clerk(first)
        appointment = await book(first, WEDNESDAY)
        assert await run_jobs(first) == 0
        assert len(smtp.inbox.to("erika@example.org")) == 1  # the confirmation
        clock.set(appointment.starts_at - LEAD - timedelta(minutes=1))
        assert await run_jobs(first) == 0
        assert smtp.inbox.of_kind(REMINDER) == []
        clock.set(appointment.starts_at - LEAD)
        assert await run_jobs(first) == 1
        assert await run_jobs(first) == 0
        assert len(smtp.inbox.of_kind(REMINDER)) == 1

    # A restarted node on the same database must not remind again.
    async with running(settings, clock, town) as second:
        for _ in range(5):
            clock.advance(minutes=7)
            assert await run_jobs(second) == 0
        rows = await outbox_rows(second)

    [reminder] = smtp.inbox.of_kind(REMINDER)
    assert reminder["To"] == "erika@example.org"
    assert "Erika Mustermann" in body(reminder)
    assert join_link(reminder).startswith("/t/")
    assert sorted(r.kind for r in rows) == ["confirmation", "reminder"]
    assert all(r.sent_at is not None and r.message is None for r in rows)
    assert len(smtp.inbox.messages) == 2


async def test_reminder_queued_before_a_restart_is_sent_once_by_the_next_node(
    settings: Settings, clock: Clock, town: Town, engine: AsyncEngine, smtp: SmtpServer
) -> None:
    async with running(settings, clock, town) as first:
        await add_clerk(first)
        appointment = await book(first, WEDNESDAY)
        clock.set(appointment.starts_at - LEAD + timedelta(minutes=3))
        assert await first.app[JOBS].reminders.run() == 1  # queued, not yet delivered
    assert smtp.inbox.of_kind(REMINDER) == []

    async with running(settings, clock, town) as second:
        for _ in range(3):
            assert await run_jobs(second) == 0
            clock.advance(minutes=1)
    assert len(smtp.inbox.of_kind(REMINDER)) == 1


async def test_two_nodes_at_once_send_each_reminder_once(
    settings: Settings, clock: Clock, town: Town, engine: AsyncEngine, smtp: SmtpServer
) -> None:
    addresses = [f"person{i}@example.org" for i in range(5)]
    async with running(settings, clock, town) as one, running(settings, clock, town) as two:
        await add_clerk(one)
        for i, address in enumerate(addresses):
            await book(one, WEDNESDAY + timedelta(minutes=10 * i), email=address)
        clock.set(WEDNESDAY + timedelta(minutes=10 * len(addresses)) - LEAD)  # all due
        queued_per_round = []
        for _ in range(3):
            counts = await asyncio.gather(
                one.app[JOBS].reminders.run(), two.app[JOBS].reminders.run()
            )
            await asyncio.gather(one.app[JOBS].mail.run(), two.app[JOBS].mail.run())
            queued_per_round.append(sum(int(c) for c in counts))
            clock.advance(seconds=20)
    assert queued_per_round == [len(addresses), 0, 0]
    assert len(smtp.inbox.of_kind(REMINDER)) == len(addresses)
    for address in addresses:
        assert [str(m["Subject"]).startswith(REMINDER) for m in smtp.inbox.to(address)] == [
            False,
            True,
        ]


async def test_booking_within_the_lead_gets_no_separate_reminder(
    settings: Settings, clock: Clock, town: Town, engine: AsyncEngine, smtp: SmtpServer
) -> None:
    async with running(settings, clock, town) as node:
        await add_clerk(node)
        soon = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)  # 4.5 hours from now
        await book(node, soon)
        for _ in range(3):
            assert await run_jobs(node) == 0
            clock.advance(minutes=30)
        rows = await outbox_rows(node)
    assert smtp.inbox.of_kind(REMINDER) == []
    assert len(smtp.inbox.to("erika@example.org")) == 1
    assert [r.kind for r in rows] == ["confirmation"]


async def test_cancelled_appointment_gets_no_reminder(
    settings: Settings, clock: Clock, town: Town, engine: AsyncEngine, smtp: SmtpServer
) -> None:
    async with running(settings, clock, town) as node:
        await add_clerk(node)
        appointment = await book(node, WEDNESDAY)
        await node.app[APPOINTMENTS].cancel(appointment.id)
        clock.set(appointment.starts_at - LEAD)
        for _ in range(3):
            assert await run_jobs(node) == 0
            clock.advance(hours=2)
    assert smtp.inbox.of_kind(REMINDER) == []
    assert len(smtp.inbox.of_kind("Abgesagt")) == 1


async def test_mail_waits_while_smtp_is_down_and_goes_out_once_it_is_back(
    settings: Settings, clock: Clock, town: Town, engine: AsyncEngine, smtp: SmtpServer
) -> None:
    down = settings.model_copy(update={"smtp_port": free_port()})  # nobody listens there
    async with running(down, clock, town) as node:
        await add_clerk(node)
        await book(node, WEDNESDAY)
        assert await node.app[JOBS].mail.run() == 0
        [row] = await outbox_rows(node)
        assert row.attempts == 1 and row.sent_at is None and row.failed_at is None
        assert row.message is not None and row.last_error
        assert await node.app[JOBS].mail.run() == 0  # backing off: not tried again yet
        assert (await outbox_rows(node))[0].attempts == 1
        clock.advance(seconds=31)
        assert await node.app[JOBS].mail.run() == 0
        [row] = await outbox_rows(node)
        assert row.attempts == 2 and row.sent_at is None and row.message is not None
    assert smtp.inbox.messages == []

    async with running(settings, clock, town) as node:
        assert await node.app[JOBS].mail.run() == 0  # still within the second backoff
        clock.advance(seconds=61)
        assert await node.app[JOBS].mail.run() == 1
        assert await node.app[JOBS].mail.run() == 0
        [row] = await outbox_rows(node)
    assert row.sent_at == clock() and row.attempts == 3
    assert row.message is None and row.last_error is None
    [mail] = smtp.inbox.to("erika@example.org")
    assert "Meldebescheinigung" in str(mail["Subject"])
