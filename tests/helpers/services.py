"""The shared services the tests use: the real PostgreSQL and Redis on their default
ports, and what happens when one is missing (CI fails; elsewhere the test is skipped
with the reason)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

REQUIRE_SERVICES = bool(os.environ.get("CI") or os.environ.get("BB_REQUIRE_SERVICES"))
POSTGRES_ADMIN_URL = os.environ.get(
    "BB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def unavailable(what: str, why: Exception) -> None:
    message = f"{what} is not reachable ({type(why).__name__}: {why})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(f"{message}; start it to run these tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        unavailable(f"Redis at {url}", exc)
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
