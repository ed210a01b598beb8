"""Requests from one app node to another over Redis pub/sub, answered within a timeout,
and news for every node.

Each node subscribes to one channel of its own, ``<prefix>:node:<node id>``, and
receives there both the requests meant for it and the replies to its own requests:

  request  {"kind": "request", "id", "from": node id, "name", "args", "deadline"}
  reply    {"kind": "reply", "id", "result"} or {"kind": "reply", "id", "failed": text}

and the channel all nodes share, ``<prefix>:nodes``, where news goes that every node
acts on for its own sockets (no reply), and requests that every node answers:

  news     {"kind": "news", "name", "args"}
  request  as above, each node replying on the asker's channel (:meth:`NodeBus.ask_all`)

A request waits on a future that the reply resolves; nothing polls. When nobody listens
on the target's channel (that node is gone) the request fails at once, and when no reply
comes within the timeout it fails then: both raise :class:`NodeUnreachable`. A node
does not start a request whose deadline has passed, since its asker has given up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from common import wakeups

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Any]]
RETRY_SECONDS = 1.0  # after the subscription's connection failed


class NodeUnreachable(Exception):
    """The node did not answer in time, or nobody listens on its channel."""


class NodeRequestFailed(Exception):
    """The node's handler raised; its log has the details."""


def new_node_id() -> str:
    return uuid.uuid4().hex[:16]


class Nodes(Protocol):
    """How news reaches every node: :class:`NodeBus` with Redis, else :class:`LocalNodes`."""

    def serve(self, name: str, handler: Handler) -> None: ...

    async def tell_all(self, name: str, args: Any) -> None: ...

    async def ask_all(self, name: str, args: Any, timeout: float) -> tuple[list[Any], bool]: ...  # noqa: ASYNC109


@dataclass
class _Gathering:
    """The replies to a request to every node, until as many came as nodes listened."""

    results: list[Any] = field(default_factory=list)
    expected: int | None = None  # known once the request is published
    failures: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, message: dict[str, Any]) -> None:
        if "failed" in message:
            self.failures += 1
        else:
            self.results.append(message.get("result"))
        self.check()

    def check(self) -> None:
        if self.expected is not None and len(self.results) + self.failures >= self.expected:
            self.done.set()

    @property
    def complete(self) -> bool:
        return (
            not self.failures and self.expected is not None and len(self.results) >= self.expected
        )


