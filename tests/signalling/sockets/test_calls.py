"""Calls over real Socket.IO clients: relaying only within a call, and the clerk's
reconnect grace (1 s here). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from office.appointments import Appointments
from office.models import Appointment
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


@dataclass
class InCall:
    caller: Appointment
    bystander: Appointment
    citizen: Peer  # the caller's page
    waiting: Peer  # the bystander's, in the waiting room
    clerk: Peer
    taken: dict[str, Any]  # the clerk's queue_next ack


async def in_a_call_beside_a_waiting_citizen(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, **caller: Any
) -> InCall:
    """The clerk in a call with the citizen of 10:30 (booked with ``caller``'s details)
    while the citizen of 10:40 waits."""
    appointment = await book_at(desk, SLOT, **caller)
    bystander = await book_at(desk, at(10, 40), email="w@example.org", name="Willi W.")
    clock.set(at(10, 30))
    c = await citizen_peer(base, desk, appointment)
    w = await citizen_peer(base, desk, bystander)
    await joined(c)
    await joined(w)
    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_next")
    return InCall(appointment, bystander, c, w, anna, taken)


async def test_only_members_of_a_call_can_relay_and_only_to_each_other(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    call = await in_a_call_beside_a_waiting_citizen(
        base, desk, staff, clerk, clock, email="c@example.org", name="Clara C."
    )
    caller, bystander = call.caller, call.bystander
    c, w, anna = call.citizen, call.waiting, call.clerk
    assert call.taken["data"]["citizen"]["appointment_id"] == caller.id
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
    assert await anna.next("rtc_candidate") == {**CANDIDATE, "from": "citizen"}
    assert (await anna.call("rtc_description", ANSWER))["ok"] is True
    assert await c.next("rtc_description") == {**ANSWER, "from": "clerk"}
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
    assert await c.next("rtc_description") == {**OFFER, "from": "clerk"}
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


async def test_each_side_hears_whether_the_other_muted_and_the_clerk_has_the_phone_number(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    call = await in_a_call_beside_a_waiting_citizen(
        base, desk, staff, clerk, clock, phone="+49 711 1234567"
    )
    c, w, anna, bystander = call.citizen, call.waiting, call.clerk, call.bystander
    assert call.taken["data"]["citizen"]["phone"] == "+49 711 1234567"  # for a call back
    await c.next("call_assigned")

    muted = {"microphone": False, "camera": True}
    assert await c.call("media_state", muted) == {"ok": True, "data": None}
    assert await anna.next("media_state") == {**muted, "from": "citizen"}
    dark = {"microphone": True, "camera": False}
    assert (await anna.call("media_state", dark))["ok"] is True
    assert await c.next("media_state") == {**dark, "from": "clerk"}
    for wrong in ({"microphone": "no", "camera": True}, {"microphone": False}, {}):
        ack = await c.call("media_state", wrong)
        assert ack["error"]["code"] == "invalid_payload", wrong
    ack = await w.call("media_state", muted)  # not in the call
    assert ack["error"]["code"] == "not_in_call"
    await asyncio.sleep(0.3)
    assert anna.events["media_state"] == [{**muted, "from": "citizen"}]

    # Without a number given at booking, the clerk is told there is none.
    assert (await anna.call("call_end"))["ok"] is True
    taken = await anna.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == bystander.id
    assert taken["data"]["citizen"]["phone"] is None
    await disconnect_all(c, w, anna)


async def test_a_clerk_hears_how_many_wait_for_services_she_does_not_serve(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    bert = await add_clerk(staff, "bert", "bundeszentralregister")
    first = await book_at(desk, SLOT, email="a@example.org", name="Ada A.")
    second = await book_at(desk, at(10, 40), email="b@example.org", name="Ben B.")
    clock.set(at(10, 30))
    for appointment in (first, second):
        await joined(await citizen_peer(base, desk, appointment))
    anna = await clerk_peer(base, staff, clerk)
    bert_peer = await clerk_peer(base, staff, bert)
    mine = await anna.until("queue_updated", lambda q: q["total"] == 2)
    assert mine["others_waiting"] == 0 and len(mine["waiting"]) == 2
    theirs = await bert_peer.until("queue_updated", lambda q: q["others_waiting"] == 2)
    assert theirs["waiting"] == [] and theirs["total"] == 0  # no names, only the number

    assert (await anna.call("queue_next"))["ok"] is True
    await bert_peer.until("queue_updated", lambda q: q["others_waiting"] == 1)
    await disconnect_all(anna, bert_peer)


async def test_a_page_that_comes_back_during_the_call_gets_the_chat_again(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    appointment = await book_at(desk, SLOT)
    clock.set(at(10, 25))
    c = await citizen_peer(base, desk, appointment)
    await joined(c)
    anna = await clerk_peer(base, staff, clerk)
    assert (await anna.call("queue_next"))["ok"] is True
    await c.next("call_assigned")
    first = (await c.call("chat_send", {"text": "Guten Tag"}))["data"]
    second = (await anna.call("chat_send", {"text": "Hallo, Frau Mustermann"}))["data"]
    await c.next("chat_received")

    await anna.disconnect()  # the console reloads
    back = await clerk_peer(base, staff, clerk)
    await back.next("call_assigned")
    assert await back.call("chat_history") == {"ok": True, "data": [first, second]}
    await c.disconnect()  # and so does the citizen's page
    c = await citizen_peer(base, desk, appointment)
    await c.next("call_assigned")
    assert (await c.call("chat_history"))["data"] == [first, second]

    assert (await back.call("call_end"))["ok"] is True
    await c.next("call_ended")
    assert (await c.call("chat_history"))["error"]["code"] == "not_in_call"
    await disconnect_all(c, back)


async def test_a_clerk_hands_the_citizen_to_a_colleague_with_a_note_and_the_check_so_far(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    bert = await add_clerk(staff, "bert", "beratung")  # another skill only
    call = await in_a_call_beside_a_waiting_citizen(base, desk, staff, clerk, clock)
    c, anna = call.citizen, call.clerk
    await c.next("call_assigned")
    bert_peer = await clerk_peer(base, staff, bert)
    started = await anna.call("verification_start", {"document_type": "passport"})
    assert started["ok"] is True

    for wrong, code in [
        ({"skill": "raumfahrt", "note": "Bitte übernehmen"}, "unknown_skill"),
        ({"skill": "beratung", "note": "   "}, "invalid_payload"),
        ({"skill": "beratung", "note": "x" * 501}, "invalid_payload"),
    ]:
        ack = await anna.call("call_transfer", wrong)
        assert ack["error"]["code"] == code, wrong
    assert (await anna.call("rtc_candidate", CANDIDATE))["ok"] is True  # still in the call

    note = "Möchte zusätzlich wissen, wie die Ummeldung ihrer Tochter geht."
    ack = await anna.call("call_transfer", {"skill": "beratung", "note": note})
    assert ack == {"ok": True, "data": {"state": "after_call"}}
    assert await c.next("returned_to_queue") == {"reason": "transferred"}
    queue = await bert_peer.until("queue_updated", lambda q: q["total"] == 1)
    [entry] = queue["waiting"]
    assert entry["appointment_id"] == call.caller.id and entry["returned"] is True
    assert entry["handover"] == {"note": note, "by": "Anna A."}
    assert (await anna.call("chat_send", {"text": "Noch da?"}))["error"]["code"] == "not_in_call"

    taken = await bert_peer.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == call.caller.id
    assert taken["data"]["citizen"]["handover"] == {"note": note, "by": "Anna A."}
    await c.next("call_assigned", count=2)
    check = await bert_peer.call("verification_current")
    assert check["ok"] is True and check["data"]["document_type"] == "passport"
    await disconnect_all(c, call.waiting, anna, bert_peer)


async def test_a_clerk_hands_the_citizen_to_a_colleague_by_name(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    carl = await add_clerk(staff, "carl", "meldewesen")
    call = await in_a_call_beside_a_waiting_citizen(base, desk, staff, clerk, clock)
    c, anna = call.citizen, call.clerk
    await c.next("call_assigned")
    bert_peer = await clerk_peer(base, staff, bert)
    carl_peer = await clerk_peer(base, staff, carl)
    assert (await carl_peer.call("clerk_state", {"state": "away"}))["ok"] is True

    # Colleagues on duty, by name; she is not among them, nor is one on a break.
    listed = await anna.call("colleagues")
    assert listed == {
        "ok": True,
        "data": [{"clerk_id": bert, "name": "Bert", "state": "available"}],
    }
    note = "Kennt den Fall von letzter Woche."
    for wrong, code in [
        ({"clerk_id": clerk, "note": note}, "colleague_unavailable"),  # herself
        ({"clerk_id": carl, "note": note}, "colleague_unavailable"),  # away
        ({"clerk_id": 9999, "note": note}, "colleague_unavailable"),
        ({"clerk_id": bert, "skill": "meldewesen", "note": note}, "invalid_payload"),
        ({"note": note}, "invalid_payload"),
        ({"clerk_id": "2", "note": note}, "invalid_payload"),
    ]:
        ack = await anna.call("call_transfer", wrong)
        assert ack["error"]["code"] == code, wrong
    assert (await anna.call("rtc_candidate", CANDIDATE))["ok"] is True  # still in the call

    ack = await anna.call("call_transfer", {"clerk_id": bert, "note": note})
    assert ack == {"ok": True, "data": {"state": "after_call"}}
    assert await c.next("returned_to_queue") == {"reason": "transferred"}
    queue = await bert_peer.until("queue_updated", lambda q: q["total"] == 2)
    assert [e["appointment_id"] for e in queue["waiting"]] == [call.caller.id, call.bystander.id]
    assert queue["waiting"][0]["handover"] == {"note": note, "by": "Anna A."}

    # Only Bert serves her: a colleague of the same skill takes the next one instead.
    assert (await carl_peer.call("clerk_state", {"state": "available"}))["ok"] is True
    taken = await carl_peer.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == call.bystander.id
    assert (await carl_peer.call("call_end"))["ok"] is True
    assert (await carl_peer.call("queue_next"))["error"]["code"] == "queue_empty"
    taken = await carl_peer.call("queue_take", {"appointment_id": call.caller.id})
    assert taken["error"]["code"] == "skill_missing"

    # Bert leaves before taking her: she goes back, first, to her service's queue.
    await bert_peer.disconnect()
    queue = await carl_peer.until("queue_updated", lambda q: q["total"] == 1)
    [entry] = queue["waiting"]
    assert entry["appointment_id"] == call.caller.id and entry["returned"] is True
    assert entry["handover"] == {"note": note, "by": "Anna A."}
    taken = await carl_peer.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == call.caller.id
    await c.next("call_assigned", count=2)
    await disconnect_all(c, call.waiting, anna, carl_peer)
