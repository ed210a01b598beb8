"""Real parts for tests: a controllable clock, an SMTP server, database URLs."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

POSTGRES_ADMIN_URL = os.environ.get(
    "BB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# The fuzz tests run with a fixed seed and a bounded count in CI; a longer run sets
# BB_FUZZ_EXAMPLES (e.g. 20000) and, for other examples, BB_FUZZ_SEED.
FUZZ_SEED = int(os.environ.get("BB_FUZZ_SEED", "20261207"))


def fuzz_examples(default: int) -> int:
    return int(os.environ.get("BB_FUZZ_EXAMPLES", str(default)))


class Clock:
    """The app's notion of now, moved by the test. Starts on a Monday morning."""

    def __init__(self, start: datetime = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.current = when


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_kind(self, subject_part: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if subject_part in str(m["Subject"])]

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        with self.inbox.lock:
            self.inbox.messages.append(message)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free loopback port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller = Controller(_Handler(self.inbox), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._controller.stop()


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def join_link(message: EmailMessage) -> str:
    """The personal link (path and token) from a confirmation or reminder mail."""
    match = re.search(r"https?://[^/\s]+(/t/[A-Za-z0-9._-]+)(?=\s)", body(message))
    assert match, "no join link in the mail"
    return match.group(1)


async def wait_for(predicate: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def slots_of(html: str) -> list[str]:
    """The slot start times a booking page offers, as ISO strings."""
    return re.findall(r'name="starts_at" value="([^"]+)"', html)
