"""The records that outlive an appointment go after their own periods: invoices lose
their recipient and bank entries go after the budget law's period (GemHVO BW § 39),
audit rows at the end of the year after the one they were written in, feedback
comments after a year; through the hourly purge job. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from office import audit
from office.appointments import Appointments
from office.case_views import PaymentMethod
from office.cases import Cases, CaseState
from office.invoices import InvoiceDelivery, Invoices
from office.models import AuditEntry, BankEntry, Feedback, Invoice
from office.record_retention import RecordRetention, purge_records
from signalling.keys import JOBS
from tests.helpers.booking import book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT, at

CLERK = "clerk:1"
DEFAULTS = RecordRetention()
# Ostfildern is UTC+1 in winter: these are the last and the first hour of a local year.
LAST_HOUR_2033 = datetime(2033, 12, 31, 22, 30, tzinfo=UTC)
FIRST_HOUR_2034 = datetime(2033, 12, 31, 23, 30, tzinfo=UTC)


async def invoice_for(desk: Appointments, clerk: int, appointment_id: str) -> str:
    """An invoice by post for a case of the appointment, issued now; the case's id."""
    await verify(desk, appointment_id)
    cases = Cases(desk.office)
    case = await cases.open(appointment_id, "meldebescheinigung", clerk)
    await cases.transition(
        case.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_POST
    )
    await Invoices(desk.office).issue(
        case.id,
        InvoiceDelivery.POST,
        "Erika Mustermann",
        ("Heidestraße 17", "51147 Köln"),
        None,
        CLERK,
    )
    return case.id


async def invoice_of(desk: Appointments, case_id: str) -> Invoice:
    async with desk.office.sessions() as session:
        found = await session.scalar(select(Invoice).where(Invoice.case_id == case_id))
    assert found is not None
    return found


async def purged(desk: Appointments, what: str) -> list[dict[str, Any]]:
    async with desk.office.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "retention.purged", AuditEntry.subject == what
            )
        )
        return [row.detail for row in rows.all()]


async def test_an_invoice_keeps_its_recipient_through_the_budget_law_s_period(
    desk: Appointments, clerk: int, clock: Clock
) -> None:
    first, second = await book_at(desk, SLOT), await book_at(desk, at(11, 0))
    clock.set(SLOT)
    early = await invoice_for(desk, clerk, first.id)
    late = await invoice_for(desk, clerk, second.id)
    # The second case is paid in January 2027: it counts for that budget year.
    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=UTC))
    await Cases(desk.office).record_payment(late, "clerk", "cash-1", 1000, CLERK)

    # 2026's accounts adopted in 2027; six years from 1 January 2028: through 2033.
    clock.set(LAST_HOUR_2033)
    assert (await purge_records(desk.office, DEFAULTS))["invoices"] == 0
    assert (await invoice_of(desk, early)).recipient_name == "Erika Mustermann"

    clock.set(FIRST_HOUR_2034)
    assert (await purge_records(desk.office, RecordRetention(accounting_years=10)))[
        "invoices"
    ] == 0  # a town whose books need ten years keeps them
    assert (await purge_records(desk.office, DEFAULTS))["invoices"] == 1
    gone = await invoice_of(desk, early)
    assert (gone.recipient_name, gone.recipient_address, gone.recipient_email) == ("", [], None)
    assert (gone.number, gone.amount_cents) == ("2026-000001", 1000)  # for the statistics
    kept = await invoice_of(desk, late)
    assert kept.recipient_name == "Erika Mustermann"
    assert await purged(desk, "invoices") == [{"count": 1, "first_kept_year": 2027}]
    assert (await purge_records(desk.office, DEFAULTS))["invoices"] == 0  # once

    clock.set(datetime(2035, 1, 1, 12, 0, tzinfo=UTC))
    assert (await purge_records(desk.office, DEFAULTS))["invoices"] == 1
    assert (await invoice_of(desk, late)).recipient_name == ""


async def test_bank_entries_go_whole_after_the_same_period(
    desk: Appointments, clock: Clock
) -> None:
    def entry(reference: str, booked_on: date, imported_at: datetime) -> BankEntry:
        return BankEntry(
            entry_reference=reference,
            statement_id="STMT",
            booked_on=booked_on,
            amount_cents=1000,
            remittance="Gebuehr Erika Mustermann",
            debtor_name="Erika Mustermann",
            status="unmatched",
            imported_at=imported_at,
        )

    async with desk.office.sessions() as session, session.begin():
        session.add(entry("A", date(2026, 12, 29), datetime(2026, 12, 30, 9, tzinfo=UTC)))
        # Booked in 2026, imported after New Year: kept like 2027's.
        session.add(entry("B", date(2026, 12, 30), datetime(2027, 1, 4, 9, tzinfo=UTC)))

    clock.set(LAST_HOUR_2033)
    assert (await purge_records(desk.office, DEFAULTS))["bank_entries"] == 0
    clock.set(FIRST_HOUR_2034)
    assert (await purge_records(desk.office, DEFAULTS))["bank_entries"] == 1
    async with desk.office.sessions() as session:
        left = (await session.scalars(select(BankEntry.entry_reference))).all()
    assert left == ["B"]
    assert await purged(desk, "bank_entries") == [{"count": 1, "first_kept_year": 2027}]


async def test_audit_rows_go_at_the_end_of_the_year_after_their_own(
    client: TestClient[Any, Any], desk: Appointments, clock: Clock
) -> None:
    """Through the hourly purge job, with the default settings."""
    written = {
        "old": datetime(2026, 12, 31, 22, 59, tzinfo=UTC),  # 23:59 on New Year's Eve
        "new": datetime(2026, 12, 31, 23, 1, tzinfo=UTC),  # 00:01 on 1 January 2027
    }
    async with desk.office.sessions() as session, session.begin():
        for subject, at in written.items():
            audit.record(session, at, CLERK, "read.case", f"case:{subject}")

    async def subjects() -> list[str]:
        async with desk.office.sessions() as session:
            rows = await session.scalars(
                select(AuditEntry.subject).where(AuditEntry.action == "read.case")
            )
            return sorted(rows.all())

    clock.set(datetime(2027, 12, 31, 22, 30, tzinfo=UTC))  # still 2027 in Ostfildern
    await client.app[JOBS].purge.run()
    assert await subjects() == ["case:new", "case:old"]
    clock.set(datetime(2027, 12, 31, 23, 30, tzinfo=UTC))  # 2028 there
    await client.app[JOBS].purge.run()
    assert await subjects() == ["case:new"]
    assert [d["first_kept_year"] for d in await purged(desk, "audit_log")] == [2027]


async def test_feedback_comments_go_after_a_year_and_the_ratings_stay(
    desk: Appointments, clock: Clock
) -> None:
    async with desk.office.sessions() as session, session.begin():
        for month in ("2026-05", "2026-06"):
            session.add(
                Feedback(month=month, service_id="beratung", rating=5, comment="Erika: gut")
            )
    clock.set(datetime(2027, 6, 15, 12, 0, tzinfo=UTC))  # a year back is June 2026
    assert (await purge_records(desk.office, DEFAULTS))["feedback_comments"] == 1
    async with desk.office.sessions() as session:
        rows = await session.execute(select(Feedback.month, Feedback.comment, Feedback.rating))
        left = sorted(rows.all())
    assert left == [("2026-05", None, 5), ("2026-06", "Erika: gut", 5)]
