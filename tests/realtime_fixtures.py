"""Shared fixtures and helpers for the Socket.IO tests (tests/test_realtime_*.py).

A test module registers the fixtures it needs by assigning them (``base_fixture =
realtime_fixtures.base_fixture``); each is known under its name without ``_fixture``.
``settings`` wraps the conftest fixture of the same name: with ``backend`` "redis" the
app runs on the real Redis under a key prefix of its own (deleted afterwards), on the
database number ``redis_db``; ``settings_update`` adds any other setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import socketio
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from redis.exceptions import RedisError

from office.appointments import Appointments
from office.catalogue import Town
from office.models import Appointment
from office.staff import Staff
from rooms.store import RoomStore
from signalling.app import create_app
from signalling.keys import ROOM_STORE
from signalling.settings import Settings
from tests.conftest import WEEKDAYS_7_TO_19, _unavailable
from tests.realtime import Peer, citizen_cookie, staff_cookie
from tests.support import Clock

SLOT = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)  # the clock's Monday, 12:30 in Ostfildern
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}
ANSWER = {**OFFER, "type": "answer"}
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
RELAYED = ("rtc_description", "rtc_candidate", "chat_received")


def at(hour: int, minute: int) -> datetime:
    """A moment of the test Monday, in UTC."""
    return datetime(2026, 6, 1, hour, minute, tzinfo=UTC)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(name="backend")
def backend_fixture() -> str:
    """Which room store the app runs on; parametrize with "redis" for the real Redis."""
    return "memory"


@pytest.fixture(name="redis_db")
def redis_db_fixture() -> int:
    return 0


@pytest.fixture(name="settings_update")
def settings_update_fixture() -> dict[str, Any]:
    return {}


def redis_url_for(db: int) -> str:
    return f"redis://127.0.0.1:6379/{db}"


async def redis_client(db: int) -> Redis:
    """A client of the real Redis; skips (or fails in CI) when it is not reachable."""
    url = redis_url_for(db)
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        _unavailable(f"Redis at {url}", exc)
    return client


async def delete_prefix(client: Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)


@asynccontextmanager
async def exclusive_redis_db(db: int) -> AsyncIterator[None]:
    """Hold Redis database ``db`` for this test alone (a lock key in database 0), so a
    test that flushes it cannot disturb another test session or xdist worker."""
    if db == 0:
        yield
        return
    client = await redis_client(0)
    key, token = f"bbt-lock:db{db}", uuid4().hex
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while not await client.set(key, token, nx=True, ex=120):
            if loop.time() >= deadline:
                pytest.fail(f"Redis database {db} stayed locked by another test")
            await asyncio.sleep(0.1)
        yield
    finally:
        if await client.get(key) == token.encode():
            await client.delete(key)
        await client.aclose()


@pytest.fixture(name="settings")
async def settings_fixture(
    settings: Settings, backend: str, redis_db: int, settings_update: dict[str, Any]
) -> AsyncIterator[Settings]:
    settings = settings.model_copy(update=settings_update)
    if backend == "memory":
        yield settings
        return
    assert backend == "redis", backend
    async with exclusive_redis_db(redis_db):
        client = await redis_client(redis_db)
        prefix = f"bbt{uuid4().hex[:10]}"
        try:
            yield settings.model_copy(
                update={"redis_url": redis_url_for(redis_db), "redis_prefix": prefix}
            )
        finally:
            await delete_prefix(client, prefix)
            await client.aclose()


_open: list[Peer] = []  # every Peer made by new_peer, closed when ``base`` ends


def new_peer(namespace: str) -> Peer:
    """A Peer that is disconnected at the end of the test, even when the test fails
    (a socket left open would hold up the test server's shutdown)."""
    peer = Peer(namespace)
    _open.append(peer)
    return peer


@pytest.fixture(name="base")
async def base_fixture(client: TestClient[Any, Any]) -> AsyncIterator[str]:
    """The app's URL. Its teardown (before the servers') closes the test's sockets."""
    yield str(client.make_url("/"))
    while _open:
        peer = _open.pop()
        if peer.client.connected:
            await peer.disconnect()


@pytest.fixture(name="node_b")
async def node_b_fixture(
    settings: Settings,
    town: Town,
    clock: Clock,
    aiohttp_server: Any,
    aiohttp_client: Any,
    client: TestClient[Any, Any],
) -> TestClient[Any, Any]:
    """A second app on the same database and (with backend "redis") the same Redis
    prefix: another node. Its URL is ``url_of(node_b)``."""
    app = create_app(settings, town=town, now=clock, run_jobs=False)
    server = await aiohttp_server(app)
    # As the first node's client: keep cookies for 127.0.0.1, Secure ones too.
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/").origin())])
    second: TestClient[Any, Any] = await aiohttp_client(server, cookie_jar=jar)
    return second


def url_of(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("/"))


@pytest.fixture(name="store")
def store_fixture(client: TestClient[Any, Any]) -> RoomStore:
    store: RoomStore = client.app[ROOM_STORE]
    return store


# -- helpers ----------------------------------------------------------------------------


async def add_clerk(staff: Staff, username: str, *skills: str) -> int:
    """Another clerk on duty Monday to Saturday 07:00-19:00, with the given skills."""
    created = await staff.create(
        username, username.title(), "correct horse battery", skills=skills, hours=WEEKDAYS_7_TO_19
    )
    return created.id


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


async def until(peer: Peer, event: str, check: Callable[[Any], bool], within: float = 5.0) -> Any:
    """Wait until the latest ``event`` the peer received passes ``check``; return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        received = peer.events[event]
        if received and check(received[-1]):
            return received[-1]
        if loop.time() >= deadline:
            latest = received[-1] if received else None
            raise AssertionError(f"no matching {event!r} within {within} s; latest: {latest}")
        await asyncio.sleep(0.02)


async def eventually(check: Callable[[], Any], within: float = 5.0) -> None:
    """Wait until the async ``check()`` returns true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


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
