"""The one way a test waits for something that happens in the background."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], within: float = ..., what: str = ...
) -> T: ...


@overload
async def eventually(check: Callable[[], T], within: float = ..., what: str = ...) -> T: ...


async def eventually(
    check: Callable[[], Any], within: float = 5.0, what: str = "the condition"
) -> Any:
    """Call ``check`` (plain or async) every 20 ms until it returns something true, and
    return that. After ``within`` seconds the test fails, naming ``what`` and the last
    value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"{what} not met within {within} s (last: {value!r})")
        await asyncio.sleep(0.02)
