"""The messages between a node's signalling process and its media workers.

Each worker has one stream socket of a ``socketpair`` that its parent made: nothing
else can connect to it, so the messages are pickled (frames and analyses are numpy
arrays and dataclasses; JSON would copy and convert them for nothing). A message is a
4-byte length and the pickle. The parent sends :class:`Call` and gets one
:class:`Reply` per call, in any order; the worker also sends :class:`Event` on its own
(a session closed, a capture's MRZ was read).
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

from common.errors import UserError

HEADER = struct.Struct("!I")
MAX_MESSAGE = 256 * 1024 * 1024  # a 12 MP photo as BGR is 36 MB; far more is a bug


@dataclass(frozen=True, slots=True)
class Call:
    call_id: int
    op: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """A refusal a person gets to read, carried across as its class, code and message."""

    error: type[UserError]
    code: str
    message: str

    @classmethod
    def of(cls, exc: UserError) -> Failure:
        return cls(type(exc), exc.code, exc.message)

    def exception(self) -> UserError:
        exc = self.error(self.message)
        exc.code = self.code
        return exc


@dataclass(frozen=True, slots=True)
class Reply:
    call_id: int
    value: Any = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


Message = Call | Reply | Event


async def send(writer: asyncio.StreamWriter, message: Message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.writelines((HEADER.pack(len(data)), data))
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> Message:
    """The next message; ``asyncio.IncompleteReadError`` once the other side is gone."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes from a media worker")
    message = pickle.loads(await reader.readexactly(size))  # noqa: S301 - see the module doc
    if not isinstance(message, Call | Reply | Event):
        raise TypeError(f"not a worker message: {type(message).__name__}")
    return message
