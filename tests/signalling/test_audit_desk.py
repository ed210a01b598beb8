"""The data-protection officer's desk: she lands on the audit log after login, its
filters, pages and CSV export agree, and every other staff page and socket refuses
her; clerks and admins do not see the log. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from office import audit
from office.appointments import Appointments
from office.audit_log import PAGE_SIZE
from office.cases import Cases
from office.models import AuditEntry, Role, VerificationRecord
from office.staff import Staff
from office.tokens import Audience
from signalling.keys import CASES, SIGNER, VAULT
from tests.helpers.booking import book_at, staff_cookie, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.pages import csrf_of
from tests.helpers.peers import refusal_code, refused
from tests.helpers.staff_login import PASSWORD, enrol

DESK = "/datenschutz/protokoll"
EXPORT = DESK + ".csv"


@pytest.fixture
async def dpo(staff: Staff) -> int:
    created = await staff.create("dora", "Dora Datenschutz", PASSWORD, role=Role.DPO)
    return created.id


async def as_member(client: TestClient[Any, Any], staff: Staff, member: int) -> None:
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(member)})


def entry_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="kern-table__row" data-entry-id="(\d+)"', html)]


async def csv_rows(client: TestClient[Any, Any], params: dict[str, str]) -> list[dict[str, str]]:
    response = await client.get(EXPORT, params=params)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = (await response.read()).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


async def write(
    desk: Appointments, at: datetime, actor: str, action: str, subject: str, **detail: Any
) -> int:
    entry = AuditEntry(at=at, actor=actor, action=action, subject=subject, detail=detail)
    async with desk.office.sessions() as session, session.begin():
        session.add(entry)
        await session.flush()
        return entry.id


async def test_a_dpo_lands_on_her_desk_after_login(
    client: TestClient[Any, Any], staff: Staff, clock: Clock
) -> None:
    await staff.create("anna", "Anna Datenschutz", PASSWORD, role=Role.DPO)
    _, done = await enrol(client, clock)
    assert done.status == 303
    assert done.headers["Location"] == DESK
    page = await client.get(DESK)
    assert page.status == 200
    assert "Protokoll" in await page.text()


async def test_a_clerk_still_lands_on_the_console(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    _, done = await enrol(client, clock)
    assert done.headers["Location"] == "/sachbearbeitung"


async def test_filters_pages_and_the_export_agree(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    dpo: int,
    clerk: int,
    clock: Clock,
) -> None:
    clock.set(datetime(2026, 12, 20, 12, 0, tzinfo=UTC))  # her own views come after
    # Berlin is UTC+1 in December: 23:30 UTC on the 7th is already the 8th there.
    day7 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    late7 = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    day9 = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    anna = audit.staff_actor(clerk)
    seen = "appointment:11111111-1111-1111-1111-111111111111"
    read_case = await write(desk, day7, anna, "read.case", "case:abc")
    day_list = await write(
        desk, late7, anna, "read.day_list", "day:2026-12-08", records=[seen, "appointment:2"]
    )
    changed = await write(desk, day9, "system", "retention.purged", "appointments", count=2)
    formula = await write(desk, day9 + timedelta(minutes=1), anna, "case.opened", "=HYPERLINK()")

    await as_member(client, staff, dpo)
    cases = {"art": "read.", "von": "2026-12-07", "bis": "2026-12-08"}
    checks: list[tuple[dict[str, str], list[int]]] = [
        ({"art": "read.", "bis": "2026-12-19"}, [day_list, read_case]),
        # late7 is the 8th in Ostfildern
        ({"von": "2026-12-08", "bis": "2026-12-09"}, [formula, changed, day_list]),
        ({"von": "2026-12-07", "bis": "2026-12-07"}, [read_case]),
        ({"datensatz": "case:"}, [read_case]),
        ({"datensatz": seen}, [day_list]),  # named in the day list's records
        ({"datensatz": "appointment:1"}, []),  # a whole name, not a piece of one
        ({"wer": "system", "von": "2026-12-01"}, [changed]),  # not June's staff.created
        (cases, [day_list, read_case]),
        ({"art": "read.case", "wer": anna}, [read_case]),
    ]
    for params, expected in checks:
        page = await client.get(DESK, params=params)
        assert page.status == 200
        html = await page.text()
        shown = entry_ids(html)
        exported = [int(row["id"]) for row in await csv_rows(client, params)]
        assert shown == expected, params
        assert exported == expected, params

    rows = await csv_rows(client, {"wer": anna, "art": "case.opened"})
    assert rows[0]["datensatz"] == "'=HYPERLINK()"  # never a formula in a spreadsheet
    assert rows[0]["name"] == "Anna A."
    assert rows[0]["zeit"].startswith("2026-12-09T10:01:00+01:00")
    listed = await csv_rows(client, {"datensatz": seen})
    assert seen in listed[0]["details"]

    # The officer's own views are in the log too.
    own = await csv_rows(client, {"art": "read.audit_log"})
    assert own and all(row["wer"] == audit.staff_actor(dpo) for row in own)

    refused_date = await client.get(DESK, params={"von": "gestern"})
    assert refused_date.status == 200
    assert "Bitte ein Datum wie 2026-12-07 angeben." in await refused_date.text()


async def test_pages_run_newest_first(
    client: TestClient[Any, Any], staff: Staff, desk: Appointments, dpo: int
) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    count = PAGE_SIZE * 2 + 5
    async with desk.office.sessions() as session, session.begin():
        for n in range(count):
            audit.record(session, start + timedelta(minutes=n), "system", "test.row", f"row:{n}")
    await as_member(client, staff, dpo)
    params = {"art": "test.row"}
    first = await (await client.get(DESK, params=params)).text()
    third = await (await client.get(DESK, params={**params, "seite": "3"})).text()
    beyond = await (await client.get(DESK, params={**params, "seite": "99"})).text()
    assert "Seite 1 von 3" in first and "Seite 3 von 3" in third
    assert len(entry_ids(first)) == PAGE_SIZE and len(entry_ids(third)) == 5
    assert entry_ids(beyond) == entry_ids(third)  # past the end: the last page
    exported = [int(row["id"]) for row in await csv_rows(client, params)]
    assert len(exported) == count
    assert exported[:PAGE_SIZE] == entry_ids(first)
    assert exported[-5:] == entry_ids(third)
    assert f"row:{count - 1}</td>" in first  # the newest first
    assert "art=test.row&amp;seite=2" in first


async def test_clerks_and_admins_do_not_see_the_log(
    client: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    admin = await staff.create("ada", "Ada Admin", PASSWORD, role=Role.ADMIN)
    for member in (clerk, admin.id):
        await as_member(client, staff, member)
        for path in (DESK, EXPORT):
            response = await client.get(path)
            assert response.status == 403, (member, path)


async def test_the_dpo_is_refused_every_working_page_and_socket(
    client: TestClient[Any, Any],
    base: str,
    staff: Staff,
    desk: Appointments,
    clerk: int,
    dpo: int,
    clock: Clock,
) -> None:
    appointment = await book_at(desk, SLOT)
    clock.set(SLOT)
    await verify(desk, appointment.id)
    cases: Cases = client.app[CASES]
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    vault = client.app[VAULT]
    async with desk.office.sessions() as session:
        verification = await session.scalar(
            select(VerificationRecord.id).where(  # the check ``verify`` recorded
                VerificationRecord.appointment_id == appointment.id
            )
        )
    order = await vault.prepare(verification, "face")
    capture = await vault.keep(verification, order, b"sealed elsewhere")
    await as_member(client, staff, dpo)
    csrf = csrf_of(await (await client.get(DESK)).text())
    before = await read_rows(desk)

    pages = [
        "/sachbearbeitung",
        "/dashboard",
        "/sachbearbeitung/vorgaenge",
        f"/sachbearbeitung/vorgaenge/{case.id}",
        f"/sachbearbeitung/vorgaenge/{case.id}/rechnung.pdf",
        "/sachbearbeitung/kontoauszug",
    ]
    for path in pages:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403, path
        assert "Diese Seite ist für Ihre Rolle nicht freigegeben." in await response.text()
    forms = [
        (f"/sachbearbeitung/vorgaenge/{case.id}/aktion", {"action": "close"}),
        ("/sachbearbeitung/rechnungen/stapel", {}),
        ("/sachbearbeitung/kontoauszug/1/erledigt", {"notiz": "x"}),
        ("/sachbearbeitung/kontoauszug", {}),
    ]
    for path, fields in forms:
        response = await client.post(path, data={"csrf": csrf, **fields}, allow_redirects=False)
        assert response.status == 403, path
    # A capture link made out to her still shows her nothing (and says so in the log).
    token = client.app[SIGNER].issue(
        Audience.CAPTURE_VIEW, capture.capture_id, clock() + timedelta(minutes=5), viewer=dpo
    )
    assert (await client.get(f"/erfassungen/{token}")).status == 403
    upload = await client.post("/erfassungen/hochladen/x", data={"csrf": csrf})
    assert upload.status == 403

    cookie = await staff_cookie(staff, dpo)
    for namespace in ("/clerk", "/dashboard", "/citizen", "/guest"):
        refusal = await refused(base, namespace, cookie)
        assert refusal_code(refusal) == "not_authorised", namespace

    assert (await cases.get(case.id)).state == "open"  # nothing she sent changed it
    after = await read_rows(desk)
    assert [row for row in after if row not in before] == [
        ("capture.refused", f"capture:{capture.capture_id}")
    ]


async def read_rows(desk: Appointments) -> list[tuple[str, str]]:
    """Every row of the log but the officer's own views of it."""
    async with desk.office.sessions() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.subject)
            .where(AuditEntry.action != "read.audit_log")
            .order_by(AuditEntry.id)
        )
        return [(action, subject) for action, subject in rows.all()]
