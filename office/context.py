"""What every part of the office works with, passed explicitly: the town, the
database, the clock, the link signer, the mail settings, and who is told when an
appointment closes.

One :class:`Office` per app. The desks (appointments, visits, cases, invoices,
verification, payments) each take it, instead of reaching for these through one
another.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from office.catalogue import Service, Town
from office.errors import NotFound
from office.hours import Window
from office.mail import Links, MailKind, MailSettings, compose
from office.models import Appointment
from office.outbox import enqueue
from office.service_settings import ServiceSettings
from office.tokens import Audience, Signer

log = logging.getLogger(__name__)
# How long past the retention period a link's signature stays valid. What ends a link
# is the erasure of its appointment's data (checked on every use); this only bounds a
# link whose appointment's cases run on for months.
LINK_BACKSTOP = timedelta(days=90)


class Closed(StrEnum):
    """Why an appointment can no longer be served: its waiting room place goes."""

    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # a new time: the citizen checks in again then
    DATA_DELETED = "data_deleted"
    NO_SHOW = "no_show"


# Told after an appointment closed, once its transaction committed (the live rooms
# take it out of the waiting room and tell the citizen's open page).
ClosedHook = Callable[[str, Closed], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Office:
    def __init__(
        self,
        town: Town,
        sessions: async_sessionmaker[AsyncSession],
        signer: Signer,
        mail: MailSettings,
        *,
        now: Callable[[], datetime] = utc_now,
        mail_queued: Callable[[], None] = lambda: None,
    ) -> None:
        # The town as it is now: the file with the admins' service settings over it
        # (office.service_settings keeps it current; ``service_of`` looks back).
        self.town = town
        self.service_settings = ServiceSettings(town, sessions, lambda: self.now())
        self.service_settings.loaded_hooks.append(self._use_town)
        self.sessions = sessions
        self.signer = signer
        self.mail = mail
        self.now = now
        # Called after a transaction that queued mail has committed (wakes the sender).
        self.mail_queued = mail_queued
        self.closed_hooks: list[ClosedHook] = []

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.mail.retention_days)

    def _use_town(self, town: Town) -> None:
        self.town = town

    def service(self, service_id: str, booked_at: datetime | None = None) -> Service:
        """The service as it is now, or with the terms of a booking made at ``booked_at``."""
        town = self.town if booked_at is None else self.service_settings.town(booked_at)
        service = town.service(service_id)
        if service is None:
            raise NotFound("Dieses Anliegen gibt es nicht.")
        return service

    def service_of(self, appointment: Appointment) -> Service:
        """The appointment's service on the terms it was booked under (fee, duration,
        documents): a later change applies to new bookings only."""
        return self.service(appointment.service_id, appointment.created_at)

    def checkin_window(self, appointment: Appointment) -> Window:
        rules = self.town.booking
        return Window(
            appointment.starts_at - timedelta(minutes=rules.checkin_before_minutes),
            appointment.starts_at + timedelta(minutes=rules.checkin_after_minutes),
        )

    async def tell_closed(self, appointment_id: str, why: Closed) -> None:
        """Run the hooks for an appointment that closed (after its commit). A hook that
        fails is logged: the change stands, and the waiting room re-checks every
        appointment before a clerk gets it."""
        for hook in self.closed_hooks:
            try:
                await hook(appointment_id, why)
            except Exception:
                log.exception("appointment %s closed (%s): a hook failed", appointment_id, why)

    # -- links and mail ------------------------------------------------------------

    def issue_token(self, appointment: Appointment, audience: Audience) -> str:
        """A link's token. Its expiry is a backstop: a link opens its appointment
        while the personal data is kept (``Appointments.open_token`` asks
        ``office.erasure``), which a running case prolongs beyond the usual period;
        links in later mails (a case's news) are issued later."""
        expires = max(appointment.ends_at, self.now()) + self.retention + LINK_BACKSTOP
        return self.signer.issue(audience, appointment.id, expires, tid=appointment.token_id)

    def links(self, appointment: Appointment) -> Links:
        base = self.mail.public_url.rstrip("/")
        token = self.issue_token(appointment, Audience.JOIN_LINK)
        return Links(
            join=f"{base}/t/{token}", delete=f"{base}/t/{token}?next=loeschen", booking=f"{base}/"
        )

    def enqueue_mail(
        self,
        session: AsyncSession,
        kind: MailKind,
        appointment: Appointment,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue a mail about the appointment in the caller's transaction."""
        message = compose(
            kind,
            town=self.town,
            settings=self.mail,
            appointment=appointment,
            service=self.service_of(appointment),
            links=self.links(appointment),
            now=self.now(),
            extra=extra,
        )
        enqueue(session, kind, message, self.now(), appointment.id)
