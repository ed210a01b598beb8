"""The chat log of calls in progress, in memory and in the real Redis: what a page
that comes back is shown, how much is kept, and that it goes with the call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from rooms.chat_log import KEPT_SECONDS, MAX_MESSAGES, ChatLog, MemoryChatLog, RedisChatLog
from tests.helpers.services import delete_prefix, redis_client


@pytest.fixture(params=["memory", "redis"])
async def log(request: pytest.FixtureRequest) -> AsyncIterator[ChatLog]:
    if request.param == "memory":
        yield MemoryChatLog()
        return
    client = await redis_client(0)
    redis_log = RedisChatLog(client, f"bbtest:{uuid4().hex}")
    try:
        yield redis_log
    finally:
        await delete_prefix(client, redis_log.prefix)
        await client.aclose()


def said(n: int, who: str = "citizen") -> dict[str, str]:
    return {"from": who, "text": f"Nachricht {n}", "at": f"2026-06-01T10:{n % 60:02d}:00+00:00"}


async def test_a_call_s_messages_come_back_in_order_and_go_with_the_call(log: ChatLog) -> None:
    assert await log.of("x") == []
    await log.add("x", said(1))
    await log.add("x", said(2, "clerk"))
    await log.add("y", said(3))
    assert await log.of("x") == [said(1), said(2, "clerk")]
    assert await log.of("y") == [said(3)]
    await log.forget("x")
    assert await log.of("x") == []
    assert await log.of("y") == [said(3)]


async def test_only_the_latest_messages_are_kept(log: ChatLog) -> None:
    for n in range(MAX_MESSAGES + 3):
        await log.add("x", said(n))
    kept = await log.of("x")
    assert len(kept) == MAX_MESSAGES
    assert kept[0] == said(3) and kept[-1] == said(MAX_MESSAGES + 2)


async def test_in_redis_a_forgotten_call_s_chat_expires_by_itself() -> None:
    client = await redis_client(0)
    log = RedisChatLog(client, f"bbtest:{uuid4().hex}")
    try:
        await log.add("x", said(1))
        ttl = await client.ttl(f"{log.prefix}:chat:x")
        assert 0 < ttl <= KEPT_SECONDS
    finally:
        await delete_prefix(client, log.prefix)
        await client.aclose()
