"""Fixtures of the signalling tests: the app on memory or on the real Redis
(``backend``), its base URL, a second node, the room store.

``settings`` wraps the root fixture of the same name: with ``backend`` "redis" the app
runs on the real Redis under a key prefix of its own (deleted afterwards), on the
database number ``redis_db``; ``settings_update`` adds any other setting. A module
parametrizes ``backend`` (``pytest.mark.parametrize("backend", ["memory", "redis"])``)
or overrides ``settings_update`` (e.g. for the reconnect grace).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from office.catalogue import Town
from rooms.store import RoomStore
from signalling.app import create_app
from signalling.keys import ROOM_STORE
from signalling.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.peers import close_open_peers
from tests.helpers.services import delete_prefix, exclusive_redis_db, redis_client, redis_url_for


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


@pytest.fixture(name="base")
async def base_fixture(client: TestClient[Any, Any]) -> AsyncIterator[str]:
    """The app's URL. Its teardown (before the servers') closes the test's sockets."""
    yield str(client.make_url("/"))
    await close_open_peers()


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


@pytest.fixture(name="store")
def store_fixture(client: TestClient[Any, Any]) -> RoomStore:
    store: RoomStore = client.app[ROOM_STORE]
    return store


@pytest.fixture(name="redis")
async def redis_fixture(settings: Settings) -> AsyncIterator[Redis]:
    """A client of the tests' Redis, for tests that watch or drive it directly."""
    client = await redis_client(0)
    yield client
    await client.aclose()
