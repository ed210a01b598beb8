"""Mail as the tests see it: a real SMTP server (aiosmtpd) on a free loopback port,
what it received, and the app's mail job run once."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from signalling.keys import JOBS
from tests.helpers.services import free_port


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


async def deliver_mail(client: TestClient[Any, Any]) -> None:
    """Run the mail job once, as the background task would."""
    await client.app[JOBS].mail.run()
