"""Socket.IO clients for tests: real ``socketio.AsyncClient``s against the real app."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.models import Appointment
from office.staff import Staff
from rooms.store import RoomStore
from tests.helpers.booking import citizen_cookie, staff_cookie
from tests.helpers.polling import eventually


class Peer:
    """A socket.io client on one namespace that records every event it receives."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._arrived = asyncio.Event()

        @self.client.on("*", namespace=namespace)  # type: ignore[untyped-decorator]
        async def record(event: str, data: Any = None) -> None:
            self.events[event].append(data)
            self._arrived.set()

    async def connect(self, base_url: str, cookie: str, version: int = 1) -> None:
        await self.client.connect(
            base_url,
            headers={"Cookie": cookie},
            auth={"v": version},
            namespaces=[self.namespace],
            transports=["websocket"],
            wait_timeout=5,
        )

    async def call(self, event: str, data: Any = None, within: float = 5) -> Any:
        return await self.client.call(event, data, namespace=self.namespace, timeout=within)

    async def next(self, event: str, within: float = 5.0, count: int = 1) -> Any:
        """Wait until ``count`` events of this name have arrived; return the last."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.events[event]) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} within {within} s; got {dict(self.events)}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.events[event][count - 1]

    async def disconnect(self) -> None:
        await self.client.disconnect()

    async def until(self, event: str, check: Callable[[Any], bool], within: float = 5.0) -> Any:
        """Wait until the latest ``event`` received passes ``check``; return it."""

        def latest() -> Any:
            received = self.events[event]
            return received[-1] if received and check(received[-1]) else None

        try:
            return await eventually(latest, within, f"a matching {event!r}")
        except AssertionError as missed:
            raise AssertionError(f"{missed}; latest: {self.events[event][-1:]}") from None


async def connected_pair(
    base: str, desk: Appointments, staff: Staff, clerk_id: int, appointment: Appointment
) -> tuple[Peer, Peer]:
    """The appointment's citizen and the clerk, both connected, not yet in a call."""
    citizen, clerk = Peer("/citizen"), Peer("/clerk")
    await citizen.connect(base, citizen_cookie(desk, appointment))
    await clerk.connect(base, await staff_cookie(staff, clerk_id))
    return citizen, clerk


async def start_call(citizen: Peer, clerk: Peer) -> None:
    """The citizen joins the queue and the clerk calls them: a call between the two."""
    assert (await citizen.call("queue_join"))["ok"] is True
    assert (await clerk.call("queue_next"))["ok"] is True


_open: list[Peer] = []  # every Peer made by new_peer, closed when ``base`` ends


def new_peer(namespace: str) -> Peer:
    """A Peer that is disconnected at the end of the test, even when the test fails
    (a socket left open would hold up the test server's shutdown)."""
    peer = Peer(namespace)
    _open.append(peer)
    return peer


async def close_open_peers() -> None:
    """Disconnect every Peer ``new_peer`` made (the ``base`` fixture's teardown)."""
    while _open:
        peer = _open.pop()
        if peer.client.connected:
            await peer.disconnect()


def url_of(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("/"))


async def citizen_peer(base: str, desk: Appointments, appointment: Appointment) -> Peer:
    peer = new_peer("/citizen")
    await peer.connect(base, citizen_cookie(desk, appointment))
    await peer.next("state_synced")
    return peer


async def clerk_peer(base: str, staff: Staff, clerk_id: int) -> Peer:
    peer = new_peer("/clerk")
    await peer.connect(base, await staff_cookie(staff, clerk_id))
    await peer.next("state_synced")
    return peer


async def joined(peer: Peer) -> dict[str, Any]:
    """``queue_join`` that must succeed; returns the ack's data."""
    ack = await peer.call("queue_join")
    assert ack["ok"] is True, ack
    data: dict[str, Any] = ack["data"]
    return data


def waiting_ids(queue: dict[str, Any]) -> list[str]:
    """The appointment ids of a clerk's ``queue_updated``, in order."""
    return [str(entry["appointment_id"]) for entry in queue["waiting"]]


async def store_ids(store: RoomStore) -> list[str]:
    return [t.appointment_id for t in await store.waiting()]


async def refused(
    base: str,
    namespace: str,
    cookie: str,
    auth: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Connect and expect a refusal; returns the ``connect_error`` payload."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []

    @client.on("connect_error", namespace=namespace)  # type: ignore[untyped-decorator]
    async def record(data: Any = None) -> None:
        errors.append(data)

    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                base,
                headers={**({"Cookie": cookie} if cookie else {}), **(headers or {})},
                auth={"v": 1} if auth is None else auth,
                namespaces=[namespace],
                transports=["websocket"],
                wait_timeout=5,
            )
    finally:
        await client.disconnect()
    return errors[0] if errors else None


def refusal_code(payload: Any) -> Any:
    """The ``code`` a refused connection's ``connect_error`` carries (docs/protocol.md),
    at the top level or in the error's ``data`` (what a JS client reads as ``err.data``)."""
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    return payload.get("code", data.get("code") if isinstance(data, dict) else None)


async def disconnect_all(*peers: Peer) -> None:
    for peer in peers:
        if peer.client.connected:
            await peer.disconnect()
