"""Property-based: random event names and JSON-ish payloads against every namespace
(fixed seed and count in CI; BB_FUZZ_EXAMPLES and BB_FUZZ_SEED for a longer run).

One citizen (waiting), one clerk (no call, nobody waiting for her skills) and one admin
dashboard are connected once per test; meanwhile another clerk holds a call with
another citizen. Every message must get an ack from the documented set, and nothing
may change: the waiting list, the calls and the appointment rows stay as they were.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import event as note_outcome
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from office.appointments import Appointments
from office.models import Appointment, Role
from office.staff import Staff
from rooms.store import RoomStore
from signalling.sockets.protocol import MAX_SDP
from tests.helpers.booking import add_clerk, book_at, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import CANDIDATE, FUZZ_SEED, SLOT, at, fuzz_examples
from tests.helpers.peers import Peer, citizen_peer, clerk_peer, disconnect_all, joined, new_peer

ACK_TIMEOUT = 1.0
MAX_MESSAGE = 2 * MAX_SDP - 1024  # leaves room for the event name and the framing

# Per namespace: each command and the error codes it may answer (docs/protocol.md).
# Every message may also be refused as invalid_payload or rate_limited.
ANY = frozenset({"invalid_payload", "rate_limited"})
RELAY = frozenset({"not_in_call"})
CITIZEN: dict[str, frozenset[str]] = {
    "queue_join": frozenset({"checkin_not_open", "checkin_closed", "not_found"}),
    "queue_leave": frozenset(),
    "rtc_description": RELAY,
    "rtc_candidate": RELAY,
    "chat_send": RELAY,
    "call_hangup": RELAY,
}
CLERK: dict[str, frozenset[str]] = {
    "clerk_state": frozenset(),
    "queue_next": frozenset({"queue_empty", "clerk_busy"}),
    "queue_take": frozenset({"not_waiting", "skill_missing", "clerk_busy"}),
    "rtc_description": RELAY,
    "rtc_candidate": RELAY,
    "chat_send": RELAY,
    "call_end": RELAY,
    "call_requeue": RELAY,
    "day_refresh": frozenset(),
}
DASHBOARD: dict[str, frozenset[str]] = {"dashboard_refresh": frozenset()}
COMMANDS = {"/citizen": CITIZEN, "/clerk": CLERK, "/dashboard": DASHBOARD}
EMPTY_COMMANDS = frozenset(
    {"queue_join", "queue_leave", "call_hangup", "queue_next", "call_end", "call_requeue"}
    | {"day_refresh", "dashboard_refresh"}
)
ALL_COMMANDS = sorted({name for commands in COMMANDS.values() for name in commands})
RESERVED = ["connect", "disconnect", "connect_error", "message", "*", ""]


@dataclass
class Arena:
    peers: dict[str, Peer]
    waiting_id: str
    in_call_id: str
    store: RoomStore
    desk: Appointments
    failed: bool = False  # an example failed: the final checks would only repeat it


async def appointment_rows(desk: Appointments) -> list[dict[str, Any]]:
    columns = [c.key for c in Appointment.__table__.columns]
    async with desk.office.sessions() as session:
        rows = (await session.scalars(select(Appointment).order_by(Appointment.id))).all()
    return [{key: getattr(row, key) for key in columns} for row in rows]


async def snapshot(arena: Arena) -> tuple[Any, ...]:
    return (
        await arena.store.waiting(),
        await arena.store.calls(),
        await appointment_rows(arena.desk),
    )


@pytest.fixture
async def arena(
    base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock, store: RoomStore
) -> AsyncIterator[Arena]:
    carl = await add_clerk(staff, "carl", "bundeszentralregister")
    waiting = await book_at(desk, SLOT, "fuehrungszeugnis", "w@example.org", "Willi W.")
    in_call = await book_at(desk, at(10, 45), "fuehrungszeugnis", "v@example.org", "Vera V.")
    clock.set(at(10, 31))
    citizen = await citizen_peer(base, desk, waiting)
    await joined(citizen)
    vera = await citizen_peer(base, desk, in_call)
    await joined(vera)
    carl_peer = await clerk_peer(base, staff, carl)
    assert (await carl_peer.call("queue_take", {"appointment_id": in_call.id}))["ok"] is True
    await vera.next("call_assigned")
    anna = await clerk_peer(base, staff, clerk)  # meldewesen: may take neither of them
    admin = await staff.create("root", "Root", "correct horse battery", role=Role.ADMIN)
    dashboard = new_peer("/dashboard")
    await dashboard.connect(base, await staff_cookie(staff, admin.id))
    yield Arena(
        {
            "/citizen": citizen,
            "/clerk": anna,
            "/dashboard": dashboard,
            "vera": vera,
            "carl": carl_peer,
        },
        waiting.id,
        in_call.id,
        store,
        desk,
    )
    await disconnect_all(citizen, vera, carl_peer, anna, dashboard)


@pytest.fixture
async def fuzz_arena(arena: Arena) -> AsyncIterator[Arena]:
    """The arena, checked after all examples: unchanged, and still serving everyone."""
    before = await snapshot(arena)
    yield arena
    if arena.failed:
        return
    citizen, anna = arena.peers["/citizen"], arena.peers["/clerk"]
    ack = await citizen.call("queue_join")
    assert ack["ok"] is True and ack["data"]["position"] == 1, ack
    days = len(anna.events["day_updated"])
    assert await anna.call("day_refresh") == {"ok": True, "data": None}
    await anna.next("day_updated", count=days + 1)
    assert await arena.peers["/dashboard"].call("dashboard_refresh") == {"ok": True, "data": None}
    assert (await anna.call("queue_next"))["error"]["code"] == "queue_empty"
    assert await snapshot(arena) == before
    # The call between Carl and Vera, whom nobody fuzzed, still relays.
    vera, carl = arena.peers["vera"], arena.peers["carl"]
    assert (await vera.call("rtc_candidate", CANDIDATE))["ok"] is True
    assert await carl.next("rtc_candidate") == {**CANDIDATE, "from": "citizen"}


# -- payloads -----------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["offer", "answer", "available", "away", "after_call", "in_call"])
)
huge = st.integers(min_value=1_000, max_value=100_000).flatmap(
    lambda n: st.sampled_from("xa:- ").map(lambda c: c * n)  # ASCII: 1 byte a character
)
keys = st.text(max_size=12) | st.sampled_from(["type", "sdp", "text", "state"])
json_ish = st.recursive(
    scalars | huge,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def weighted(choices: list[tuple[int, st.SearchStrategy[Any]]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each as often as its weight says."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def merged(shape: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {**shape, **extra}


def shapes(ids: list[str]) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Per command, payloads close to valid ones (often valid), to reach the handlers."""
    short = st.text(max_size=30)
    text = short | st.text(min_size=10, max_size=300) | huge
    uuid = st.uuids().map(str) | st.sampled_from(ids) | short
    candidate = st.just("") | st.text(max_size=80).map(lambda t: f"candidate:{t}") | text
    return {
        "rtc_description": st.fixed_dictionaries(
            {"type": st.sampled_from(["offer", "answer"]) | short, "sdp": text}
        ),
        "rtc_candidate": st.fixed_dictionaries(
            {"candidate": candidate},
            optional={
                "sdpMid": text | st.none(),
                "sdpMLineIndex": st.integers(-5, 100) | st.none() | st.booleans(),
                "usernameFragment": text | st.none(),
            },
        ),
        "chat_send": st.fixed_dictionaries({"text": text | st.just("   ")}),
        "clerk_state": st.fixed_dictionaries(
            {"state": st.sampled_from(["available", "away", "after_call", "in_call"]) | short}
        ),
        "queue_take": st.fixed_dictionaries({"appointment_id": uuid}),
        "empty": st.just({}),
    }


