"""Deleting personal data after the retention period, and keeping it out of the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from office.appointments import Appointments
from office.booking_request import BookingRequest
from office.case_views import PaymentMethod
from office.cases import Cases, CaseState
from office.db import create_engine, session_factory
from office.models import Appointment, AppointmentStatus, AuditEntry, OutboxMail
from signalling.cli import main
from signalling.keys import CASES, JOBS, SESSIONS
from tests.helpers.booking import verify
from tests.helpers.clock import Clock
from tests.helpers.mail import SmtpServer, body, deliver_mail, join_link
from tests.helpers.pages import csrf_of, slots_of

MONDAY = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
WEDNESDAY = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)
RETENTION = timedelta(days=7)
NAME, EMAIL, PHONE = "Erika Mustermann", "erika@example.org", "+49 711 123456"
OTHER_NAME, OTHER_EMAIL = "Max Mustermann", "max@example.org"


async def book(desk: Appointments, starts_at: datetime, name: str, email: str) -> Appointment:
    request = BookingRequest("meldebescheinigung", starts_at, name, email, PHONE, "de")
    return (await desk.book(request)).appointment


async def purge(client: TestClient[Any, Any]) -> int:
    count: int = await client.app[JOBS].purge.run()
    return count


async def load(client: TestClient[Any, Any], appointment_id: str) -> Appointment:
    async with client.app[SESSIONS]() as session:
        appointment: Appointment | None = await session.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment


async def queue_unsent(client: TestClient[Any, Any], appointment_id: str, now: datetime) -> int:
    """An undelivered mail row about the appointment, written now."""
    async with client.app[SESSIONS]() as session, session.begin():
        row = OutboxMail(
            appointment_id=appointment_id, kind="reminder", message="To: x", created_at=now
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_purge_erases_expired_personal_data_only_once(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock, smtp: SmtpServer
) -> None:
    old = await book(desk, MONDAY, NAME, EMAIL)
    new = await book(desk, WEDNESDAY, OTHER_NAME, OTHER_EMAIL)
    await deliver_mail(client)
    link = join_link(smtp.inbox.to(EMAIL)[0])
    assert (await client.get(link, allow_redirects=False)).status == 303
    old_token_id = old.token_id

    # Exactly retention_days after the end: not yet.
    clock.set(old.ends_at + RETENTION)
    assert await purge(client) == 0
    assert (await load(client, old.id)).email == EMAIL

    clock.advance(minutes=1)
    unsent_old = await queue_unsent(client, old.id, clock())
    unsent_new = await queue_unsent(client, new.id, clock())
    assert await purge(client) == 1
    purged_at = clock()

    erased = await load(client, old.id)
    assert (erased.name, erased.email, erased.phone) == (None, None, None)
    assert erased.personal_data_deleted_at == purged_at
    assert erased.token_id != old_token_id
    # What statistics need stays.
    assert erased.status == AppointmentStatus.BOOKED
    assert (erased.service_id, erased.starts_at) == ("meldebescheinigung", MONDAY)
    kept = await load(client, new.id)
    assert (kept.name, kept.email, kept.phone) == (OTHER_NAME, OTHER_EMAIL, PHONE)
    assert kept.personal_data_deleted_at is None

    async with client.app[SESSIONS]() as session:
        outbox_ids = set((await session.scalars(select(OutboxMail.id))).all())
        audit = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert unsent_old not in outbox_ids
    assert unsent_new in outbox_ids
    [entry] = [a for a in audit if a.action == "retention.purged"]
    assert entry.actor == "system" and entry.at == purged_at
    assert entry.detail == {"count": 1, "retention_days": 7}
    everything = json.dumps([[a.subject, a.detail] for a in audit], ensure_ascii=False)
    for personal in (NAME, EMAIL, OTHER_NAME, OTHER_EMAIL, PHONE, "Erika", "erika"):
        assert personal not in everything

    # The old link shows the invalid page, even at a time it had not yet expired.
    for when in (clock(), MONDAY - timedelta(hours=1)):
        clock.set(when)
        opened = await client.get(link, allow_redirects=False)
        assert opened.status == 404
        text = await opened.text()
        assert "Dieser Link funktioniert nicht" in text and NAME not in text
    clock.set(purged_at + timedelta(hours=1))

    # Idempotent: nothing more to do, nothing changes, no second audit entry.
    assert await purge(client) == 0
    again = await load(client, old.id)
    assert again.token_id == erased.token_id
    assert again.personal_data_deleted_at == purged_at
    async with client.app[SESSIONS]() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions.count("retention.purged") == 1


async def test_purge_erases_cancelled_appointments_too(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> None:
    booked = await book(desk, WEDNESDAY, NAME, EMAIL)
    await desk.cancel(booked.id)
    clock.set(booked.ends_at + RETENTION + timedelta(seconds=1))
    assert await purge(client) == 1
    erased = await load(client, booked.id)
    assert erased.email is None and erased.status == AppointmentStatus.CANCELLED
    async with client.app[SESSIONS]() as session:
        unsent = (
            await session.scalars(select(OutboxMail).where(OutboxMail.sent_at.is_(None)))
        ).all()
    assert unsent == []  # confirmation and cancellation were never delivered: dropped


def status_link(mail: Any) -> str:
    """The status link (path and token) of a case mail."""
    match = re.search(r"https?://[^/\s]+(/t/[A-Za-z0-9._-]+\?next=status)", body(mail))
    assert match, body(mail)
    return match.group(1)


async def test_a_running_case_keeps_the_data_and_the_link_until_it_ends(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock, smtp: SmtpServer
) -> None:
    """Paid on day 12 and posted on day 20: the citizen hears of both by mail and on
    the status page, although the appointment ended long before the usual retention
    period; that period then runs from the case's end."""
    cases: Cases = client.app[CASES]
    appointment = await book(desk, MONDAY, NAME, EMAIL)
    await deliver_mail(client)  # the confirmation, with the link
    clock.set(MONDAY)
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    await verify(desk, appointment.id)
    await cases.transition(case.id, CaseState.VERIFIED, "clerk:1")
    await cases.transition(
        case.id, CaseState.PAYMENT_PENDING, "clerk:1", method=PaymentMethod.INVOICE_EMAIL
    )

    async def news(state_text: str) -> str:
        """Deliver the mail, follow its link: the status page shows the news."""
        await deliver_mail(client)
        [mail] = [m for m in smtp.inbox.to(EMAIL) if state_text in body(m)]
        client.session.cookie_jar.clear()
        page = await client.get(status_link(mail))
        assert page.status == 200, await page.text()
        return await page.text()

    clock.set(appointment.ends_at + timedelta(days=12))
    assert await purge(client) == 0  # the case runs: nothing is erased
    await cases.record_payment(case.id, "bank", "camt-1", case.fee_cents, "system")
    assert 'data-state="paid"' in await news("Bezahlt")

    clock.set(appointment.ends_at + timedelta(days=20))
    assert await purge(client) == 0
    await cases.transition(case.id, CaseState.IN_FULFILMENT, "clerk:1")
    await cases.transition(case.id, CaseState.POSTED, "clerk:1", posted_on=clock().date())
    posted = await news("per Post an Sie unterwegs")
    assert 'data-state="posted"' in posted
    # The link in the confirmation mail, mailed before the appointment, works too.
    confirmation = join_link(smtp.inbox.of_kind("Ihr Videotermin")[0])
    client.session.cookie_jar.clear()
    assert (await client.get(confirmation, allow_redirects=False)).status == 303

    # Nothing more will happen that the citizen waits for: the usual period runs.
    clock.set(appointment.ends_at + timedelta(days=20) + RETENTION)
    assert await purge(client) == 0
    clock.advance(minutes=1)
    assert await purge(client) == 1
    erased = await load(client, appointment.id)
    assert (erased.name, erased.email) == (None, None)
    client.session.cookie_jar.clear()
    assert (await client.get(confirmation, allow_redirects=False)).status == 404


