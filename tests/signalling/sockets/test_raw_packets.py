"""Raw Engine.IO / Socket.IO frames, as a client that is not socket.io's would send them.

A plain websocket speaks the wire format itself (docs/protocol.md, "Packets"): every
packet either gets its documented answer (an ack with a documented code, a
connect_error) or the connection closes, and a packet that needs neither answer
(an event without an ack id, a client ack, a disconnect) leaves the connection
working. Nothing a packet does changes the waiting room or the calls.

The generated part runs with a fixed seed and a bounded count; set BB_FUZZ_EXAMPLES
(and BB_FUZZ_SEED) for a longer run.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from office.appointments import Appointments
from rooms.store import RoomStore
from tests.helpers.booking import book_at, citizen_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import FUZZ_SEED, SLOT, at, fuzz_examples

ANSWER_SECONDS = 2.0
ACK = re.compile(r"^3(/[^,]*,)?(\d+)(\[.*)$", re.DOTALL)  # a Socket.IO ack packet
# Codes the commands used here may answer (docs/protocol.md).
CODES = {
    "invalid_payload",
    "unknown_event",
    "forbidden",
    "rate_limited",
    "not_in_call",
    "checkin_not_open",
    "checkin_closed",
    "not_found",
    "conflict",
}


@pytest.fixture
def settings_update() -> dict[str, Any]:
    """A closed connection is opened again for the next frame: many connections from
    one address in a minute, which is what this test does on purpose."""
    return {"socket_connects_per_minute": 100_000}


@dataclass
class Raw:
    """One websocket to /socket.io/, speaking the frames itself."""

    ws: aiohttp.ClientWebSocketResponse
    session: aiohttp.ClientSession
    pushes: list[str] = field(default_factory=list)
    next_id: int = 1000

    async def receive(self, within: float = ANSWER_SECONDS) -> str | None:
        """The next Socket.IO packet, without its Engine.IO "4" (pings are answered
        here); None once closed."""
        while True:
            try:
                message = await self.ws.receive(timeout=within)
            except TimeoutError:
                raise AssertionError("no frame within the time") from None
            if message.type is not aiohttp.WSMsgType.TEXT:
                return None  # closed (or an error frame: the connection is gone)
            text: str = message.data
            if text == "2":
                await self.ws.send_str("3")
                continue
            if text == "1":
                return None  # Engine.IO's close
            if text.startswith("4"):
                return text[1:]
            raise AssertionError(f"unexpected Engine.IO frame {text!r}")

    async def ack(self, ack_id: int | str) -> Any:
        """Wait for the ack with this id; pushes that arrive meanwhile are kept."""
        while True:
            frame = await self.receive()
            assert frame is not None, f"closed while waiting for ack {ack_id}"
            match = ACK.match(frame)
            if match and match.group(1) in ("/citizen,", None) and match.group(2) == str(ack_id):
                return json.loads(match.group(3))
            self.pushes.append(frame)

    async def expect(self, pattern: re.Pattern[str]) -> str:
        """Wait for a packet that matches; pushes that arrive meanwhile are kept."""
        while True:
            frame = await self.receive()
            assert frame is not None, f"closed while waiting for {pattern.pattern}"
            if pattern.search(frame):
                return frame
            self.pushes.append(frame)

    async def closes(self) -> bool:
        """True when the server closes the connection (frames before the close are kept)."""
        while True:
            try:
                frame = await self.receive()
            except AssertionError:
                return False
            if frame is None:
                return True
            self.pushes.append(frame)

    async def alive(self) -> None:
        """A command still gets its ack: the connection works after what was sent."""
        self.next_id += 1
        await self.ws.send_str(f'42/citizen,{self.next_id}["queue_join"]')
        answer = await self.ack(self.next_id)
        assert isinstance(answer, list) and len(answer) == 1 and "ok" in answer[0], answer

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


async def open_raw(base: str, cookie: str) -> Raw:
    session = aiohttp.ClientSession(headers={"Cookie": cookie})
    ws = await session.ws_connect(f"{base}socket.io/?EIO=4&transport=websocket")
    raw = Raw(ws, session)
    opened = await ws.receive(timeout=5)
    assert opened.type is aiohttp.WSMsgType.TEXT and opened.data.startswith("0{"), opened
    await ws.send_str('40/citizen,{"v":1}')
    while True:  # state_synced may come before the connect's answer
        frame = await raw.receive()
        assert frame is not None, "closed while connecting"
        if frame.startswith('0/citizen,{"sid"'):
            return raw
        raw.pushes.append(frame)


@dataclass
class Arena:
    base: str
    cookie: str
    store: RoomStore
    raw: Raw

    async def fresh(self) -> Raw:
        await self.raw.close()
        self.raw = await open_raw(self.base, self.cookie)
        return self.raw


@pytest.fixture
async def arena(
    base: str, desk: Appointments, clerk: int, clock: Clock, store: RoomStore
) -> AsyncIterator[Arena]:
    appointment = await book_at(desk, SLOT)
    clock.set(at(10, 25))
    cookie = citizen_cookie(desk, appointment)
    raw = await open_raw(base, cookie)
    await raw.alive()  # checked in: waiting
    arena = Arena(base, cookie, store, raw)
    yield arena
    await arena.raw.close()


async def waiting_ids(store: RoomStore) -> list[str]:
    return [t.appointment_id for t in await store.waiting()]


def is_documented_ack(answer: Any) -> bool:
    if not (isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict)):
        return False
    ack = answer[0]
    if ack.get("ok") is True:
        return set(ack) == {"ok", "data"}
    error = ack.get("error")
    return (
        ack.get("ok") is False
        and isinstance(error, dict)
        and error.get("code") in CODES
        and isinstance(error.get("message"), str)
    )


# -- the cases that each have one documented outcome ------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        '42/citizen,7[{"a":1}]',  # an event named by an object
        '42/citizen,8[["queue_join"],{}]',  # ... by a list
        "42/citizen,9[]",  # no event at all
        '42/citizen,10{"a":1}',  # not an array
        "42/citizen,11",  # no data
        "42/citizen,12[null]",
        "42/citizen,13[7]",
        "42/citizen,14[true]",
        '42/citizen,15"queue_join"',
        "42/citizen,16[1.5,{}]",
    ],
)
async def test_a_malformed_event_with_an_ack_id_is_answered_invalid_payload(
    arena: Arena, frame: str
) -> None:
    before = await waiting_ids(arena.store)
    ack_id = re.match(r"42/citizen,(\d+)", frame).group(1)  # type: ignore[union-attr]
    await arena.raw.ws.send_str(frame)
    [answer] = await arena.raw.ack(ack_id)
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", answer
    await arena.raw.alive()
    assert await waiting_ids(arena.store) == before


@pytest.mark.parametrize(
    "frame",
    [
        "x",  # not Engine.IO
        "",
        "7",  # no such Engine.IO packet
        "0",  # only the server opens
        "2",  # only the server pings
        "4x",  # not Socket.IO
        "49/citizen,",
        '42/citizen,1["queue_join"',  # JSON cut short
        "42/citizen,1" + "9" * 120 + '["queue_join"]',  # an ack id too long to read
        '44/citizen,{"message":"x"}',  # connect_error comes only from the server
        '451-/citizen,2["chat_send",{"_placeholder":true,"num":0}]',  # binary: not ours
        "461-/citizen,2[{}]",
        '42/clerk,3["queue_next"]',  # a namespace this socket did not join
        '42/nowhere,4["x"]',
        b"\x00\x01binary",  # a binary frame
    ],
)
async def test_a_frame_that_is_not_the_protocol_closes_the_connection(
    arena: Arena, frame: str | bytes
) -> None:
    before = await waiting_ids(arena.store)
    if isinstance(frame, bytes):
        await arena.raw.ws.send_bytes(frame)
    else:
        await arena.raw.ws.send_str(frame)
    assert await arena.raw.closes(), frame
    # The place in the queue is the appointment's: a new connection still has it.
    raw = await arena.fresh()
    await raw.alive()
    assert await waiting_ids(arena.store) == before


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ("40/nowhere,", re.compile(r"^4/nowhere,")),  # no such namespace
        ('40/clerk,{"v":1}', re.compile(r'^4/clerk,.*"not_authorised"')),  # no staff cookie
        ('40/dashboard,{"v":1}', re.compile(r'^4/dashboard,.*"not_authorised"')),
    ],
)
async def test_a_refused_namespace_gets_connect_error(
    arena: Arena, frame: str, answer: re.Pattern[str]
) -> None:
    await arena.raw.ws.send_str(frame)
    await arena.raw.expect(answer)
    await arena.raw.alive()


@pytest.mark.parametrize(
    "frame",
    [
        '42/citizen,["queue_join"]',  # a command without an ack id: run, not answered
        "43/citizen,5[]",  # an ack for something the server never asked
        "43/citizen,99999999999[1]",
        "41/clerk,",  # leaving a namespace never joined
        "6",  # Engine.IO noop
        "3",  # a pong nobody asked for
    ],
)
async def test_a_frame_without_an_answer_leaves_the_connection_working(
    arena: Arena, frame: str
) -> None:
    before = await waiting_ids(arena.store)
    await arena.raw.ws.send_str(frame)
    await arena.raw.alive()
    assert await waiting_ids(arena.store) == before


async def test_a_huge_ack_id_is_answered_with_the_same_id(arena: Arena) -> None:
    ack_id = "9" * 99  # the longest a packet may carry
    await arena.raw.ws.send_str(f'42/citizen,{ack_id}["no_such_event"]')
    [answer] = await arena.raw.ack(ack_id)
    assert answer["error"]["code"] == "unknown_event"


# -- generated frames --------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
# Commands whose every answer leaves the queue as it is (queue_leave would, rightly, not).
harmless_names = st.sampled_from(
    ["queue_join", "chat_send", "rtc_candidate", "call_hangup", "queue_next", "connect", ""]
)
event_names = harmless_names | json_values
namespaces = st.sampled_from(["/citizen", "/citizen", "/citizen", "/clerk", "/", "/x"])
ack_ids = st.none() | st.integers(0, 10**6) | st.integers(10**20, 10**98)


@dataclass(frozen=True)
class Frame:
    text: str
    expect: str  # "ack", "close", "nothing"
    ack_id: int | None = None


def event_frame(namespace: str, ack_id: int | None, name: Any, args: list[Any]) -> Frame:
    prefix = "" if namespace == "/" else f"{namespace},"
    data = json.dumps([name, *args])
    text = f"42{prefix}{'' if ack_id is None else ack_id}{data}"
    if namespace != "/citizen":
        return Frame(text, "close")  # a namespace this socket did not join
    return Frame(text, "nothing" if ack_id is None else "ack", ack_id)


def shapeless_frame(namespace: str, ack_id: int | None, data: Any) -> Frame:
    """An event packet whose data is not [name, ...args]."""
    prefix = "" if namespace == "/" else f"{namespace},"
    text = f"42{prefix}{'' if ack_id is None else ack_id}{json.dumps(data)}"
    if namespace != "/citizen":
        return Frame(text, "close")
    return Frame(text, "nothing" if ack_id is None else "ack", ack_id)


frames = st.one_of(
    st.builds(
        event_frame,
        namespaces,
        ack_ids,
        event_names,
        st.lists(json_values, max_size=2),
    ),
    st.builds(
        shapeless_frame,
        namespaces,
        ack_ids,
        json_values.filter(
            lambda d: (
                not (isinstance(d, list) and d and isinstance(d[0], str))
                # A number would run into the ack id: digits after the namespace are the id.
                and not json.dumps(d)[:1].isdigit()
            )
        ),
    ),
    st.builds(
        lambda t: Frame(t, "close"),
        st.text(max_size=30).filter(lambda t: not t or t[0] not in "123456"),
    ),
    st.builds(
        lambda t: Frame("4" + t, "close"),
        st.text(max_size=30).filter(lambda t: not t or t[0] not in "0123"),
    ),
)

FUZZ = hypothesis_settings(
    max_examples=fuzz_examples(300),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate],  # the first failure is the informative one
)


@FUZZ
@seed(FUZZ_SEED)
@given(frame=frames)
async def test_generated_frames_get_their_documented_outcome(arena: Arena, frame: Frame) -> None:
    before = await waiting_ids(arena.store)
    raw = arena.raw
    await raw.ws.send_str(frame.text)
    if frame.expect == "close":
        assert await raw.closes(), frame
        raw = await arena.fresh()
    elif frame.expect == "ack":
        assert frame.ack_id is not None
        answer = await raw.ack(frame.ack_id)
        assert is_documented_ack(answer), (frame, answer)
    await raw.alive()
    assert await waiting_ids(arena.store) == before