def near_valid(event: str, ids: list[str]) -> st.SearchStrategy[Any]:
    """The shape for this event (when it has one) or any other, maybe with an extra key."""
    known = shapes(ids)
    extra = st.dictionaries(st.text(max_size=8), scalars, min_size=1, max_size=1)
    shape = known.get(event, known["empty"])
    any_shape = st.one_of(list(known.values()))
    return weighted([(2, shape), (1, any_shape), (1, st.builds(merged, shape | any_shape, extra))])


def fits_a_message(payload: Any) -> bool:
    """Under socket.io's message limit (2 x MAX_SDP): larger ones close the connection."""
    return len(json.dumps(payload)) <= MAX_MESSAGE


def payloads(event: str, ids: list[str]) -> st.SearchStrategy[Any]:
    # Tuples go out as several arguments (only a 1-tuple is one), which no command takes.
    near = near_valid(event, ids)
    return weighted(
        [
            (4, near),
            (2, json_ish),
            (1, st.tuples(json_ish, json_ish)),
            (1, st.tuples(near)),
            (1, st.just(())),
        ]
    ).filter(fits_a_message)


def events(namespace: str) -> st.SearchStrategy[str]:
    """Mostly the namespace's own commands (so payloads reach the handlers), then other
    roles' commands, socket.io's reserved names and random text."""
    own = st.sampled_from(sorted(COMMANDS[namespace]))
    others = st.sampled_from([*ALL_COMMANDS, "no_such_event"])
    return weighted([(9, own), (1, others), (1, st.sampled_from(RESERVED)), (1, st.text())])


