"""The after-call case pages: the list with its filters, one case with its timeline,
invoice and action forms, the invoice PDF and the print batch; staff only, CSRF
enforced; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.cases import Cases, CaseState
from office.models import Appointment, CaseEvent, Invoice, Role
from office.staff import Staff
from signalling.keys import CASES
from signalling.pages import casework as case_pages
from tests.helpers.booking import book_at, citizen_cookie, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.pages import csrf_of

LIST = "/sachbearbeitung/vorgaenge"
BATCH = "/sachbearbeitung/rechnungen/stapel"
ADDRESS = "Musterweg 1\n73760 Ostfildern"


@pytest.fixture
def cases(client: TestClient[Any, Any]) -> Cases:
    found: Cases = client.app[CASES]
    return found


@pytest.fixture
async def appointment(desk: Appointments, clerk: int, clock: Clock) -> Appointment:
    booked = await book_at(desk, SLOT)
    clock.set(SLOT)
    await verify(desk, booked.id)
    return booked


async def login(client: TestClient[Any, Any], staff: Staff, clerk_id: int) -> str:
    """Log in as this staff member; a CSRF token for the forms."""
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(clerk_id)})
    page = await client.get(LIST)
    assert page.status == 200
    return csrf_of(await page.text())


def listed(html: str) -> list[str]:
    """The case ids in the list, in the order shown."""
    return re.findall(r'<tr class="kern-table__row" data-case-id="([0-9a-f-]{36})"', html)


async def act(
    client: TestClient[Any, Any], csrf: str, case_id: str, action: str, **fields: str
) -> ClientResponse:
    return await client.post(
        f"{LIST}/{case_id}/aktion",
        data={"csrf": csrf, "action": action, **fields},
        allow_redirects=False,
    )


async def done(
    client: TestClient[Any, Any], csrf: str, case_id: str, action: str, **fields: str
) -> str:
    """Perform an action that must succeed; the detail page it leads to."""
    response = await act(client, csrf, case_id, action, **fields)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == f"{LIST}/{case_id}?erledigt={action}"
    page = await client.get(response.headers["Location"])
    assert page.status == 200
    return await page.text()


async def events(desk: Appointments, case_id: str) -> int:
    async with desk.office.sessions() as session:
        query = select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        return int(await session.scalar(query) or 0)


async def test_the_list_filters_by_state_and_age_oldest_first(
    client: TestClient[Any, Any],
    staff: Staff,
    cases: Cases,
    appointment: Appointment,
    clerk: int,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = await cases.open(appointment.id, "meldebescheinigung", clerk)
    clock.advance(minutes=1)
    gone = await cases.open(appointment.id, "beratung", clerk)
    await cases.transition(gone.id, CaseState.CANCELLED, "clerk:1", reason="doppelt")
    clock.advance(days=5)
    recent = await cases.open(appointment.id, "meldebescheinigung", clerk, quantity=2)
    clock.advance(days=3)  # old: unchanged for 8 days, recent: for 3

    await login(client, staff, clerk)
    default = await (await client.get(LIST)).text()
    assert listed(default) == [old.id, recent.id]  # not the cancelled one; oldest first
    assert old.reference in default and "20,00 €" in default and "eröffnet" in default
    # No personal data in the list: neither the booking's name nor its address.
    assert "Erika" not in default and "erika@example.org" not in default
    assert 'id="zustand-open" name="zustand" value="open" checked' in default
    assert 'value="cancelled" checked' not in default

    cancelled = await (await client.get(LIST, params={"zustand": "cancelled"})).text()
    assert listed(cancelled) == [gone.id]
    both = await (
        await client.get(LIST, params=[("zustand", "open"), ("zustand", "cancelled")])
    ).text()
    assert listed(both) == [old.id, gone.id, recent.id]
    week = await (await client.get(LIST, params={"alter": "7"})).text()
    assert listed(week) == [old.id]
    assert 'id="alter-7" name="alter" value="7" checked' in week
    assert listed(await (await client.get(LIST, params={"alter": "3"})).text()) == [
        old.id,
        recent.id,
    ]
    fortnight = await (await client.get(LIST, params={"alter": "14"})).text()
    assert listed(fortnight) == [] and "Keine Vorgänge in dieser Auswahl" in fortnight

    # More than the limit: the oldest are shown, with a note.
    assert 'id="more-cases"' not in default
    monkeypatch.setattr(case_pages, "LIMIT", 1)
    limited = await (await client.get(LIST)).text()
    assert listed(limited) == [old.id] and "mehr als 1 passende Vorgänge" in limited


async def test_a_case_goes_its_way_through_the_forms_with_its_timeline(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    cases: Cases,
    appointment: Appointment,
    clerk: int,
    clock: Clock,
) -> None:
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    csrf = await login(client, staff, clerk)
    page = await (await client.get(f"{LIST}/{case.id}")).text()
    assert f"Vorgang {case.reference}" in page and "Erika Mustermann" in page
    assert "erika@example.org" not in page  # the name for the invoice, not the contacts
    assert 'id="form-request_payment"' in page and 'id="form-close"' not in page
    assert "Keine Rechnung." in page

    page = await done(client, csrf, case.id, "request_payment", method="invoice_email")
    assert "Die Zahlung ist angefordert." in page and "Zahlung offen" in page
    invoice_number = re.search(r"Rechnung (\d{4}-\d{6}) als PDF", page)
    assert invoice_number, "the invoice is not linked"
    assert 'id="form-mark_paid"' in page and 'id="form-invoice"' not in page
    pdf = await client.get(f"{LIST}/{case.id}/rechnung.pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    assert invoice_number.group(1) in pdf.headers["Content-Disposition"]

    # Any clerk or admin may go on with the case: after-call work is shared.
    admin = await staff.create("root", "Ada Admin", "correct horse battery", role=Role.ADMIN)
    csrf = await login(client, staff, admin.id)
    clock.advance(hours=2)
    page = await done(client, csrf, case.id, "mark_paid")
    assert "bezahlt 10,00 €" in page
    page = await done(client, csrf, case.id, "fulfil")
    assert 'type="date" value="2026-06-01"' in page  # posted: today by default
    page = await done(client, csrf, case.id, "posted", posted_on="2026-06-01")
    assert "01.06.2026" in page and 'id="form-close"' in page
    page = await done(client, csrf, case.id, "close")
    assert "keine weiteren Schritte" in page and "<form" in page  # only the logout
    assert 'name="action"' not in page

    timeline = re.search(r'<ol class="bb-timeline" id="case-timeline">(.*?)</ol>', page, re.S)
    assert timeline
    steps = re.findall(r'<span class="bb-timeline__what">([^<]+)</span>', timeline.group(1))
    assert steps == [
        "eröffnet",
        "Zahlung offen",
        "bezahlt",
        "in Bearbeitung",
        "per Post versandt",
        "abgeschlossen",
    ]
    assert "durch Anna A. · Rechnung per E-Mail" in timeline.group(1)
    assert "durch Ada Admin" in timeline.group(1) and "clerk:" not in timeline.group(1)
    assert (await cases.get(case.id)).state is CaseState.CLOSED
    assert await events(desk, case.id) == 6


async def test_a_refused_action_says_why_in_german_and_changes_nothing(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    cases: Cases,
    appointment: Appointment,
    clerk: int,
) -> None:
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    csrf = await login(client, staff, clerk)

    refused = await act(client, csrf, case.id, "close")
    text = await refused.text()
    assert refused.status == 409
    assert "Ein Vorgang im Zustand „eröffnet“ kann nicht „abgeschlossen“ werden." in text
    no_reason = await act(client, csrf, case.id, "cancel", reason="  ")
    assert no_reason.status == 400 and "Bitte einen Grund angeben." in await no_reason.text()
    unknown = await act(client, csrf, case.id, "delete")
    assert unknown.status == 400 and "Diese Aktion gibt es nicht." in await unknown.text()

    # An invoice by post needs an address fit for the window, before the case moves;
    # what was typed stays in the form.
    short = await act(
        client, csrf, case.id, "request_payment", method="invoice_post", address="Musterweg 1"
    )
    text = await short.text()
    assert short.status == 400 and "mindestens 2 Zeilen" in text
    assert re.search(r'id="request_payment-address"[^>]*aria-invalid="true">Musterweg 1<', text)
    assert '<option value="invoice_post" selected>' in text
    bad_method = await act(client, csrf, case.id, "request_payment", method="cash")
    assert bad_method.status == 400
    assert "Bitte eine Zahlungsart wählen." in await bad_method.text()

    assert (await cases.get(case.id)).state is CaseState.OPEN
    assert await events(desk, case.id) == 1
    async with desk.office.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0

    # A date that is none is refused at the posted step too.
    await cases.transition(case.id, CaseState.WAIVED, "clerk:1", reason="Härtefall")
    await cases.transition(case.id, CaseState.IN_FULFILMENT, "clerk:1")
    wrong_date = await act(client, csrf, case.id, "posted", posted_on="gestern")
    text = await wrong_date.text()
    assert wrong_date.status == 400 and "Bitte ein gültiges Datum angeben." in text
    assert 'value="gestern"' in text
    assert (await cases.get(case.id)).state is CaseState.IN_FULFILMENT


async def test_only_logged_in_staff_get_in_and_forms_need_the_csrf_token(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    cases: Cases,
    appointment: Appointment,
    clerk: int,
) -> None:
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    await cases.transition(case.id, CaseState.VERIFIED, "clerk:1")
    pages = [LIST, f"{LIST}/{case.id}", f"{LIST}/{case.id}/rechnung.pdf"]
    for headers in ({}, {"Cookie": citizen_cookie(desk, appointment)}):
        for path in pages:
            response = await client.get(path, headers=headers, allow_redirects=False)
            assert response.status == 303 and response.headers["Location"] == "/anmelden"
    anonymous_csrf = csrf_of(await (await client.get("/anmelden")).text())
    for path, data in (
        (f"{LIST}/{case.id}/aktion", {"action": "cancel", "reason": "weg"}),
        (BATCH, {}),
    ):
        response = await client.post(
            path, data={"csrf": anonymous_csrf, **data}, allow_redirects=False
        )
        assert response.status == 303 and response.headers["Location"] == "/anmelden"
    assert (await cases.get(case.id)).state is CaseState.VERIFIED

    csrf = await login(client, staff, clerk)
    forged = await act(client, "0" * 64, case.id, "cancel", reason="weg")
    assert forged.status == 403
    assert (await cases.get(case.id)).state is CaseState.VERIFIED
    missing = await client.get(f"{LIST}/00000000-0000-0000-0000-000000000000")
    assert missing.status == 404
    no_invoice = await client.get(f"{LIST}/{case.id}/rechnung.pdf")
    assert no_invoice.status == 404
    assert (await act(client, csrf, case.id, "cancel", reason="weg")).status == 303
    assert (await cases.get(case.id)).state is CaseState.CANCELLED

    # The console and the dashboard link the case list and the bank statements.
    console = await (await client.get("/sachbearbeitung")).text()
    assert f'href="{LIST}"' in console and 'href="/sachbearbeitung/kontoauszug"' in console
    admin = await staff.create("root", "Ada Admin", "correct horse battery", role=Role.ADMIN)
    await login(client, staff, admin.id)
    dashboard = await (await client.get("/dashboard")).text()
    assert f'href="{LIST}"' in dashboard and 'href="/sachbearbeitung/kontoauszug"' in dashboard


async def test_the_print_batch_holds_the_unprinted_post_invoices_once(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    cases: Cases,
    appointment: Appointment,
    clerk: int,
) -> None:
    csrf = await login(client, staff, clerk)
    by_post = [await cases.open(appointment.id, "meldebescheinigung", clerk) for _ in range(2)]
    by_mail = await cases.open(appointment.id, "meldebescheinigung", clerk)
    for case in by_post:
        page = await done(
            client, csrf, case.id, "request_payment", method="invoice_post", address=ADDRESS
        )
        assert "per Post, noch nicht gedruckt" in page
    await done(client, csrf, by_mail.id, "request_payment", method="invoice_email")

    forged = await client.post(BATCH, data={"csrf": "bad"})
    assert forged.status == 403
    batch = await client.post(BATCH, data={"csrf": csrf})
    assert batch.status == 200 and batch.content_type == "application/pdf"
    assert batch.headers["Content-Disposition"].startswith("attachment;")
    assert (await batch.read()).startswith(b"%PDF")
    async with desk.office.sessions() as session:
        rows = await session.execute(select(Invoice.case_id, Invoice.printed_at))
        printed = {row.case_id: row.printed_at for row in rows}
    assert {case_id for case_id, at in printed.items() if at is not None} == {
        case.id for case in by_post
    }
    page = await (await client.get(f"{LIST}/{by_post[0].id}")).text()
    assert "per Post, gedruckt am 01.06.2026" in page

    again = await client.post(BATCH, data={"csrf": csrf})
    assert again.status == 200 and again.content_type == "text/html"
    assert "keine Rechnungen per Post, die noch nicht gedruckt wurden" in await again.text()
    listing = await (await client.get(LIST)).text()
    assert f'action="{BATCH}"' in listing
