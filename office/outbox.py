"""Delivering queued mail: the transactional outbox and the mailers behind it.

Mail rows are claimed with a conditional UPDATE before sending, so several app
nodes can run the sender at once without sending a row twice. A row whose node died
mid-send is picked up again once its lease runs out.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from office.mail import MailKind
from office.models import OutboxMail

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    """Sends over SMTP with aiosmtplib (STARTTLS or implicit TLS as configured)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    start_tls: bool | None = None  # None: use STARTTLS when the server offers it
    use_tls: bool = False
    timeout: float = 30.0

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.start_tls,
            use_tls=self.use_tls,
            timeout=self.timeout,
        )


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class FolderMailer:
    """The embedded default: writes each mail as an .eml file into a folder."""

    folder: Path

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A Message-ID read back from the outbox may be folded (a leading space) and
        # holds "<", ">", "@": the file name keeps only what is safe in a path and URL.
        message_id = str(message["Message-ID"] or "").strip().strip("<>")
        name = _UNSAFE_IN_NAME.sub("_", message_id)[:150] or uuid.uuid4().hex
        target = self.folder / f"{datetime.now():%Y%m%dT%H%M%S%f}-{name}.eml"
        target.write_bytes(bytes(message))


def enqueue(
    session: AsyncSession,
    kind: MailKind,
    message: EmailMessage,
    now: datetime,
    appointment_id: str | None = None,
) -> None:
    """Queue a mail in the caller's transaction: it is sent only if that commits."""
    session.add(
        OutboxMail(
            appointment_id=appointment_id,
            kind=kind.value,
            message=message.as_string(),
            created_at=now,
        )
    )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


async def deliver_pending(
    sessions: async_sessionmaker[AsyncSession], mailer: Mailer, now: datetime, batch: int = 50
) -> int:
    """Send what is due; returns how many mails went out."""
    due = (
        (OutboxMail.sent_at.is_(None))
        & (OutboxMail.failed_at.is_(None))
        & or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now)
    )
    async with sessions() as session:
        ids = (
            await session.scalars(
                select(OutboxMail.id).where(due).order_by(OutboxMail.id).limit(batch)
            )
        ).all()
    sent = 0
    for mail_id in ids:
        async with sessions() as session, session.begin():
            claimed = await session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id, due)
                .values(claimed_until=now + LEASE, attempts=OutboxMail.attempts + 1)
                .returning(OutboxMail.message, OutboxMail.attempts, OutboxMail.kind)
            )
            row = claimed.one_or_none()
        if row is None or row.message is None:
            continue  # another node took it
        message = message_from_string(row.message, policy=policy.default)
        try:
            await mailer.send(message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            give_up = row.attempts >= MAX_ATTEMPTS
            log.warning(
                "mail %s (%s) attempt %d failed: %s%s",
                mail_id,
                row.kind,
                row.attempts,
                type(exc).__name__,
                ", giving up" if give_up else "",
            )
            async with sessions() as session, session.begin():
                await session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id == mail_id)
                    .values(
                        claimed_until=now + _backoff(row.attempts),
                        last_error=f"{type(exc).__name__}: {exc}"[:300],
                        failed_at=now if give_up else None,
                        message=None if give_up else OutboxMail.message,
                    )
                )
            continue
        async with sessions() as session, session.begin():
            # The rendered mail holds personal data: it is not kept once delivered.
            await session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id)
                .values(sent_at=now, message=None, claimed_until=None, last_error=None)
            )
        log.info("mail %s (%s) sent", mail_id, row.kind)
        sent += 1
    return sent