async def test_an_abandoned_case_does_not_keep_the_data_for_ever(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> None:
    """A case cancelled (or failed) ends it as much as a posted one."""
    cases: Cases = client.app[CASES]
    appointment = await book(desk, MONDAY, NAME, EMAIL)
    clock.set(MONDAY)
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    clock.set(appointment.ends_at + timedelta(days=30))
    assert await purge(client) == 0
    await cases.transition(case.id, CaseState.CANCELLED, "clerk:1", reason="nicht bezahlt")
    clock.advance(days=7, minutes=1)
    assert await purge(client) == 1


def _appointment(ends_at: datetime, name: str, email: str) -> Appointment:
    return Appointment(
        id=str(uuid.uuid4()),
        reference=secrets.token_hex(4).upper(),
        service_id="meldebescheinigung",
        starts_at=ends_at - timedelta(minutes=10),
        ends_at=ends_at,
        status=AppointmentStatus.BOOKED,
        language="de",
        name=name,
        email=email,
        phone=None,
        token_id=secrets.token_hex(8),
        created_at=ends_at - timedelta(days=3),
    )


async def _store(database_url: str, *appointments: Appointment) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            session.add_all(appointments)
    finally:
        await engine.dispose()


async def _emails(database_url: str) -> dict[str, str | None]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.execute(select(Appointment.id, Appointment.email))).all()
    finally:
        await engine.dispose()
    return {row.id: row.email for row in rows}


