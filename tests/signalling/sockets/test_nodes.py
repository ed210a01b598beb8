"""The real-time layer on the real Redis: losing Redis's data, and two app nodes that
share the database and the Redis prefix. On SQLite and PostgreSQL.

The flush test runs on Redis database 11 of its own, so FLUSHDB touches nothing else.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.staff import Staff
from rooms.store import RoomStore
from signalling.settings import Settings
from signalling.sockets.managers import CONTROL_NS
from tests.helpers.booking import add_clerk, book_at, citizen_cookie, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import ANSWER, CANDIDATE, OFFER, SLOT, at
from tests.helpers.peers import (
    citizen_peer,
    clerk_peer,
    disconnect_all,
    joined,
    new_peer,
    refused,
    store_ids,
    url_of,
    waiting_ids,
)
from tests.helpers.polling import eventually
from tests.helpers.services import redis_client

pytestmark = pytest.mark.parametrize("backend", ["redis"])
FLUSH_DB = 11


@pytest.fixture
def redis_db() -> int:
    return 0


@pytest.mark.parametrize("redis_db", [FLUSH_DB])
async def test_a_flushed_redis_is_rebuilt_with_the_same_order_and_calls(
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    store: RoomStore,
    settings: Settings,
) -> None:
    assert settings.redis_url is not None and settings.redis_url.endswith(f"/{FLUSH_DB}")
    bert = await add_clerk(staff, "bert", "meldewesen")
    carl = await add_clerk(staff, "carl", "meldewesen")
    caller = await book_at(desk, SLOT, email="c@example.org", name="Clara C.")
    first = await book_at(desk, at(10, 40), email="f@example.org", name="Frieda F.")
    second = await book_at(desk, at(10, 40), email="s@example.org", name="Sven S.")
    c = await citizen_peer(base, desk, caller)
    f = await citizen_peer(base, desk, first)
    s = await citizen_peer(base, desk, second)
    clock.set(at(10, 26))
    await joined(f)
    clock.set(at(10, 27))
    await joined(s)
    await joined(c)
    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == caller.id
    call_id = taken["data"]["call_id"]
    await c.next("call_assigned")
    bert_peer = await clerk_peer(base, staff, bert)
    order = [first.id, second.id]
    check_ins = [at(10, 26).timestamp(), at(10, 27).timestamp()]
    await bert_peer.until("queue_updated", lambda q: waiting_ids(q) == order)
    assert await store_ids(store) == order

    redis = await redis_client(FLUSH_DB)
    try:
        await redis.flushdb()
        assert await redis.dbsize() == 0
    finally:
        await redis.aclose()

    async def rebuilt() -> bool:
        call = await store.call_of_clerk(clerk)
        return await store_ids(store) == order and call is not None

    await eventually(rebuilt, within=6)
    assert [t.checked_in_at for t in await store.waiting()] == check_ins
    call = await store.call_of_clerk(clerk)
    assert call is not None and call.call_id == call_id and call.appointment_id == caller.id
    assert {p.clerk_id for p in await store.clerks()} == {clerk, bert}
    queue = await bert_peer.until("queue_updated", lambda q: waiting_ids(q) == order)
    assert [e["checked_in_at"] for e in queue["waiting"]] == check_ins
    carl_peer = await clerk_peer(base, staff, carl)  # connects after the rebuild
    queue = await carl_peer.next("queue_updated")
    assert waiting_ids(queue) == order
    assert [e["checked_in_at"] for e in queue["waiting"]] == check_ins

    # The call still relays, both ways, and still binds its clerk.
    assert (await c.call("rtc_description", OFFER))["ok"] is True
    assert await anna.next("rtc_description") == {**OFFER, "from": "citizen"}
    assert (await anna.call("rtc_candidate", CANDIDATE))["ok"] is True
    assert await c.next("rtc_candidate") == {**CANDIDATE, "from": "clerk"}
    assert (await anna.call("queue_next"))["error"]["code"] == "clerk_busy"

    # A clerk takes the next citizen: the first in the original order.
    taken = await bert_peer.call("queue_next")
    assert taken["ok"] is True and taken["data"]["citizen"]["appointment_id"] == first.id
    await f.next("call_assigned")
    await s.until("queue_updated", lambda u: u["position"] == 1)

    await disconnect_all(c, f, s, anna, bert_peer, carl_peer)


async def test_citizen_on_one_node_and_clerk_on_another(
    base: str,
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    assert base != url_of(node_b)
    appointment = await book_at(desk, SLOT)
    clock.set(at(10, 20))
    c = await citizen_peer(base, desk, appointment)  # node A
    assert await joined(c) == {
        "state": "waiting",
        "position": 1,
        "estimate_minutes": None,
        "clerks_online": 0,
    }
    anna = new_peer("/clerk")
    await anna.connect(url_of(node_b), await staff_cookie(staff, clerk))  # node B
    queue = await anna.until("queue_updated", lambda q: len(q["waiting"]) == 1)
    assert waiting_ids(queue) == [appointment.id]
    assert queue["waiting"][0]["checked_in_at"] == at(10, 20).timestamp()
    update = await c.until("queue_updated", lambda u: u["clerks_online"] == 1)
    assert update == {"position": 1, "estimate_minutes": 0, "clerks_online": 1}

    taken = await anna.call("queue_next")
    assert taken["ok"] is True and taken["data"]["citizen"]["appointment_id"] == appointment.id
    assigned = await c.next("call_assigned")
    assert assigned["call_id"] == taken["data"]["call_id"]
    assert assigned["clerk_name"] == "Anna A."

    assert (await c.call("rtc_description", OFFER))["ok"] is True
    assert await anna.next("rtc_description") == {**OFFER, "from": "citizen"}
    assert (await anna.call("rtc_description", ANSWER))["ok"] is True
    assert await c.next("rtc_description") == {**ANSWER, "from": "clerk"}
    assert (await anna.call("chat_send", {"text": "Hallo"}))["ok"] is True
    assert (await c.next("chat_received"))["text"] == "Hallo"
    assert (await anna.call("call_end"))["ok"] is True
    assert (await c.next("call_ended"))["reason"] == "completed"
    assert len(c.events["rtc_description"]) == 1 and len(anna.events["rtc_description"]) == 1

    await disconnect_all(c, anna)


async def test_two_clerks_on_two_nodes_claim_at_once(
    base: str,
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    only = await book_at(desk, SLOT)
    clock.set(at(10, 20))
    c = new_peer("/citizen")
    await c.connect(url_of(node_b), citizen_cookie(desk, only))
    await joined(c)
    anna = await clerk_peer(base, staff, clerk)
    bert_peer = new_peer("/clerk")
    await bert_peer.connect(url_of(node_b), await staff_cookie(staff, bert))
    await bert_peer.until("queue_updated", lambda q: len(q["waiting"]) == 1)
    await anna.until("queue_updated", lambda q: len(q["waiting"]) == 1)

    acks = await asyncio.gather(anna.call("queue_next"), bert_peer.call("queue_next"))
    codes = sorted("ok" if ack["ok"] else ack["error"]["code"] for ack in acks)
    assert codes == ["ok", "queue_empty"], acks
    await c.next("call_assigned")
    await asyncio.sleep(0.3)
    assert len(c.events["call_assigned"]) == 1

    await disconnect_all(c, anna, bert_peer)


async def test_a_call_across_two_nodes_opens_and_closes_in_step_with_its_messages(
    base: str,
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    """A call's rooms are joined and closed on the manager's channel, in order with
    everything else on it: the clerk's first message, sent the moment she has taken
    the call, reaches the citizen on the other node; once the citizen has heard of
    the end, what she sends reaches nobody; a socket that comes back during the call
    on the other node is in it again."""
    await add_clerk(staff, "bert", "meldewesen")  # room in the 10:40 slot for two
    booked = [
        await book_at(desk, SLOT, email="a@example.org", name="Ada A."),
        await book_at(desk, at(10, 40), email="b@example.org", name="Ben B."),
        await book_at(desk, at(10, 40), email="c@example.org", name="Cem C."),
    ]
    clock.set(at(10, 26))
    citizens = {a.id: await citizen_peer(base, desk, a) for a in booked}  # node A
    first_pages = list(citizens.values())
    for peer in first_pages:
        await joined(peer)
    anna = new_peer("/clerk")
    await anna.connect(url_of(node_b), await staff_cookie(staff, clerk))  # node B

    for n in range(1, len(booked) + 1):
        taken = await anna.call("queue_next")
        assert (await anna.call("rtc_description", OFFER))["ok"] is True  # no waiting
        appointment_id = taken["data"]["citizen"]["appointment_id"]
        c = citizens[appointment_id]
        assert await c.next("rtc_description") == {**OFFER, "from": "clerk"}
        assert (await c.next("call_assigned"))["call_id"] == taken["data"]["call_id"]
        assert (await c.call("rtc_candidate", CANDIDATE))["ok"] is True
        assert await anna.next("rtc_candidate", count=n) == {**CANDIDATE, "from": "citizen"}
        if n == len(booked):  # the citizen's page reloads on the clerk's node
            await c.disconnect()
            back = new_peer("/citizen")
            [appointment] = [a for a in booked if a.id == appointment_id]
            await back.connect(url_of(node_b), citizen_cookie(desk, appointment))
            assert (await back.next("call_assigned"))["call_id"] == taken["data"]["call_id"]
            assert await anna.next("peer_joined") == {"role": "citizen"}
            assert (await back.call("rtc_description", ANSWER))["ok"] is True
            assert await anna.next("rtc_description") == {**ANSWER, "from": "citizen"}
            assert (await anna.call("rtc_candidate", CANDIDATE))["ok"] is True
            assert await back.next("rtc_candidate") == {**CANDIDATE, "from": "clerk"}
            citizens[appointment_id] = c = back
        assert (await anna.call("call_end"))["ok"] is True
        assert (await c.next("call_ended"))["reason"] == "completed"
        ack = await c.call("chat_send", {"text": "Noch da?"})
        assert ack["ok"] is False and ack["error"]["code"] == "not_in_call"

    await asyncio.sleep(0.3)
    assert anna.events["chat_received"] == []
    assert len(anna.events["rtc_candidate"]) == len(booked)
    assert [len(p.events["rtc_description"]) for p in first_pages] == [1, 1, 1]
    # The nodes' news go to /_rooms: no client can join it (python-socketio answers a
    # connect to a namespace with neither handler nor listing with CONNECT_ERROR).
    assert await refused(base, CONTROL_NS, "") == "Unable to connect"
    await disconnect_all(anna, *citizens.values())


async def test_a_call_on_one_node_relays_without_redis_and_across_nodes_through_it(
    base: str,
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    settings: Settings,
    redis_db: int,
) -> None:
    """With both people on one node its relayed messages never reach Redis; once the
    citizen's page comes back on the other node, they go through Redis to reach it."""
    appointment = await book_at(desk, SLOT)
    clock.set(at(10, 26))
    c = await citizen_peer(base, desk, appointment)  # node A, as the clerk
    await joined(c)
    anna = await clerk_peer(base, staff, clerk)
    redis = await redis_client(redis_db)
    published = redis.pubsub()
    await published.subscribe(f"{settings.redis_prefix}:socketio")

    async def relayed_through_redis() -> list[str]:
        seen = []
        while (message := await published.get_message(timeout=0.3)) is not None:
            if message["type"] == "message":
                seen.append(json.loads(message["data"]).get("event"))
        return [event for event in seen if event in ("rtc_candidate", "chat_received")]

    try:
        await anna.call("queue_next")
        await c.next("call_assigned")
        for n in range(1, 4):
            assert (await c.call("rtc_candidate", CANDIDATE))["ok"] is True
            assert await anna.next("rtc_candidate", count=n) == {**CANDIDATE, "from": "citizen"}
        assert (await anna.call("chat_send", {"text": "Hallo"}))["ok"] is True
        assert (await c.next("chat_received"))["text"] == "Hallo"
        assert await relayed_through_redis() == []

        await c.disconnect()  # her page comes back on node B
        back = new_peer("/citizen")
        await back.connect(url_of(node_b), citizen_cookie(desk, appointment))
        await back.next("call_assigned")
        await anna.next("peer_joined")
        assert (await anna.call("rtc_candidate", CANDIDATE))["ok"] is True
        assert await back.next("rtc_candidate") == {**CANDIDATE, "from": "clerk"}
        assert (await back.call("chat_send", {"text": "Wieder da"}))["ok"] is True
        assert (await anna.next("chat_received"))["text"] == "Wieder da"
        assert await relayed_through_redis() == ["rtc_candidate", "chat_received"]
    finally:
        await published.aclose()
        await redis.aclose()
    await disconnect_all(anna, back)
