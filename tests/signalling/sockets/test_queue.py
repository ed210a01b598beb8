"""The waiting room over real Socket.IO clients: order, positions, estimates, claims,
reconnects, no-shows and who may connect. On SQLite and PostgreSQL; the claim race
also on the real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.models import Role
from office.staff import Staff
from rooms.store import RoomStore
from signalling.sockets.keys import LOBBY
from tests.helpers.booking import add_clerk, book_at, citizen_cookie, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT, at
from tests.helpers.peers import (
    Peer,
    citizen_peer,
    clerk_peer,
    disconnect_all,
    joined,
    new_peer,
    refusal_code,
    refused,
    waiting_ids,
)


def standing(position: int, estimate: int | None, online: int) -> dict[str, Any]:
    return {"position": position, "estimate_minutes": estimate, "clerks_online": online}


def is_standing(position: int, estimate: int | None, online: int) -> Any:
    expected = standing(position, estimate, online)
    return lambda update: update == expected


async def test_order_positions_and_estimates_follow_the_queue(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    carl = await add_clerk(staff, "carl", "bundeszentralregister")
    # Clara: 10:30, 20 minutes; Bodo: 10:30, 10 minutes; Alma: 10:40, 10 minutes, but the
    # first to check in. Dora needs another skill (Bundeszentralregister).
    clara = await book_at(desk, SLOT, "abmeldung-ummeldung", "c@example.org", "Clara C.")
    bodo = await book_at(desk, SLOT, "meldebescheinigung", "b@example.org", "Bodo B.")
    alma = await book_at(desk, at(10, 40), "meldebescheinigung", "a@example.org", "Alma A.")
    dora = await book_at(desk, SLOT, "fuehrungszeugnis", "d@example.org", "Dora D.")

    peers: dict[str, Peer] = {}
    for key, appointment in (("a", alma), ("c", clara), ("b", bodo), ("d", dora)):
        peers[key] = await citizen_peer(base, desk, appointment)
    a, b, c, d = peers["a"], peers["b"], peers["c"], peers["d"]

    clock.set(at(10, 26))
    assert await joined(a) == {"state": "waiting", **standing(1, None, 0)}
    clock.set(at(10, 27))
    assert await joined(c) == {"state": "waiting", **standing(1, None, 0)}  # earlier slot
    clock.set(at(10, 28))
    assert await joined(b) == {"state": "waiting", **standing(2, None, 0)}  # later check-in
    assert await joined(d) == {"state": "waiting", **standing(1, None, 0)}  # its own queue

    # Order: appointment time, then first check-in. No clerk on duty: no estimate.
    await c.until("queue_updated", is_standing(1, None, 0))
    await b.until("queue_updated", is_standing(2, None, 0))
    await a.until("queue_updated", is_standing(3, None, 0))

    # One clerk with the skill: the minutes ahead (20, then 20 + 10).
    anna = await clerk_peer(base, staff, clerk)
    queue = await anna.until("queue_updated", lambda q: len(q["waiting"]) == 3)
    assert waiting_ids(queue) == [clara.id, bodo.id, alma.id]  # Dora needs another skill
    assert [e["checked_in_at"] for e in queue["waiting"]] == [
        at(10, 27).timestamp(),
        at(10, 28).timestamp(),
        at(10, 26).timestamp(),
    ]
    await c.until("queue_updated", is_standing(1, 0, 1))
    await b.until("queue_updated", is_standing(2, 20, 1))
    await a.until("queue_updated", is_standing(3, 30, 1))

    # Two clerks: divided by two (rounded up).
    bert_peer = await clerk_peer(base, staff, bert)
    await b.until("queue_updated", is_standing(2, 10, 2))
    await a.until("queue_updated", is_standing(3, 15, 2))
    await c.until("queue_updated", is_standing(1, 0, 2))

    # A clerk who is away does not count.
    assert await bert_peer.call("clerk_state", {"state": "away"}) == {
        "ok": True,
        "data": {"state": "away"},
    }
    await b.until("queue_updated", is_standing(2, 20, 1))
    await a.until("queue_updated", is_standing(3, 30, 1))
    assert (await b.call("queue_join"))["data"] == {"state": "waiting", **standing(2, 20, 1)}

    # Dora's queue has no clerk yet; the clerk for it arrives.
    await d.until("queue_updated", is_standing(1, None, 0))
    carl_peer = await clerk_peer(base, staff, carl)
    await d.until("queue_updated", is_standing(1, 0, 1))

    # Someone ahead leaves: everyone behind moves up.
    assert await c.call("queue_leave") == {"ok": True, "data": {"left": True}}
    await b.until("queue_updated", is_standing(1, 0, 1))
    await a.until("queue_updated", is_standing(2, 10, 1))
    queue = await anna.until("queue_updated", lambda q: len(q["waiting"]) == 2)
    assert waiting_ids(queue) == [bodo.id, alma.id]

    # Someone ahead is taken.
    taken = await anna.call("queue_next")
    assert taken["ok"] is True and taken["data"]["citizen"]["appointment_id"] == bodo.id
    await a.until("queue_updated", is_standing(1, 0, 1))
    queue = await anna.until("queue_updated", lambda q: len(q["waiting"]) == 1)
    assert waiting_ids(queue) == [alma.id]
    assert d.events["queue_updated"][-1] == standing(1, 0, 1)  # other queue untouched

    await disconnect_all(a, b, c, d, anna, bert_peer, carl_peer)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_two_clerks_claiming_at_once_never_get_the_same_citizen(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    first = await book_at(desk, SLOT, email="x@example.org", name="Xaver X.")
    second = await book_at(desk, at(10, 40), email="y@example.org", name="Yvonne Y.")
    third = await book_at(desk, at(10, 50), email="z@example.org", name="Zoe Z.")
    clock.set(at(10, 36))
    x = await citizen_peer(base, desk, first)
    y = await citizen_peer(base, desk, second)
    await joined(x)
    await joined(y)
    anna = await clerk_peer(base, staff, clerk)
    bert_peer = await clerk_peer(base, staff, bert)

    # Two waiting, two clerks: each gets one, never both the same.
    acks = await asyncio.gather(anna.call("queue_next"), bert_peer.call("queue_next"))
    assert [ack["ok"] for ack in acks] == [True, True], acks
    taken = {ack["data"]["citizen"]["appointment_id"] for ack in acks}
    assert taken == {first.id, second.id}
    assert len({ack["data"]["call_id"] for ack in acks}) == 2
    assert len(await store.calls()) == 2
    await x.next("call_assigned")
    await y.next("call_assigned")

    for peer in (anna, bert_peer):
        assert (await peer.call("call_end"))["ok"] is True

    # One waiting, two clerks: one gets her, the other hears the queue is empty.
    z = await citizen_peer(base, desk, third)
    await joined(z)
    acks = await asyncio.gather(anna.call("queue_next"), bert_peer.call("queue_next"))
    winners = [ack for ack in acks if ack["ok"]]
    losers = [ack for ack in acks if not ack["ok"]]
    assert len(winners) == 1 and len(losers) == 1, acks
    assert winners[0]["data"]["citizen"]["appointment_id"] == third.id
    assert losers[0]["error"]["code"] == "queue_empty"
    calls = await store.calls()
    assert [c.appointment_id for c in calls] == [third.id]
    winner_id = clerk if acks[0]["ok"] else bert
    assert calls[0].clerk_id == winner_id
    assert (await desk.get(third.id)).clerk_id == winner_id
    await z.next("call_assigned")
    await asyncio.sleep(0.3)
    assert len(z.events["call_assigned"]) == 1  # assigned once, to one clerk

    await disconnect_all(x, y, z, anna, bert_peer)


async def test_reconnect_keeps_the_place_and_the_first_check_in(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> None:
    bert_id = await add_clerk(staff, "bert", "meldewesen")
    xaver = await book_at(desk, SLOT, email="x@example.org", name="Xaver X.")
    yvonne = await book_at(desk, SLOT, email="y@example.org", name="Yvonne Y.")
    x = await citizen_peer(base, desk, xaver)
    y = await citizen_peer(base, desk, yvonne)
    clock.set(at(10, 20))
    assert (await joined(x))["position"] == 1
    clock.set(at(10, 22))
    assert (await joined(y))["position"] == 2
    anna = await clerk_peer(base, staff, clerk)
    await anna.until("queue_updated", lambda q: len(q["waiting"]) == 2)

    await x.disconnect()
    clock.set(at(10, 25))  # later than Yvonne's check-in: a new check-in would lose the place
    again = new_peer("/citizen")
    await again.connect(base, citizen_cookie(desk, xaver))
    assert await again.next("state_synced") == {"state": "waiting"}
    assert await joined(again) == {"state": "waiting", **standing(1, 0, 1)}
    await again.until("queue_updated", is_standing(1, 0, 1))
    assert (await joined(y))["position"] == 2

    record = await desk.get(xaver.id)
    assert record.checked_in_at == at(10, 20)
    assert [t.checked_in_at for t in await store.waiting()] == [
        at(10, 20).timestamp(),
        at(10, 22).timestamp(),
    ]
    # A clerk who connects now sees the original check-in time.
    bert = await clerk_peer(base, staff, bert_id)
    queue = await bert.next("queue_updated")
    assert waiting_ids(queue) == [xaver.id, yvonne.id]
    assert [e["checked_in_at"] for e in queue["waiting"]] == [
        at(10, 20).timestamp(),
        at(10, 22).timestamp(),
    ]
    assert waiting_ids(anna.events["queue_updated"][-1]) == [xaver.id, yvonne.id]

    await disconnect_all(again, y, anna, bert)


async def test_no_shows_are_marked_and_shown_to_clerks(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    await add_clerk(staff, "bert", "meldewesen")
    absent = await book_at(desk, SLOT, email="n@example.org", name="Nora N.")
    present = await book_at(desk, SLOT, email="k@example.org", name="Karl K.")
    later = await book_at(desk, at(11, 0), email="l@example.org", name="Lena L.")
    k = await citizen_peer(base, desk, present)
    clock.set(at(10, 20))
    await joined(k)
    anna = await clerk_peer(base, staff, clerk)
    day = await anna.next("day_updated")
    status = {e["appointment_id"]: e["status"] for e in day["appointments"]}
    assert status == {absent.id: "booked", present.id: "checked_in", later.id: "booked"}

    lobby = client.app[LOBBY]
    clock.set(at(10, 44))  # 14 minutes late: still within the grace
    assert await lobby.mark_no_shows() == []
    clock.set(at(10, 46))
    assert await lobby.mark_no_shows() == [absent.id]
    day = await anna.next("day_updated", count=2)
    status = {e["appointment_id"]: e["status"] for e in day["appointments"]}
    assert status == {absent.id: "no_show", present.id: "checked_in", later.id: "booked"}
    assert (await desk.get(absent.id)).status == "no_show"
    assert (await desk.get(present.id)).status == "booked"
    assert await lobby.mark_no_shows() == []  # marked once

    await disconnect_all(k, anna)


async def test_the_day_list_shows_a_clerk_only_the_services_of_her_skills(
    base: str, desk: Appointments, staff: Staff, clerk: int
) -> None:
    """Least privilege: Anna (registration, advice) sees none of the names of the
    citizens Carl (Bundeszentralregister) will serve, and he none of hers."""
    carl = await add_clerk(staff, "carl", "bundeszentralregister")
    register = await book_at(desk, SLOT, "meldebescheinigung", "m@example.org", "Mia M.")
    advice = await book_at(desk, at(11, 0), "beratung", "b@example.org", "Ben B.")
    record = await book_at(desk, SLOT, "fuehrungszeugnis", "f@example.org", "Finn F.")
    anna_peer = await clerk_peer(base, staff, clerk)
    carl_peer = await clerk_peer(base, staff, carl)
    for peer, expected in ((anna_peer, {register, advice}), (carl_peer, {record})):
        day = await peer.next("day_updated")
        assert {e["appointment_id"] for e in day["appointments"]} == {a.id for a in expected}
        assert {e["name"] for e in day["appointments"]} == {a.name for a in expected}
    await disconnect_all(anna_peer, carl_peer)


async def test_roles_versions_and_refusals(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    appointment = await book_at(desk, SLOT)
    citizen = citizen_cookie(desk, appointment)
    clerk_cookie = await staff_cookie(staff, clerk)
    refusals = [
        await refused(base, "/clerk", citizen),
        await refused(base, "/citizen", ""),
        await refused(base, "/dashboard", clerk_cookie),
        await refused(base, "/citizen", citizen, {"v": 99}),
    ]
    # Each was refused (ConnectionError) and said so with a connect_error.
    assert all(isinstance(r, dict) and r.get("message") for r in refusals), refusals

    # The right roles get in.
    admin = await staff.create("root", "Root", "correct horse battery", role=Role.ADMIN)
    dashboard = new_peer("/dashboard")
    await dashboard.connect(base, await staff_cookie(staff, admin.id))
    assert set(await dashboard.next("dashboard_updated")) == {"queues", "clerks", "calls"}
    anna = await clerk_peer(base, staff, clerk)
    peer = await citizen_peer(base, desk, appointment)

    assert (await peer.call("queue_next"))["error"]["code"] == "forbidden"
    assert (await peer.call("call_end", {}))["error"]["code"] == "forbidden"
    assert (await anna.call("queue_join"))["error"]["code"] == "forbidden"
    assert (await dashboard.call("queue_next"))["error"]["code"] == "forbidden"
    assert (await peer.call("no_such_command", {}))["error"]["code"] == "unknown_event"

    # 06:00: the check-in window opens at 10:15 and closes at 10:45.
    assert (await peer.call("queue_join"))["error"]["code"] == "checkin_not_open"
    clock.set(at(10, 45))
    assert (await peer.call("queue_join"))["error"]["code"] == "checkin_closed"
    assert (await desk.get(appointment.id)).checked_in_at is None

    await disconnect_all(dashboard, anna, peer)


async def test_commands_of_other_roles_are_forbidden_not_unknown(
    base: str, desk: Appointments, staff: Staff, clerk: int
) -> None:
    """docs/protocol.md: "forbidden" answers a command of another role, in every namespace."""
    appointment = await book_at(desk, SLOT)
    admin = await staff.create("root", "Root", "correct horse battery", role=Role.ADMIN)
    dashboard = new_peer("/dashboard")
    await dashboard.connect(base, await staff_cookie(staff, admin.id))
    anna = await clerk_peer(base, staff, clerk)
    peer = await citizen_peer(base, desk, appointment)
    sent = {
        "citizen day_refresh": await peer.call("day_refresh"),
        "citizen dashboard_refresh": await peer.call("dashboard_refresh"),
        "clerk dashboard_refresh": await anna.call("dashboard_refresh"),
        "dashboard day_refresh": await dashboard.call("day_refresh"),
    }
    codes = {what: ack["error"]["code"] for what, ack in sent.items()}
    assert codes == dict.fromkeys(sent, "forbidden")
    await disconnect_all(dashboard, anna, peer)


async def test_refused_connections_carry_a_machine_readable_code(
    base: str, desk: Appointments, staff: Staff, clerk: int
) -> None:
    """docs/protocol.md: a refused connection's connect_error carries {"code", "message"}."""
    appointment = await book_at(desk, SLOT)
    citizen = citizen_cookie(desk, appointment)
    codes = [
        refusal_code(await refused(base, "/clerk", citizen)),
        refusal_code(await refused(base, "/dashboard", await staff_cookie(staff, clerk))),
        refusal_code(await refused(base, "/citizen", citizen, {"v": 99})),
    ]
    assert codes == ["not_authorised", "not_authorised", "protocol_version"]
