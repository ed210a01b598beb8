"""common.once: a costly shared value is built once, however many threads ask first."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from common.once import Once


def test_built_once_when_many_threads_ask_at_the_same_time() -> None:
    builds: list[int] = []
    start = threading.Barrier(8)

    def build() -> object:
        builds.append(1)
        time.sleep(0.05)  # long enough for every other thread to arrive meanwhile
        return object()

    once = Once(build)

    def ask() -> object:
        start.wait()
        return once()

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: ask(), range(8)))
    assert len(builds) == 1
    assert all(value is values[0] for value in values)
    assert once() is values[0]


def test_nothing_is_built_before_the_first_use() -> None:
    builds: list[int] = []

    def build() -> str:
        builds.append(1)
        return "built"

    once = Once(build)
    assert builds == []
    assert once() == "built"
    assert builds == [1]
