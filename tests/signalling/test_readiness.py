"""/readyz while a part is down: PostgreSQL and Redis of the test's own are stopped
under a running node, which says which part fails, and recovers by itself when the
part is back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from office.catalogue import Town
from office.db import create_engine
from office.migrate import upgrade
from signalling.app import create_app
from signalling.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.private_servers import PrivatePostgres, PrivateRedis


@pytest.fixture
def database_url() -> str:
    return "unused"  # each test below brings its own PostgreSQL


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.init()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def started(settings: Settings, town: Town, clock: Clock) -> AsyncIterator[Any]:
    engine = create_engine(settings.database())
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings, town=town, now=clock, run_jobs=False)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def office_on_private_servers(
    settings: Settings,
    town: Town,
    clock: Clock,
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
) -> AsyncIterator[TestClient[Any, Any]]:
    own = settings.model_copy(
        update={"database_url": private_postgres.url, "redis_url": private_redis.url}
    )
    async for client in started(own, town, clock):
        yield client


async def readiness(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status, await response.json()


async def test_readyz_names_the_database_while_postgresql_is_down(
    office_on_private_servers: TestClient[Any, Any], private_postgres: PrivatePostgres
) -> None:
    client = office_on_private_servers
    assert await readiness(client) == (
        200,
        {"ok": True, "checks": {"database": "ok", "redis": "ok"}},
    )
    private_postgres.stop()
    status, body = await readiness(client)
    assert status == 503 and body["ok"] is False
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["database"].startswith(("unreachable", "no answer"))
    private_postgres.start()
    assert (await readiness(client))[0] == 200


async def test_readyz_names_redis_while_redis_is_down(
    office_on_private_servers: TestClient[Any, Any], private_redis: PrivateRedis
) -> None:
    client = office_on_private_servers
    private_redis.stop()
    status, body = await readiness(client)
    assert status == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith(("unreachable", "no answer"))
    private_redis.start()  # the same port: the client reconnects by itself
    assert (await readiness(client))[0] == 200
