"""The chat of each call in progress, so that a page that reloads or reconnects shows
it again. Kept only while the call lasts: ``Calls`` forgets it when the call ends, and
in Redis it expires on its own after ``KEPT_SECONDS`` should no node be left to do so.
``MemoryChatLog`` for one node, ``RedisChatLog`` for several."""

from __future__ import annotations

import json
from collections import deque
from typing import Any, Protocol

from redis.asyncio import Redis

MAX_MESSAGES = 500  # per call; older ones drop out
KEPT_SECONDS = 12 * 3600  # no call lasts that long


class ChatLog(Protocol):
    async def add(self, call_id: str, message: dict[str, Any]) -> None: ...

    async def of(self, call_id: str) -> list[dict[str, Any]]:
        """The call's messages, oldest first."""
        ...

    async def forget(self, call_id: str) -> None: ...


class MemoryChatLog:
    def __init__(self) -> None:
        self._calls: dict[str, deque[dict[str, Any]]] = {}

    async def add(self, call_id: str, message: dict[str, Any]) -> None:
        self._calls.setdefault(call_id, deque(maxlen=MAX_MESSAGES)).append(message)

    async def of(self, call_id: str) -> list[dict[str, Any]]:
        return list(self._calls.get(call_id, ()))

    async def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)


class RedisChatLog:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, call_id: str) -> str:
        return f"{self.prefix}:chat:{call_id}"

    async def add(self, call_id: str, message: dict[str, Any]) -> None:
        key = self._key(call_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(message))
            pipe.ltrim(key, -MAX_MESSAGES, -1)
            pipe.expire(key, KEPT_SECONDS)
            await pipe.execute()

    async def of(self, call_id: str) -> list[dict[str, Any]]:
        return [json.loads(m) for m in await self.redis.lrange(self._key(call_id), 0, -1)]

    async def forget(self, call_id: str) -> None:
        await self.redis.delete(self._key(call_id))
