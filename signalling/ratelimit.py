"""A sliding-window rate limit per client and action, in process memory.

Enough for one node; with several nodes each counts on its own, so the effective
limit is the per-node limit times the number of nodes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: Limit) -> bool:
        """Count a hit; False when the key already used up its limit in the window."""
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