class LocalNodes:
    """One node alone (no Redis): news goes straight to this node's own handlers."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def serve(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    async def tell_all(self, name: str, args: Any) -> None:
        if (handler := self._handlers.get(name)) is not None:
            await handler(args)

    async def ask_all(self, name: str, args: Any, timeout: float) -> tuple[list[Any], bool]:  # noqa: ASYNC109
        handler = self._handlers.get(name)
        return ([await handler(args)], True) if handler is not None else ([], False)


class NodeBus:
    """This node's end of the bus: serves named requests, sends requests to other nodes,
    tells every node its news."""

    def __init__(self, redis: Redis, prefix: str, node_id: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.node_id = node_id
        self._handlers: dict[str, Handler] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._gatherings: dict[str, _Gathering] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    def channel(self, node_id: str) -> str:
        return f"{self.prefix}:node:{node_id}"

    @property
    def news_channel(self) -> str:
        return f"{self.prefix}:nodes"

    def serve(self, name: str, handler: Handler) -> None:
        """Answer requests (and news) called ``name`` with ``handler(args)``; a request's
        result must be JSON."""
        self._handlers[name] = handler

    async def tell_all(self, name: str, args: Any) -> None:
        """Run ``name`` with ``args`` on every node, this one included; no answer."""
        message = {"kind": "news", "name": name, "args": args}
        await self.redis.publish(self.news_channel, json.dumps(message))

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel(self.node_id), self.news_channel)
        self._pubsub = pubsub
        self._listener = asyncio.create_task(self._listen(pubsub), name=f"node-bus-{self.node_id}")

    async def stop(self) -> None:
        """Stop listening: requests to this node fail from now on, and so do the
        requests this node still waits for."""
        if self._listener is not None:
            await wakeups.stop([self._listener])
            self._listener = None
        await wakeups.stop(list(self._serving))
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):  # Redis gone: so is the subscription
                await self._pubsub.unsubscribe()
            await self._pubsub.aclose()
            self._pubsub = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NodeUnreachable("this node's bus stopped"))

    # -- asking ----------------------------------------------------------------------

    async def request(
        self,
        node_id: str,
        name: str,
        args: Any,
        timeout: float,  # noqa: ASYNC109 - the timeout travels with the request (deadline)
    ) -> Any:
        """Ask ``node_id`` to run ``name`` with ``args``; return its handler's result."""
        if self._listener is None:
            raise NodeUnreachable("this node's bus is not running")
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future  # before publishing: the reply may be quick
        message = self._request(request_id, name, args, timeout)
        try:
            async with asyncio.timeout(timeout):
                listeners = await self.redis.publish(self.channel(node_id), message)
                if listeners == 0:
                    raise NodeUnreachable(f"node {node_id} does not listen")
                return await future
        except TimeoutError:
            raise NodeUnreachable(f"node {node_id} did not answer within {timeout} s") from None
        finally:
            del self._pending[request_id]

    async def ask_all(
        self,
        name: str,
        args: Any,
        timeout: float,  # noqa: ASYNC109 - the timeout travels with the request (deadline)
    ) -> tuple[list[Any], bool]:
        """Ask every node, this one included, to run ``name`` with ``args``; their
        results, and whether every node that heard the request answered in time (Redis
        says how many heard it)."""
        if self._listener is None:
            return [], False
        request_id = uuid.uuid4().hex
        gathering = self._gatherings[request_id] = _Gathering()
        message = self._request(request_id, name, args, timeout)
        try:
            async with asyncio.timeout(timeout):
                gathering.expected = await self.redis.publish(self.news_channel, message)
                gathering.check()
                await gathering.done.wait()
        except TimeoutError:
            log.warning("node bus %s: not every node answered %s in time", self.node_id, name)
        finally:
            del self._gatherings[request_id]
        return list(gathering.results), gathering.complete

    def _request(self, request_id: str, name: str, args: Any, timeout: float) -> str:
        message = {
            "kind": "request",
            "id": request_id,
            "from": self.node_id,
            "name": name,
            "args": args,
            "deadline": time.time() + timeout,
        }
        return json.dumps(message)

    # -- listening -------------------------------------------------------------------

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._received(message["data"])
            except RedisError as exc:  # redis-py reconnects and resubscribes on the next read
                log.warning("node bus %s: Redis failed (%s); listening again", self.node_id, exc)
                await asyncio.sleep(RETRY_SECONDS)

    def _received(self, data: Any) -> None:
        try:
            message = json.loads(data)
            kind = message["kind"]
        except (ValueError, TypeError, KeyError):
            log.warning("node bus %s: dropped a malformed message", self.node_id)
            return
        if kind == "reply":
            if (gathering := self._gatherings.get(message.get("id"))) is not None:
                gathering.add(message)
                return
            future = self._pending.get(message.get("id"))
            if future is None or future.done():
                return  # its asker gave up already
            if "failed" in message:
                future.set_exception(NodeRequestFailed(str(message["failed"])))
            else:
                future.set_result(message.get("result"))
        elif kind in ("request", "news"):
            work = self._answer(message) if kind == "request" else self._act(message)
            task = asyncio.create_task(work)
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _act(self, message: dict[str, Any]) -> None:
        handler = self._handlers.get(str(message.get("name")))
        if handler is None:
            return
        try:
            await handler(message.get("args"))
        except Exception:
            log.exception("node bus %s: news %s failed", self.node_id, message.get("name"))

    async def _answer(self, message: dict[str, Any]) -> None:
        if time.time() > float(message.get("deadline", 0)):
            log.warning("node bus %s: %s came too late", self.node_id, message.get("name"))
            return
        reply: dict[str, Any] = {"kind": "reply", "id": message.get("id")}
        handler = self._handlers.get(str(message.get("name")))
        if handler is None:
            reply["failed"] = f"no handler for {message.get('name')!r}"
        else:
            try:
                reply["result"] = await handler(message.get("args"))
            except Exception as exc:
                log.exception("node bus %s: %s failed", self.node_id, message.get("name"))
                reply["failed"] = type(exc).__name__
        try:
            await self.redis.publish(self.channel(str(message.get("from"))), json.dumps(reply))
        except RedisError:
            log.warning("node bus %s: could not reply to %s", self.node_id, message.get("from"))
