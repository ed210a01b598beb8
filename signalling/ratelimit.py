"""Sliding-window rate limits per client and action: in process memory for one node,
in Redis when there are several, so the limit holds for the office as a whole.

A window is a log of the hits of the last ``seconds``; a hit is allowed while fewer
than ``count`` lie in it. With Redis the log is a sorted set per key, checked and
written in one Lua script (atomic), timed by Redis's own clock (the nodes' clocks
may differ) and expiring with its window; the key holds a hash of the client's
address, never the address.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float


class RateLimiter(Protocol):
    async def allow(self, key: str, limit: Limit) -> bool:
        """Count a hit; False when the key already used up its limit in the window."""
        ...


class MemoryRateLimiter:
    """One process's limits (the embedded default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    async def allow(self, key: str, limit: Limit) -> bool:
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._prune(now, limit.seconds)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - limit.seconds:
            hits.popleft()
        if len(hits) >= limit.count:
            return False
        hits.append(now)
        return True

    def _prune(self, now: float, seconds: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - seconds]:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # still full: forget the oldest half
            for key in list(self._hits)[: self._max_keys // 2]:
                del self._hits[key]


# KEYS[1]: the window's sorted set. ARGV: window in ms, count, a unique member.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisRateLimiter:
    """The office's limits, shared by every node through Redis."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    async def allow(self, key: str, limit: Limit) -> bool:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            allowed = await self._hit(
                keys=[f"{self._prefix}:rl:{digest}"],
                args=[int(limit.seconds * 1000), limit.count, secrets.token_hex(8)],
            )
        except RedisError as exc:
            # A limit is a guard, not a gate: with Redis gone the office stays usable
            # (logins still lock accounts in the database).
            log.warning("rate limit not checked, Redis failed: %s", type(exc).__name__)
            return True
        return bool(allowed)
