"""Calls over real Socket.IO clients: relaying only within a call, and the clerk's
reconnect grace (1 s here). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from office.appointments import Appointments
from office.staff import Staff
from rooms.store import RoomStore
from tests.helpers.booking import add_clerk, book_at, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import ANSWER, CANDIDATE, OFFER, RELAYED, SLOT, at
from tests.helpers.peers import (
    Peer,
    citizen_peer,
    clerk_peer,
    disconnect_all,
    joined,
    new_peer,
    store_ids,
    waiting_ids,
)

GRACE = 1.0


@pytest.fixture
def settings_update() -> dict[str, Any]:
    return {"reconnect_grace_seconds": GRACE}


def relayed(peer: Peer) -> dict[str, list[Any]]:
    return {event: list(peer.events[event]) for event in RELAYED}


NOTHING: dict[str, list[Any]] = {event: [] for event in RELAYED}


async def test_only_members_of_a_call_can_relay_and_only_to_each_other(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    caller = await book_at(desk, SLOT, email="c@example.org", name="Clara C.")
    bystander = await book_at(desk, at(10, 40), email="w@example.org", name="Willi W.")
    clock.set(at(10, 30))
    c = await citizen_peer(base, desk, caller)
    w = await citizen_peer(base, desk, bystander)
    await joined(c)
    await joined(w)
    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == caller.id
    await c.next("call_assigned")
    other_clerk = await clerk_peer(base, staff, bert)

    attempts = [("rtc_description", OFFER), ("rtc_candidate", CANDIDATE)]
    attempts.append(("chat_send", {"text": "Ich bin auch da"}))
    for outsider in (w, other_clerk):
        for event, payload in attempts:
            ack = await outsider.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == "not_in_call", (event, ack)
    await asyncio.sleep(0.5)
    for member in (c, anna):
        assert relayed(member) == NOTHING
    assert [call.appointment_id for call in await store.calls()] == [caller.id]
    assert await store_ids(store) == [bystander.id]

    # The members themselves do reach each other, and only each other.
    assert await c.call("rtc_candidate", CANDIDATE) == {"ok": True, "data": None}
    assert await anna.next("rtc_candidate") == CANDIDATE
    assert (await anna.call("rtc_description", ANSWER))["ok"] is True
    assert await c.next("rtc_description") == ANSWER
    chat = await c.call("chat_send", {"text": "  Guten Tag  "})
    assert chat["ok"] is True and chat["data"]["text"] == "Guten Tag"
    assert (await anna.next("chat_received"))["from"] == "citizen"
    await asyncio.sleep(0.3)
    for outsider in (w, other_clerk):
        assert relayed(outsider) == NOTHING

    # After the call, the former members are outsiders too.
    assert (await anna.call("call_end"))["ok"] is True
    await c.next("call_ended")
    assert (await c.call("rtc_candidate", CANDIDATE))["error"]["code"] == "not_in_call"
    assert (await anna.call("chat_send", {"text": "Noch da?"}))["error"]["code"] == "not_in_call"
    await asyncio.sleep(0.3)
    assert len(anna.events["rtc_candidate"]) == 1 and c.events["chat_received"] == []

    await disconnect_all(c, w, anna, other_clerk)


async def test_clerk_back_within_the_grace_rejoins_the_same_call(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> None:
    appointment = await book_at(desk, SLOT)
    clock.set(at(10, 25))
    c = await citizen_peer(base, desk, appointment)
    await joined(c)
    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_next")
    call_id = taken["data"]["call_id"]
    await c.next("call_assigned")

    await anna.disconnect()
    assert await c.next("peer_left") == {"role": "clerk", "grace_seconds": GRACE}
    back = new_peer("/clerk")
    await back.connect(base, await staff_cookie(staff, clerk))
    assert await back.next("state_synced") == {"state": "in_call", "in_call": True}
    again = await back.next("call_assigned")
    assert again["call_id"] == call_id
    assert again["citizen"]["appointment_id"] == appointment.id
    assert await c.next("peer_joined") == {"role": "clerk"}

    # The grace ran out meanwhile: the call must still stand.
    await asyncio.sleep(GRACE + 0.25)
    assert c.events["returned_to_queue"] == []
    call = await store.call_of_clerk(clerk)
    assert call is not None and call.call_id == call_id
    assert await store.waiting() == []
    assert (await back.call("rtc_description", OFFER))["ok"] is True
    assert await c.next("rtc_description") == OFFER
    assert (await back.call("call_end"))["ok"] is True
    assert (await c.next("call_ended"))["reason"] == "completed"

    await disconnect_all(c, back)


async def test_clerk_gone_past_the_grace_sends_the_citizen_back_to_the_front(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    early = await book_at(desk, SLOT, email="e@example.org", name="Emil E.")
    late = await book_at(desk, at(10, 40), email="x@example.org", name="Xaver X.")
    clock.set(at(10, 26))
    e = await citizen_peer(base, desk, early)
    x = await citizen_peer(base, desk, late)
    await joined(x)
    await joined(e)
    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_take", {"appointment_id": late.id})
    assert taken["ok"] is True
    await x.next("call_assigned")
    await e.until("queue_updated", lambda u: u["position"] == 1)

    await anna.disconnect()
    assert await x.next("peer_left") == {"role": "clerk", "grace_seconds": GRACE}
    assert await x.next("returned_to_queue", within=GRACE + 3) == {"reason": "clerk_lost"}
    assert await store.call_of_clerk(clerk) is None
    waiting = await store.waiting()
    assert [t.appointment_id for t in waiting] == [late.id, early.id]  # before 10:30
    assert waiting[0].front is True
    assert waiting[0].checked_in_at == at(10, 26).timestamp()
    await x.until("queue_updated", lambda u: u["position"] == 1)
    await e.until("queue_updated", lambda u: u["position"] == 2)

    # Another clerk sees him first, marked as returned, and gets him with "next".
    bert_peer = await clerk_peer(base, staff, bert)
    queue = await bert_peer.until("queue_updated", lambda q: len(q["waiting"]) == 2)
    assert waiting_ids(queue) == [late.id, early.id]
    assert [entry["returned"] for entry in queue["waiting"]] == [True, False]
    taken = await bert_peer.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == late.id
    assert (await x.next("call_assigned", count=2))["clerk_name"] == "Bert"

    await disconnect_all(e, x, bert_peer)
