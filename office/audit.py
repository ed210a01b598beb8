"""The audit log: an append-only record of who changed what.

Entries name records by id and never hold personal data, so the log can outlive the
retention period of the data it talks about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from office.models import AuditEntry

SYSTEM = "system"
CITIZEN = "citizen"


def staff_actor(clerk_id: int) -> str:
    return f"clerk:{clerk_id}"


def record(
    session: AsyncSession,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    **detail: Any,
) -> None:
    """Add an entry to the session; it commits with the change it describes."""
    session.add(AuditEntry(at=at, actor=actor, action=action, subject=subject, detail=detail))
