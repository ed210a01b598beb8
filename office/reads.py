"""Reads of personal data, in the audit log: who opened which record or list, when.

The rule, for the data-protection officer: one row per read a person asked for,
naming the record and never its data.

- A page that shows personal data leaves a row each time it is rendered: the case
  page (``read.case``, subject ``case:<id>``) and the bank statement page
  (``read.bank_statement``, subject ``bank_entries``, the entries shown by id).
- A console's live list leaves a row when the console opens it (its socket
  connects): the day's appointments (``read.day_list``, subject ``day:<date>``,
  the appointments shown by id, so a citizen's request for who saw their data can
  be answered) and the waiting list (``read.waiting_list``, subject
  ``waiting_list``, the clerk's skills). The list then stays current by itself
  (pushes on every change, the console's own refresh every two minutes): those
  repeat a read the row already records and leave none, or the log would grow by
  a row a second for every clerk on duty.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Any

from office import audit
from office.context import Office


class Read(StrEnum):
    CASE = "read.case"
    DAY_LIST = "read.day_list"
    BANK_STATEMENT = "read.bank_statement"
    WAITING_LIST = "read.waiting_list"
    REBOOKING_LIST = "read.rebooking_list"  # appointments to rebook, with contact data
    AUDIT_LOG = "read.audit_log"  # the data-protection officer's own views and exports


WAITING_LIST_SUBJECT = "waiting_list"
BANK_ENTRIES_SUBJECT = "bank_entries"


def records(kind: str, ids: Iterable[object]) -> list[str]:
    """Record names (``appointment:<id>``) for a row's ``records`` detail: the audit
    log's record filter finds a row by them as by its subject."""
    return [f"{kind}:{record_id}" for record_id in ids]


async def record_read(office: Office, actor: str, kind: Read, subject: str, **detail: Any) -> None:
    """Write one row for one read, in a transaction of its own."""
    async with office.sessions() as session, session.begin():
        audit.record(session, office.now(), actor, kind.value, subject, **detail)


async def console_opened(
    office: Office, clerk_id: int, skills: Collection[str], appointment_ids: Collection[str]
) -> None:
    """A clerk's console connected: it shows her the day's appointments of her
    skills (``appointment_ids``) and the waiting list of her skills. Two rows, one
    per list."""
    now = office.now()
    day = now.astimezone(office.town.tz).date()
    actor = audit.staff_actor(clerk_id)
    shown_skills = sorted(skills)
    async with office.sessions() as session, session.begin():
        audit.record(
            session,
            now,
            actor,
            Read.DAY_LIST.value,
            f"day:{day.isoformat()}",
            skills=shown_skills,
            records=records("appointment", appointment_ids),
        )
        audit.record(
            session, now, actor, Read.WAITING_LIST.value, WAITING_LIST_SUBJECT, skills=shown_skills
        )
