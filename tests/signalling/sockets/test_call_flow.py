"""The waiting room and a call over real Socket.IO clients, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.staff import Staff
from tests.helpers.booking import book_at, citizen_cookie, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.peers import Peer

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}


async def test_citizen_waits_clerk_takes_and_they_signal(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 20, tzinfo=UTC))  # inside the check-in window

    citizen = Peer("/citizen")
    await citizen.connect(base, citizen_cookie(desk, appointment))
    assert (await citizen.next("state_synced"))["state"] == "idle"
    joined = await citizen.call("queue_join")
    assert joined == {
        "ok": True,
        "data": {"state": "waiting", "position": 1, "estimate_minutes": None, "clerks_online": 0},
    }

    anna = Peer("/clerk")
    await anna.connect(base, await staff_cookie(staff, clerk))
    queue = await anna.next("queue_updated")
    assert [e["appointment_id"] for e in queue["waiting"]] == [appointment.id]
    assert queue["waiting"][0]["name"] == "Erika Mustermann"
    # The estimate follows the clerks on duty: once Anna is there, it counts her.
    await citizen.until("queue_updated", lambda update: update["clerks_online"] == 1)

    taken = await anna.call("queue_next")
    assert taken["ok"] is True
    assert taken["data"]["citizen"]["appointment_id"] == appointment.id
    assigned = await citizen.next("call_assigned")
    assert assigned["polite"] is True and assigned["call_id"] == taken["data"]["call_id"]

    assert (await citizen.call("rtc_description", OFFER)) == {"ok": True, "data": None}
    assert await anna.next("rtc_description") == {**OFFER, "from": "citizen"}
    answer = {**OFFER, "type": "answer"}
    assert (await anna.call("rtc_description", answer))["ok"] is True
    assert await citizen.next("rtc_description") == {**answer, "from": "clerk"}

    ended = await anna.call("call_end")
    assert ended == {"ok": True, "data": {"state": "after_call"}}
    assert (await citizen.next("call_ended"))["reason"] == "completed"
    record = await desk.get(appointment.id)
    assert record.status == "completed" and record.clerk_id == clerk
    assert record.call_started_at is not None and record.call_ended_at is not None

    await citizen.disconnect()
    await anna.disconnect()