def arguments(payload: Any) -> list[Any]:
    """What the server receives after the event name (the client expands tuples)."""
    if payload is None:
        return []
    return list(payload) if isinstance(payload, tuple) else [payload]


def is_valid_empty(payload: Any) -> bool:
    args = arguments(payload)
    return args == [] or args in ([None], [{}])


def expected_errors(namespace: str, event: str, payload: Any) -> frozenset[str]:
    """The error codes the documented protocol allows for this message."""
    own = COMMANDS[namespace]
    if event in own:
        args = arguments(payload)
        if len(args) > 1 or (args and args[0] is not None and not isinstance(args[0], dict)):
            return frozenset({"invalid_payload", "rate_limited"})  # not a JSON object
        if event in EMPTY_COMMANDS and args and args[0]:
            return frozenset({"invalid_payload", "rate_limited"})  # unknown fields
        return ANY | own[event]
    others = {name for ns, commands in COMMANDS.items() if ns != namespace for name in commands}
    # Another role's command is "forbidden"; test_queue.py checks that exactly.
    return ANY | ({"forbidden", "unknown_event"} if event in others else {"unknown_event"})


def check_success(arena: Arena, namespace: str, event: str, payload: Any, data: Any) -> None:
    """An ok ack is only possible where random input may be valid, and must fit it."""
    args = arguments(payload)
    if (namespace, event) == ("/citizen", "queue_join"):
        assert is_valid_empty(payload)
        assert data["state"] == "waiting" and data["position"] == 1
    elif (namespace, event) == ("/clerk", "clerk_state"):
        assert args[0]["state"] in ("available", "away", "after_call")
        assert data == {"state": args[0]["state"]}
    elif (namespace, event) in (("/clerk", "day_refresh"), ("/dashboard", "dashboard_refresh")):
        assert is_valid_empty(payload) and data is None
    else:
        raise AssertionError(f"{namespace} {event} {payload!r} succeeded: {data!r}")


def short(payload: Any) -> str:
    text = repr(payload)
    return text if len(text) <= 200 else f"{text[:200]}… ({len(text)} characters)"


