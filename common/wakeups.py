"""Waiting for a wake-up with a time limit, in loops that are stopped by cancelling,
and stopping such loops for sure.

``asyncio.wait_for(event.wait(), timeout)`` loses a cancellation on Python 3.11 when
the event is set in the same turn of the loop: it sees the inner wait done and
returns its result instead of raising. A background loop built on it (the lobby's
watch, the jobs) then runs on, and the ``gather`` that stops it waits for ever: the
shutdown hung now and then. ``asyncio.timeout`` tells its own cancellation from
one sent by someone else, so the stop always arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import Any

log = logging.getLogger(__name__)


async def woken(event: asyncio.Event, seconds: float) -> None:
    """Return when ``event`` is set, or after ``seconds``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def stop(tasks: Collection[asyncio.Task[Any]], seconds: float = 5.0) -> None:
    """Cancel the tasks and wait until they have ended. A cancellation can be lost
    (above; redis-py 8's asyncio client also swallows one now and then, seen in the
    lobby's watch), so each task still running is cancelled again every 100 ms, for
    ``seconds`` at most: a shutdown never waits for ever on a loop that ran on."""
    loop = asyncio.get_running_loop()
    pending = {task for task in tasks if not task.done()}
    deadline = loop.time() + seconds
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    for task in pending:
        log.warning("task %s did not stop within %.0f s", task.get_name(), seconds)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, as gather(return_exceptions=True) would
