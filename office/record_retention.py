"""Purges of the records that outlive an appointment, each after its own period.

- **Invoices and bank entries** are accounting records (Belege): § 39 Abs. 2 of
  Baden-Württemberg's Gemeindehaushaltsverordnung (GemHVO) keeps Belege six years,
  bank statements like Belege, the period starting on 1 January of the budget year
  after the one in which the council adopts the annual accounts; § 95b Abs. 1 GemO
  has it adopt them within a year of the budget year's end. So a record of budget
  year Y is kept through the end of Y + adoption + retention years (2026: through
  2033) and then goes: an invoice loses its recipient (name, address, mail; its
  number and amount stay for the statistics), a bank entry is deleted whole (the
  payer's name and what they wrote). A record's budget year is the later of its own
  date and its case's last change, so a payment booked in January counts for that
  year.
- **The audit log** holds who read and changed what (staff ids, record ids): like the
  registration offices' access logs (§ 40 Abs. 4 BMG) and § 76 Abs. 4 BDSG, a row is
  kept at least twelve months and deleted at the end of the calendar year after the
  one it was written in (``audit_years`` = 1).
- **Feedback comments** are free text a citizen may have signed: the comment goes
  after ``feedback_comment_days`` (by the month it was given); the rating stays.

Contact data of appointments (``office.retention``), ID captures (``media.vault``),
guests' invitations, spent upload grants and staff sessions have purges of their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from office import audit
from office.context import Office
from office.models import AuditEntry, BankEntry, Case, Feedback, Invoice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordRetention:
    accounting_years: int = 6  # GemHVO BW § 39 Abs. 2: Belege
    adoption_years: int = 1  # GemO BW § 95b: annual accounts adopted within a year
    audit_years: int = 1  # kept through the end of the year after the one written
    feedback_comment_days: int = 365


def first_kept_year(today: date, years_after: int) -> int:
    """Records of a year before this one are past a period that ends ``years_after``
    full calendar years after their own year."""
    return today.year - years_after


def _start_of(year: int, office: Office) -> datetime:
    return datetime.combine(date(year, 1, 1), time(0), office.town.tz)


async def purge_invoices(office: Office, rules: RecordRetention) -> int:
    """Blank the recipient of invoices past the accounting period; returns how many."""
    today = office.now().astimezone(office.town.tz).date()
    year = first_kept_year(today, rules.adoption_years + rules.accounting_years)
    cutoff = _start_of(year, office)
    case_changed_since = exists().where(Case.id == Invoice.case_id, Case.updated_at >= cutoff)
    async with office.sessions() as session, session.begin():
        due = (
            await session.scalars(
                select(Invoice.id).where(
                    Invoice.issued_on < cutoff.date(),
                    Invoice.recipient_name != "",
                    ~case_changed_since,
                )
            )
        ).all()
        if due:
            await session.execute(
                update(Invoice)
                .where(Invoice.id.in_(due))
                .values(recipient_name="", recipient_address=[], recipient_email=None)
            )
            _audit(session, office, "invoices", len(due), first_kept_year=year)
    return len(due)


async def purge_bank_entries(office: Office, rules: RecordRetention) -> int:
    """Delete imported bank entries past the accounting period; returns how many."""
    today = office.now().astimezone(office.town.tz).date()
    year = first_kept_year(today, rules.adoption_years + rules.accounting_years)
    cutoff = _start_of(year, office)
    case_changed_since = exists().where(Case.id == BankEntry.case_id, Case.updated_at >= cutoff)
    async with office.sessions() as session, session.begin():
        result = await session.execute(
            delete(BankEntry).where(
                BankEntry.booked_on < cutoff.date(),
                BankEntry.imported_at < cutoff,
                ~case_changed_since,
            )
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            _audit(session, office, "bank_entries", count, first_kept_year=year)
    return count


async def purge_audit_log(office: Office, rules: RecordRetention) -> int:
    """Delete audit rows past their period; returns how many."""
    today = office.now().astimezone(office.town.tz).date()
    year = first_kept_year(today, rules.audit_years)
    async with office.sessions() as session, session.begin():
        result = await session.execute(
            delete(AuditEntry).where(AuditEntry.at < _start_of(year, office))
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            _audit(session, office, "audit_log", count, first_kept_year=year)
    return count


async def purge_feedback_comments(office: Office, rules: RecordRetention) -> int:
    """Drop the comments of feedback given in a month wholly past the period."""
    since = office.now() - timedelta(days=rules.feedback_comment_days)
    month = f"{since.astimezone(office.town.tz):%Y-%m}"
    async with office.sessions() as session, session.begin():
        result = await session.execute(
            update(Feedback)
            .where(Feedback.month < month, Feedback.comment.is_not(None))
            .values(comment=None)
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            _audit(session, office, "feedback_comments", count, first_kept_month=month)
    return count


async def purge_records(office: Office, rules: RecordRetention) -> dict[str, int]:
    """Every purge above, each in its own transaction; what each removed."""
    counts = {
        "invoices": await purge_invoices(office, rules),
        "bank_entries": await purge_bank_entries(office, rules),
        "feedback_comments": await purge_feedback_comments(office, rules),
        # Last: the rows the others just wrote are new and stay.
        "audit_log": await purge_audit_log(office, rules),
    }
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return counts


def _audit(session: AsyncSession, office: Office, what: str, count: int, **period: object) -> None:
    audit.record(
        session, office.now(), audit.SYSTEM, "retention.purged", what, count=count, **period
    )
