"""The node bus's question to every node (``NodeBus.ask_all``) on the real Redis:
every node answers, and a node that listens but does not answer makes the answers
incomplete instead of holding the asker for ever."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from signalling.node_bus import NodeBus
from signalling.settings import Settings

pytestmark = pytest.mark.parametrize("backend", ["redis"])


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"  # the bus does not touch the database


def answering(bus: NodeBus) -> NodeBus:
    async def where(args: Any) -> dict[str, Any]:
        return {"node": bus.node_id, "asked": args["n"]}

    bus.serve("where", where)
    return bus


async def test_every_node_answers_and_a_silent_one_makes_the_answers_incomplete(
    settings: Settings, redis: Redis
) -> None:
    prefix = settings.redis_prefix
    buses = [answering(NodeBus(redis, prefix, name)) for name in ("a", "b", "c")]
    for bus in buses:
        await bus.start()
    try:
        answers, complete = await buses[0].ask_all("where", {"n": 1}, timeout=2.0)
        assert complete
        assert sorted(a["node"] for a in answers) == ["a", "b", "c"]
        assert {a["asked"] for a in answers} == {1}

        silent = redis.pubsub()  # listens on the shared channel, never answers
        await silent.subscribe(buses[0].news_channel)
        try:
            loop = asyncio.get_running_loop()
            began = loop.time()
            answers, complete = await buses[1].ask_all("where", {"n": 2}, timeout=0.5)
            assert not complete
            assert sorted(a["node"] for a in answers) == ["a", "b", "c"]
            assert 0.5 <= loop.time() - began < 2.0
        finally:
            await silent.aclose()

        began = asyncio.get_running_loop().time()
        answers, complete = await buses[2].ask_all("nobody serves this", {}, timeout=2.0)
        assert (answers, complete) == ([], False)  # every node said it failed, at once
        assert asyncio.get_running_loop().time() - began < 1.0
    finally:
        for bus in buses:
            await bus.stop()
