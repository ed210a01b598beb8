"""The shared services the tests use: the real PostgreSQL and Redis on their default
ports, and what happens when one is missing (CI fails; elsewhere the test is skipped
with the reason)."""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
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


_GIVEN: set[int] = set()
# not the module's shared generator: tests seed that (hypothesis), and two test
# processes seeded alike would pick the same ports
_PICK = random.SystemRandom()


def _ephemeral_ports() -> tuple[int, int]:
    """The range the kernel hands out for bind(("", 0)) and outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A port that is free now, for a server a test starts later (Redis, PostgreSQL,
    a node). Chosen below the kernel's ephemeral range: a port there, released again,
    can be handed out again to the next bind(0) or free_port() before its server
    starts (a drill's SMTP server once took its Redis's port that way); below it, and
    never twice in one process, only another test process's choice could take it."""
    low, _high = _ephemeral_ports()
    for _ in range(100):
        port = _PICK.randint(10_000, max(10_001, low - 1))
        if port in _GIVEN:  # chosen before in this process, perhaps not bound yet
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise AssertionError("no free port below the ephemeral range")


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