async def throw(arena: Arena, namespace: str, event: str, payload: Any) -> None:
    peer = arena.peers[namespace]
    try:
        ack = await peer.call(event, payload, within=ACK_TIMEOUT)
    except socketio.exceptions.TimeoutError:
        raise AssertionError(f"{namespace} {event!r} {short(payload)}: no ack") from None
    assert isinstance(ack, dict) and set(ack) in ({"ok", "data"}, {"ok", "error"}), ack
    note_outcome(f"{namespace}: {'ok' if ack['ok'] is True else ack['error']['code']}")
    if ack["ok"] is True:
        check_success(arena, namespace, event, payload, ack["data"])
        return
    assert ack["ok"] is False
    error = ack["error"]
    assert isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]
    allowed = expected_errors(namespace, event, payload)
    assert error["code"] in allowed, (namespace, event, short(payload), error, sorted(allowed))


FUZZ = hypothesis_settings(
    max_examples=fuzz_examples(200),
    deadline=None,
    database=None,  # keep no example database in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No shrinking: a message that breaks the socket breaks every later example too,
    # so the first failing example is the informative one.
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)


@FUZZ
@seed(FUZZ_SEED)
@given(data=st.data())
async def test_random_messages_get_documented_acks_and_change_nothing(
    fuzz_arena: Arena, data: st.DataObject
) -> None:
    arena = fuzz_arena
    before = await snapshot(arena)
    namespace = data.draw(st.sampled_from(sorted(COMMANDS)), label="namespace")
    event = data.draw(events(namespace), label="event")
    payload = data.draw(payloads(event, [arena.waiting_id, arena.in_call_id]), label="payload")
    if (namespace, event) == ("/citizen", "queue_leave") and is_valid_empty(payload):
        payload = {"leave": True}  # a valid queue_leave would (rightly) change the queue
    try:
        await throw(arena, namespace, event, payload)
        assert await snapshot(arena) == before
    except BaseException:
        arena.failed = True
        raise


async def call_or_none(peer: Peer, event: str, data: Any = None) -> Any:
    try:
        return await peer.call(event, data, within=ACK_TIMEOUT)
    except socketio.exceptions.TimeoutError:
        return "no ack"


async def test_a_client_cannot_fake_connection_events(arena: Arena) -> None:
    """Events named like socket.io's own ("connect", "disconnect") must be refused like
    any unknown event, not run the connect/disconnect handlers for a socket that stays
    connected. All cases are collected first, so one run shows each outcome."""
    citizen, vera, carl = arena.peers["/citizen"], arena.peers["vera"], arena.peers["carl"]
    before = await snapshot(arena)
    # A clerk in a call: the citizen must not hear that the clerk left.
    carl_ack = await call_or_none(carl, "disconnect")
    await asyncio.sleep(0.3)
    told_peer_left = list(vera.events["peer_left"])
    carl_relays = await call_or_none(carl, "rtc_candidate", CANDIDATE)
    # A waiting citizen, both names.
    connect_ack = await call_or_none(citizen, "connect", {"v": 1})
    disconnect_ack = await call_or_none(citizen, "disconnect", {"v": 1})
    join_after = await call_or_none(citizen, "queue_join")

    def refused(ack: Any) -> bool:
        if not isinstance(ack, dict) or ack.get("ok") is not False:
            return False
        return ack["error"]["code"] in ("unknown_event", "invalid_payload")

    outcome = {
        "clerk 'disconnect' ack refused": refused(carl_ack),
        "citizen not told peer_left": told_peer_left == [],
        "clerk still relays": isinstance(carl_relays, dict) and carl_relays.get("ok") is True,
        "citizen 'connect' ack refused": refused(connect_ack),
        "citizen 'disconnect' ack refused": refused(disconnect_ack),
        "citizen still a member": isinstance(join_after, dict) and join_after.get("ok") is True,
        "nothing changed": await snapshot(arena) == before,
    }
    acks = (carl_ack, connect_ack, disconnect_ack, join_after, told_peer_left)
    assert outcome == dict.fromkeys(outcome, True), acks
