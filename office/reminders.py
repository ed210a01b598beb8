"""Reminder mails, a configurable time before each appointment.

Queuing a reminder and marking the appointment as reminded is one conditional
UPDATE plus an outbox row in a single transaction: however often the job runs, on
however many nodes, and whenever it is restarted, each appointment gets one
reminder.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from office.context import Office
from office.mail import MailKind
from office.models import Appointment, AppointmentStatus

log = logging.getLogger(__name__)


async def queue_reminders(office: Office, lead: timedelta) -> int:
    """Queue reminders for appointments starting within ``lead``; returns how many."""
    now = office.now()
    due = (
        (Appointment.status == AppointmentStatus.BOOKED)
        & Appointment.reminder_queued_at.is_(None)
        & Appointment.personal_data_deleted_at.is_(None)
        & (Appointment.starts_at > now)
        & (Appointment.starts_at <= now + lead)
    )
    async with office.sessions() as session:
        candidates = (await session.scalars(select(Appointment.id).where(due))).all()
    queued = 0
    for appointment_id in candidates:
        async with office.sessions() as session, session.begin():
            claimed = await session.execute(
                update(Appointment)
                .where(Appointment.id == appointment_id, due)
                .values(reminder_queued_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another node was faster
            appointment = await session.get(Appointment, appointment_id)
            assert appointment is not None  # noqa: S101 - just updated it
            # Booked shortly before it starts: the confirmation was the reminder.
            if appointment.created_at < appointment.starts_at - lead:
                office.enqueue_mail(session, MailKind.REMINDER, appointment)
                queued += 1
    if queued:
        office.mail_queued()
        log.info("queued %d reminder(s)", queued)
    return queued
