"""Deleting personal data: on schedule after the appointment (and its cases, see
``office.erasure``), or at once on request.

The appointment row stays (service, time, status) for statistics; the name, email
and phone go, the link stops working, and unsent mail about it is dropped.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from office import audit
from office.appointments import in_call
from office.context import Closed, Office
from office.erasure import due_for_erasure
from office.errors import AppointmentInProgress, NotFound
from office.models import Appointment, AppointmentStatus, BookedUnit, OutboxMail, StaffSession
from office.statistics_record import Kind, note_appointment

log = logging.getLogger(__name__)


async def _erase(session: AsyncSession, appointment: Appointment, now: datetime) -> None:
    appointment.name = None
    appointment.email = None
    appointment.phone = None
    appointment.token_id = secrets.token_hex(8)
    appointment.personal_data_deleted_at = now
    await session.execute(
        delete(OutboxMail).where(
            OutboxMail.appointment_id == appointment.id, OutboxMail.sent_at.is_(None)
        )
    )


async def purge(office: Office, retention_days: int) -> int:
    """Erase personal data of appointments that ended more than ``retention_days`` ago,
    and whose cases (if any) ended that long ago too (``office.erasure``)."""
    now = office.now()
    cutoff = now - timedelta(days=retention_days)
    async with office.sessions() as session, session.begin():
        expired = (
            await session.scalars(
                select(Appointment).where(
                    due_for_erasure(now, retention_days),
                    Appointment.personal_data_deleted_at.is_(None),
                )
            )
        ).all()
        for appointment in expired:
            await _erase(session, appointment, now)
        # Sent mail rows hold no personal data any more, but the recipient address
        # is gone from them only with the message body: drop old rows entirely.
        await session.execute(delete(OutboxMail).where(OutboxMail.created_at < cutoff))
        await session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
        if expired:
            audit.record(
                session,
                now,
                audit.SYSTEM,
                "retention.purged",
                "appointments",
                count=len(expired),
                retention_days=retention_days,
            )
    if expired:
        log.info("retention: erased personal data of %d appointment(s)", len(expired))
    return len(expired)


async def forget(office: Office, appointment_id: str) -> None:
    """The citizen asks to delete their data now; a future appointment is cancelled.
    Not during the call itself (hang up first): the clerk is working with it."""
    now = office.now()
    async with office.sessions() as session, session.begin():
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.personal_data_deleted_at is not None:
            raise NotFound()
        if in_call(appointment, now):
            raise AppointmentInProgress()
        if appointment.status == AppointmentStatus.BOOKED and appointment.ends_at > now:
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = now
            await session.execute(
                delete(BookedUnit).where(BookedUnit.appointment_id == appointment.id)
            )
            note_appointment(session, office.town, appointment, Kind.CANCELLED)
        await _erase(session, appointment, now)
        audit.record(
            session, now, audit.CITIZEN, "appointment.data_deleted", f"appointment:{appointment.id}"
        )
    await office.tell_closed(appointment_id, Closed.DATA_DELETED)
