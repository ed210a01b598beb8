"""The identity check driven over the call's sockets (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.staff import Staff
from office.verification import CLERK_STEPS, Step
from tests.helpers.booking import book_at, citizen_cookie, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.mail import SmtpServer, body, deliver_mail
from tests.helpers.peers import Peer


async def test_clerk_checks_citizen_consents_and_types_the_code(
    client: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    smtp: SmtpServer,
) -> None:
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen, anna = Peer("/citizen"), Peer("/clerk")
    await citizen.connect(base, citizen_cookie(desk, appointment))
    await anna.connect(base, await staff_cookie(staff, clerk))

    # Not in a call yet: nothing to check.
    refused = await anna.call("verification_start", {"document_type": "id_card"})
    assert refused["error"]["code"] == "not_in_call"

    assert (await citizen.call("queue_join"))["ok"] is True
    assert (await anna.call("queue_next"))["ok"] is True
    started = await anna.call("verification_start", {"document_type": "id_card"})
    assert started["ok"] is True and len(started["data"]["security_features"]) == 3
    assert (await citizen.next("verification_consent_requested"))["document_type"] == "id_card"

    # A console that reloads mid-call gets the check in progress back.
    reloaded = Peer("/clerk")
    await reloaded.connect(base, await staff_cookie(staff, clerk))
    resumed = await reloaded.call("verification_current")
    assert resumed["data"]["verification_id"] == started["data"]["verification_id"]
    await reloaded.disconnect()
    # So does the citizen's page: it asks for the consent again.
    assert await citizen_sees(citizen) == {
        "document_type": "id_card",
        "consented": False,
        "code_requested": False,
    }

    early = await anna.call("verification_record", {"step": "front_captured", "passed": True})
    assert early["ok"] is False and early["error"]["code"] == "conflict"
    assert (await citizen.call("verification_consent"))["ok"] is True
    assert (await anna.next("verification_updated"))["steps"]["consent"] is True

    for step in sorted(CLERK_STEPS):
        answer = await anna.call("verification_record", {"step": step, "passed": True})
        assert answer["ok"] is True, answer
    assert (await anna.call("verification_send_code"))["ok"] is True
    await citizen.next("verification_code_requested")
    # A page reloaded now shows the code form again.
    assert await citizen_sees(citizen) == {
        "document_type": "id_card",
        "consented": True,
        "code_requested": True,
    }
    await deliver_mail(client)
    [mail] = smtp.inbox.of_kind("Bestätigungscode")
    match = re.search(r"^\s+(\d{6})\s*$", body(mail), re.MULTILINE)
    assert match
    typed = await citizen.call("verification_code", {"code": match.group(1)})
    assert typed == {"ok": True, "data": {"passed": True}}
    updated = await anna.next("verification_updated", count=2)
    assert updated["steps"][Step.ONE_TIME_CODE.value] is True and updated["missing"] == []
    assert (await citizen_sees(citizen))["code_requested"] is False  # used: no form any more

    finished = await anna.call("verification_finish", {"outcome": "verified"})
    assert finished["ok"] is True and finished["data"]["outcome"] == "verified"
    assert (await citizen.next("verification_finished"))["outcome"] == "verified"
    assert await citizen_sees(citizen) is None  # no check in progress

    # Malformed input changes nothing.
    bad = await anna.call("verification_record", {"step": "consent", "passed": True})
    assert bad["error"]["code"] == "invalid_payload"
    assert (await citizen.call("verification_code", {"code": "12ab56"}))["ok"] is False
    await citizen.disconnect()
    await anna.disconnect()


async def citizen_sees(citizen: Peer) -> Any:
    """What a citizen's page that reloaded is told of the check (``verification_current``)."""
    answer = await citizen.call("verification_current")
    assert answer["ok"] is True, answer
    return answer["data"]


async def test_a_citizens_page_outside_a_call_is_told_so(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> None:
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen = Peer("/citizen")
    await citizen.connect(str(client.make_url("/")), citizen_cookie(desk, appointment))
    answer = await citizen.call("verification_current")
    assert answer["ok"] is False and answer["error"]["code"] == "not_in_call"
    await citizen.disconnect()
