"""The demo's mail outbox (``/dev/outbox``): every mail the office sends is written to
a folder and can be read, opened and its attachments downloaded in the browser."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient

from office.booking_request import BookingRequest
from office.outbox import FolderMailer
from signalling.app import create_app
from signalling.keys import APPOINTMENTS, JOBS, SETTINGS, STAFF
from signalling.settings import Mode, Settings
from tests.helpers.clock import Clock
from tests.helpers.constants import WEEKDAYS_7_TO_19

WEDNESDAY = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)  # two days after the clock's start
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+\.eml$")


@pytest.fixture
async def demo(
    tmp_path: Path, aiohttp_server: Any, aiohttp_client: Any
) -> tuple[TestClient[Any, Any], Clock]:
    clock = Clock()
    settings = Settings(
        _env_file=None,
        mode=Mode.DEMO,
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        data_dir=tmp_path / "var",
    )
    app = create_app(settings, now=clock, run_jobs=False)
    server = await aiohttp_server(app)
    client: TestClient[Any, Any] = await aiohttp_client(server, cookie_jar=CookieJar(unsafe=True))
    await app[STAFF].create(
        "anna", "Anna A.", "correct horse battery", skills=["meldewesen"], hours=WEEKDAYS_7_TO_19
    )
    return client, clock


async def test_confirmation_and_reminder_can_both_be_read(
    demo: tuple[TestClient[Any, Any], Clock],
) -> None:
    client, clock = demo
    desk = client.app[APPOINTMENTS]
    request = BookingRequest(
        "meldebescheinigung", WEDNESDAY, "Erika Mustermann", "erika@example.org", None, "de"
    )
    await desk.book(request)
    clock.set(WEDNESDAY - timedelta(hours=20))  # within the reminder's lead
    assert await client.app[JOBS].reminders.run() == 1
    assert await client.app[JOBS].mail.run() == 2

    # A file of another name in the folder (an older version's) is not listed, and
    # does not take the page down.
    folder = client.app[SETTINGS].outbox_dir()
    (folder / "20260101T000000000000- <odd>.eml").write_bytes(b"Subject: odd\n\nx")
    listing = await client.get("/dev/outbox")
    assert listing.status == 200
    page = await listing.text()
    names = re.findall(r'href="/dev/outbox/([^"/]+)"', page)
    assert len(names) == 2, page
    assert all(SAFE_NAME.fullmatch(name) for name in names)
    subjects = []
    for name in names:
        mail = await client.get(f"/dev/outbox/{name}")
        assert mail.status == 200
        subjects.append(await mail.text())
    assert sum("Erinnerung" in text for text in subjects) == 1
    assert any("termin.ics" in text for text in subjects)
    ics = next(name for name, text in zip(names, subjects, strict=True) if "termin.ics" in text)
    download = await client.get(f"/dev/outbox/{ics}/termin.ics")
    assert download.status == 200
    assert b"BEGIN:VCALENDAR" in await download.read()


async def test_a_file_name_from_any_message_id_is_safe(tmp_path: Path) -> None:
    """The file name comes from the Message-ID, whatever it holds (angle brackets, a
    folded header, slashes): only letters, digits, dot, dash and underscore remain."""
    mailer = FolderMailer(tmp_path)
    for message_id in (
        "<reminder.0f8e8a14-2b6e-4f3c-9d55-1f1d1d1d1d1d.ab12cd34ef56ab78@termine.ostfildern.de>",
        " <weird/../id with spaces@x>",
        "<" + "long." * 30 + "id@example.org>",  # folded when the message is written
    ):
        message = EmailMessage()
        message["Message-ID"] = message_id
        message["Subject"] = "x"
        message.set_content("x")
        await mailer.send(message)
    names = sorted(await asyncio.to_thread(os.listdir, tmp_path))
    assert len(names) == 3
    assert all(SAFE_NAME.fullmatch(name) for name in names), names
