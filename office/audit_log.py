"""Reading the audit log, for the data-protection officer: filtered, newest first.

Filters (all optional, combined with "and"):
- a date range in the town's time, both days included;
- the kind of event (``action``): exactly, or every kind under a prefix ending in a
  dot (``read.`` finds every read);
- the record (``subject``): exactly, or every record of a kind when it ends in a
  colon (``case:``). A row that names records in its ``records`` detail (a day
  list names the appointments it showed) is found by each of them too, so
  ``appointment:<id>`` finds who saw that appointment in a list;
- who acted (``actor``: ``clerk:3``, ``system``, ``citizen``, ...), exactly.

The page and its CSV export run the same query, so they always agree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, or_, select

from office.context import Office
from office.hours import local_day_bounds
from office.models import AuditEntry

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000  # rows in one CSV: a narrower filter for more
EXPORT_BATCH = 1_000


@dataclass(frozen=True)
class AuditFilter:
    since: date | None = None
    until: date | None = None
    kind: str = ""
    record: str = ""
    actor: str = ""


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    kind: str
    record: str
    detail: dict[str, Any]


def _conditions(office: Office, chosen: AuditFilter) -> list[ColumnElement[bool]]:
    tz = office.town.tz
    found: list[ColumnElement[bool]] = []
    if chosen.since is not None:
        found.append(AuditEntry.at >= local_day_bounds(chosen.since, tz).start)
    if chosen.until is not None:
        found.append(AuditEntry.at < local_day_bounds(chosen.until, tz).end)
    if kind := chosen.kind.strip():
        found.append(
            AuditEntry.action.startswith(kind, autoescape=True)
            if kind.endswith(".")
            else AuditEntry.action == kind
        )
    if record := chosen.record.strip():
        if record.endswith(":"):
            found.append(AuditEntry.subject.startswith(record, autoescape=True))
        else:
            # JSON keeps each string quoted: the quotes make the match whole.
            named = cast(AuditEntry.detail, String).contains(f'"{record}"', autoescape=True)
            found.append(or_(AuditEntry.subject == record, named))
    if actor := chosen.actor.strip():
        found.append(AuditEntry.actor == actor)
    return found


def _query(office: Office, chosen: AuditFilter) -> Select[AuditEntry]:
    return (
        select(AuditEntry)
        .where(*_conditions(office, chosen))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        entry.id, entry.at, entry.actor, entry.action, entry.subject, dict(entry.detail or {})
    )


async def count(office: Office, chosen: AuditFilter) -> int:
    async with office.sessions() as session:
        query = select(func.count()).select_from(AuditEntry).where(*_conditions(office, chosen))
        return int(await session.scalar(query) or 0)


async def page(office: Office, chosen: AuditFilter, number: int) -> Sequence[AuditRow]:
    """Page ``number`` (from 1) of the matching rows, newest first."""
    offset = (max(number, 1) - 1) * PAGE_SIZE
    async with office.sessions() as session:
        rows = (await session.scalars(_query(office, chosen).offset(offset).limit(PAGE_SIZE))).all()
    return [_row(entry) for entry in rows]


async def export(office: Office, chosen: AuditFilter) -> AsyncIterator[AuditRow]:
    """Every matching row (at most ``EXPORT_LIMIT``), newest first, in batches. Rows
    written meanwhile are left out, so the batches do not shift."""
    async with office.sessions() as session:
        ceiling = await session.scalar(select(func.max(AuditEntry.id))) or 0
    for offset in range(0, EXPORT_LIMIT, EXPORT_BATCH):
        async with office.sessions() as session:
            query = (
                _query(office, chosen)
                .where(AuditEntry.id <= ceiling)
                .offset(offset)
                .limit(min(EXPORT_BATCH, EXPORT_LIMIT - offset))
            )
            rows = (await session.scalars(query)).all()
        for entry in rows:
            yield _row(entry)
        if len(rows) < EXPORT_BATCH:
            return


async def kinds(office: Office) -> list[str]:
    """The kinds of event the log holds, for the filter's suggestions."""
    async with office.sessions() as session:
        found = await session.scalars(select(AuditEntry.action).distinct())
        return sorted(found.all())
