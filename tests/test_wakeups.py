"""A background loop that waits for a wake-up stops when cancelled, even when the
wake-up comes in the same turn of the event loop (``asyncio.wait_for`` on Python
3.11 lost that cancellation, and the server's shutdown waited for ever)."""

from __future__ import annotations

import asyncio

from common.wakeups import stop, woken


async def _watch(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        rounds.append(1)
        event.clear()
        await woken(event, 10)


async def test_a_stop_that_comes_with_a_wake_up_still_stops_the_loop() -> None:
    event, rounds = asyncio.Event(), list[int]()
    task = asyncio.create_task(_watch(event, rounds))
    await asyncio.sleep(0.01)  # waiting now
    event.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert task in done and task.cancelled()
    assert rounds == [1]


async def test_the_wait_ends_at_the_wake_up_or_the_time_limit() -> None:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await woken(event, 0.05)
    assert 0.04 <= loop.time() - started < 1
    loop.call_later(0.01, event.set)
    started = loop.time()
    await woken(event, 5)
    assert loop.time() - started < 1 and event.is_set()


async def test_stopping_a_loop_that_lost_its_first_cancellation() -> None:
    swallowed: list[int] = []

    async def careless() -> None:  # as a library that eats one cancellation
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(1)

    task = asyncio.create_task(careless())
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await stop([task], seconds=3)
    assert task.cancelled() and swallowed == [1]
    assert loop.time() - started < 1
