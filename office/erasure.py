"""When an appointment's personal data is due for erasure.

The retention period (``BB_RETENTION_DAYS``) runs from the appointment's end, or from
the end of its last case if that is later: while a case runs, the citizen is still
told of it (the mails and the status page need the address and the link), so the data
stays. A case has ended for the citizen once nothing more will reach them: posted,
forwarded to the Bundeszentralregister, closed, cancelled or failed.

One rule, one place: the purge erases what is due, and a link to an appointment that is
due no longer opens it, even before the purge has run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, or_

from office.models import Appointment, Case, CaseState

ENDED_FOR_CITIZEN = frozenset(
    {
        CaseState.POSTED,
        CaseState.FORWARDED,
        CaseState.CLOSED,
        CaseState.CANCELLED,
        CaseState.FAILED,
    }
)


def due_for_erasure(now: datetime, retention_days: int) -> ColumnElement[bool]:
    """A condition on ``Appointment``: its personal data is due for erasure at ``now``
    (already erased ones included)."""
    cutoff = now - timedelta(days=retention_days)
    a_case_still_needs_it = exists().where(
        Case.appointment_id == Appointment.id,
        or_(
            Case.state.not_in([state.value for state in ENDED_FOR_CITIZEN]),
            Case.updated_at >= cutoff,
        ),
    )
    return (Appointment.ends_at < cutoff) & ~a_case_still_needs_it