def test_purge_command(
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The command runs on the real clock.
    now = datetime.now(UTC)
    expired = _appointment(now - timedelta(days=8), NAME, EMAIL)
    recent = _appointment(now - timedelta(days=1), OTHER_NAME, OTHER_EMAIL)
    asyncio.run(_store(database_url, expired, recent))
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in ("BB_DATABASE_URL", "BB_SECRET_KEY", "BB_RETENTION_DAYS", "BB_TOWN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BB_MODE", "demo")
    monkeypatch.setenv("BB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", database_url)

    # The records with periods of their own (office.record_retention) are none here.
    others = "invoices: 0, bank_entries: 0, feedback_comments: 0, audit_log: 0 past their periods"
    assert main(["purge"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "erased personal data of 1 appointment(s)",
        others,
    ]
    assert asyncio.run(_emails(database_url)) == {expired.id: None, recent.id: OTHER_EMAIL}

    assert main(["purge"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "erased personal data of 0 appointment(s)",
        others,
    ]


async def test_no_personal_data_in_the_logs(
    client: TestClient[Any, Any],
    clerk: int,
    clock: Clock,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    page = await client.get("/buchen/meldebescheinigung?tag=2026-06-01")
    html = await page.text()
    form = {
        "csrf": csrf_of(html),
        "starts_at": slots_of(html)[0],
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "consent": "on",
    }
    booked = await client.post("/buchen/meldebescheinigung", data=form, allow_redirects=False)
    assert booked.status == 303
    await deliver_mail(client)
    [mail] = smtp.inbox.to(EMAIL)
    opened = await client.get(join_link(mail))
    assert NAME in await opened.text()
    clock.advance(days=9)
    assert await purge(client) == 1

    ours = [r for r in caplog.records if r.name != "mail.log"]  # mail.log: the test SMTP server
    assert any("sent" in r.getMessage() for r in ours)  # the mail job did log
    assert any("retention" in r.getMessage() for r in ours)  # and so did the purge
    leaks = [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in ours
        if any(p in r.getMessage() for p in (NAME, EMAIL, PHONE, "Mustermann"))
    ]
    assert leaks == []


async def test_the_privacy_notice_states_the_periods_in_force(
    client: TestClient[Any, Any],
) -> None:
    page = await (await client.get("/datenschutz")).text()
    assert "7 Tage nach dem Termin" in page  # BB_RETENTION_DAYS
    assert "spätestens 7 Tage nach der Aufnahme" in page  # BB_CAPTURE_RETENTION_DAYS
    assert "bis zur Erledigung" in page  # a running case keeps the data
