"""The clerk's case panel over the call's sockets (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.models import Capture
from office.staff import Staff
from office.verification import Verifications
from signalling.keys import CASES, INVOICES, VAULT
from tests.helpers.booking import book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SECRET, SLOT
from tests.helpers.peers import connected_pair, start_call


async def test_the_clerk_opens_and_moves_a_case_and_both_sides_hear_of_it(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    other = await book_at(desk, SLOT + timedelta(hours=1), "beratung", "o@example.org", "O. Ther")
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen, anna = await connected_pair(base, desk, staff, clerk, appointment)
    refused = await anna.call("case_open", {"service_id": "meldebescheinigung"})
    assert refused["error"]["code"] == "not_in_call"
    await start_call(citizen, anna)

    opened = await anna.call("case_open", {"service_id": "meldebescheinigung", "quantity": 2})
    assert opened["ok"] is True, opened
    case = opened["data"]
    assert case["state"] == "open" and case["fee_cents"] == 2000 and case["quantity"] == 2
    heard = await citizen.next("cases_updated")
    assert heard["cases"][0]["reference"] == case["reference"]
    assert "reason" not in heard["cases"][0]  # the clerk's notes stay with the clerk

    def act(action: str, **extra: Any) -> dict[str, Any]:
        return {"case_id": case["case_id"], "action": action, **extra}

    too_early = await anna.call("case_action", act("verified"))
    assert too_early["error"]["code"] == "invalid_transition"
    await verify(desk, appointment.id)
    assert (await anna.call("case_action", act("verified")))["data"]["state"] == "verified"
    no_method = await anna.call("case_action", act("request_payment"))
    assert no_method["error"]["code"] == "invalid_input"
    no_address = await anna.call("case_action", act("request_payment", method="invoice_post"))
    assert no_address["error"]["code"] == "invalid_input"  # a letter needs an address
    assert (await client.app[CASES].get(case["case_id"])).state.value == "verified"
    address = ["Erika Mustermann", "Heidestraße 17", "51147 Köln"]
    pending = await anna.call(
        "case_action", act("request_payment", method="invoice_post", address=address)
    )
    assert pending["ok"] is True, pending
    assert pending["data"]["state"] == "payment_pending"
    assert pending["data"]["payment_method"] == "invoice_post"
    # The invoice is issued at once, for the letter batch.
    number = pending["data"]["invoice_number"]
    invoice = await client.app[INVOICES].invoice_of(case["case_id"])
    assert invoice is not None and invoice.number == number
    assert invoice.recipient_address == tuple(address) and invoice.amount_cents == 2000
    paid = await anna.call("case_action", act("mark_paid"))
    assert paid["data"]["state"] == "paid" and paid["data"]["paid_cents"] == 2000
    again = await anna.call("case_action", act("mark_paid"))
    assert again["error"]["code"] == "invalid_transition"
    await anna.call("case_action", act("fulfil"))
    posted = await anna.call("case_action", act("posted", posted_on="2026-06-01"))
    assert posted["data"]["state"] == "posted" and posted["data"]["posted_on"] == "2026-06-01"
    last = await citizen.next("cases_updated", count=len(citizen.events["cases_updated"]))
    assert last["cases"][0]["state"] == "posted"

    # A case of another appointment is not reachable from this call.
    foreign = await client.app[CASES].open(other.id, "beratung", clerk)
    stranger = await anna.call("case_action", {"case_id": foreign.id, "action": "cancel"})
    assert stranger["error"]["code"] == "not_found"
    assert (await client.app[CASES].get(foreign.id)).state.value == "open"
    listed = await anna.call("case_list")
    assert [c["case_id"] for c in listed["data"]["cases"]] == [case["case_id"]]
    # A citizen cannot drive cases.
    assert (await citizen.call("case_open", {"service_id": "beratung"}))["ok"] is False
    await citizen.disconnect()
    await anna.disconnect()


async def test_captures_go_when_the_last_case_of_the_appointment_has_ended(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen, anna = await connected_pair(base, desk, staff, clerk, appointment)
    await start_call(citizen, anna)
    checks = Verifications(desk.office, SECRET)
    check = await checks.start(appointment.id, clerk, "passport")
    await checks.consent(check.verification_id)
    image = np.full((120, 190, 3), 200, np.uint8)
    await client.app[VAULT].store(check.verification_id, "front", image, german_id_front=False)

    async def captures() -> int:
        async with desk.office.sessions() as session:
            query = select(func.count()).select_from(Capture)
            return int(await session.scalar(query) or 0)

    first = (await anna.call("case_open", {"service_id": "beratung"}))["data"]
    second = (await anna.call("case_open", {"service_id": "beratung"}))["data"]
    for case, captures_left in ((first, 1), (second, 0)):
        done = await anna.call(
            "case_action", {"case_id": case["case_id"], "action": "cancel", "reason": "Test"}
        )
        assert done["data"]["state"] == "cancelled"
        assert await captures() == captures_left  # kept while another case is open
    await citizen.disconnect()
    await anna.disconnect()
