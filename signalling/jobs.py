"""Background jobs of a node: mail delivery, reminders, the retention purge.

Each job is a domain function that is safe to run on several nodes at once; this
module only repeats them. A job that fails logs and tries again next round: a broken
SMTP server must not stop reminders, nor the purge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from common import wakeups
from common.wakeups import woken
from office import outbox, reminders, retention
from office.context import Office
from office.outbox import Mailer

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float
    run: Callable[[], Awaitable[object]]
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Jobs:
    def __init__(
        self, office: Office, mailer: Mailer, *, retention_days: int, reminder_lead: timedelta
    ) -> None:
        self.office = office
        self.mail = Job(
            "mail", 15.0, lambda: outbox.deliver_pending(office.sessions, mailer, office.now())
        )
        self.reminders = Job(
            "reminders", 60.0, lambda: reminders.queue_reminders(office, reminder_lead)
        )
        self._purges: list[Callable[[], Awaitable[object]]] = [
            lambda: retention.purge(office, retention_days)
        ]
        self.purge = Job("purge", 3600.0, self._purge_all)
        self._tasks: list[asyncio.Task[None]] = []

    def also_purge(self, purge: Callable[[], Awaitable[object]]) -> None:
        """Add a deletion to the hourly purge (e.g. ID captures past their period)."""
        self._purges.append(purge)

    async def _purge_all(self) -> object:
        """Run every purge; returns the first's result (appointments erased)."""
        results = [await purge() for purge in self._purges]
        return results[0]

    @property
    def all(self) -> tuple[Job, ...]:
        return (self.mail, self.reminders, self.purge)

    def wake_mail(self) -> None:
        self.mail.wake.set()

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s failed; retrying in %.0f s", job.name, job.interval)
            job.wake.clear()
            await woken(job.wake, job.interval)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(job), name=f"job-{job.name}") for job in self.all
        ]

    async def stop(self) -> None:
        await wakeups.stop(self._tasks)
        self._tasks = []
