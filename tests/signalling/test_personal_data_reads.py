"""Every read of personal data leaves exactly one audit row naming who read which
record, never the data: the case page, the bank statement page, and the console's
day list and waiting list (one row when the console opens them, none for the pushes
and refreshes that keep them current). On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from office import audit
from office.appointments import Appointments
from office.cases import Cases
from office.models import AuditEntry
from office.staff import Staff
from signalling.keys import CASES
from tests.helpers.booking import add_clerk, book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT, at
from tests.helpers.peers import clerk_peer, disconnect_all


async def reads(desk: Appointments) -> list[AuditEntry]:
    async with desk.office.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith("read.")).order_by(AuditEntry.id)
        )
        return list(rows.all())


async def login(client: TestClient[Any, Any], staff: Staff, clerk_id: int) -> None:
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(clerk_id)})


async def test_the_case_page_is_one_read_of_that_case(
    client: TestClient[Any, Any], staff: Staff, desk: Appointments, clerk: int, clock: Clock
) -> None:
    appointment = await book_at(desk, SLOT)
    clock.set(SLOT)
    await verify(desk, appointment.id)
    cases: Cases = client.app[CASES]
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    await login(client, staff, clerk)
    assert (await client.get("/sachbearbeitung/vorgaenge")).status == 200  # no names: no read
    assert await reads(desk) == []

    page = await client.get(f"/sachbearbeitung/vorgaenge/{case.id}")
    assert page.status == 200 and "Erika Mustermann" in await page.text()
    [row] = await reads(desk)
    assert (row.actor, row.action, row.subject) == (
        audit.staff_actor(clerk),
        "read.case",
        f"case:{case.id}",
    )
    assert row.at == SLOT
    assert "Erika" not in str(row.detail) and "erika@" not in str(row.detail)

    assert (await client.get(f"/sachbearbeitung/vorgaenge/{case.id}")).status == 200
    assert len(await reads(desk)) == 2  # each view is a read


async def test_the_bank_statement_page_is_one_read(
    client: TestClient[Any, Any], staff: Staff, desk: Appointments, clerk: int
) -> None:
    await login(client, staff, clerk)
    page = await client.get("/sachbearbeitung/kontoauszug")
    assert page.status == 200
    [row] = await reads(desk)
    assert (row.actor, row.action, row.subject) == (
        audit.staff_actor(clerk),
        "read.bank_statement",
        "bank_entries",
    )
    assert row.detail == {"records": [], "imported": 0}


async def test_opening_the_console_reads_the_day_list_and_the_waiting_list_once(
    base: str, staff: Staff, desk: Appointments, clerk: int, clock: Clock
) -> None:
    """Anna (registration, advice) opens her console: one row for the day list, naming
    the appointments of her skills it showed, and one for the waiting list. The
    console's refreshes and the pushes that follow add none."""
    carl = await add_clerk(staff, "carl", "bundeszentralregister")
    register = await book_at(desk, SLOT, "meldebescheinigung", "m@example.org", "Mia M.")
    advice = await book_at(desk, at(11, 0), "beratung", "b@example.org", "Ben B.")
    other = await book_at(desk, SLOT, "fuehrungszeugnis", "f@example.org", "Finn F.")
    clock.set(at(9, 0))
    anna = await clerk_peer(base, staff, clerk)
    day = await anna.next("day_updated")
    assert {e["appointment_id"] for e in day["appointments"]} == {register.id, advice.id}

    rows = await reads(desk)  # written before the console heard "state_synced"
    assert [(r.actor, r.action, r.subject) for r in rows] == [
        (audit.staff_actor(clerk), "read.day_list", "day:2026-06-01"),
        (audit.staff_actor(clerk), "read.waiting_list", "waiting_list"),
    ]
    day_row, waiting_row = rows
    assert sorted(day_row.detail["records"]) == sorted(
        [f"appointment:{register.id}", f"appointment:{advice.id}"]
    )
    assert f"appointment:{other.id}" not in day_row.detail["records"]
    assert day_row.detail["skills"] == ["beratung", "meldewesen"]
    assert waiting_row.detail == {"skills": ["beratung", "meldewesen"]}
    assert "Mia" not in str(day_row.detail)

    assert (await anna.call("day_refresh"))["ok"] is True
    await anna.next("day_updated", count=2)
    assert len(await reads(desk)) == 2  # a refresh of an open list is no new read

    carl_peer = await clerk_peer(base, staff, carl)
    await carl_peer.next("day_updated")
    carl_rows = [r for r in await reads(desk) if r.actor == audit.staff_actor(carl)]
    assert [r.action for r in carl_rows] == ["read.day_list", "read.waiting_list"]
    assert carl_rows[0].detail["records"] == [f"appointment:{other.id}"]
    await disconnect_all(anna, carl_peer)
