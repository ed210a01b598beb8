"""Which node holds a citizen's capture peer, and running the clerk's commands there.

The capture peer lives in the process that answered the citizen's ``capture_offer``.
With Redis, that process records itself as the appointment's owner,
``<prefix>:cap:<appointment>`` = its node id: set when the session opens, refreshed
while it lives (it expires when a node dies without cleaning up), removed when it
closes. A clerk's capture command on another node goes to the owner over the
:class:`~signalling.node_bus.NodeBus`; the owner runs it as if the clerk were
connected there and its ack comes back unchanged. An owner that does not answer in
time gives ``capture_unavailable`` and nothing is done. With the in-memory store there
is one process: no records, no bus, every command runs where it arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from common import wakeups
from common.errors import UserError
from media.capture_peer import CaptureUnavailable
from signalling.node_bus import NodeBus, NodeUnreachable
from signalling.sockets.protocol import Payload, error, ok

log = logging.getLogger(__name__)

OWNER_TTL = 30  # seconds; an owner record outlives its node by at most this
REFRESH_SECONDS = 10.0
FORWARD_SECONDS = 10.0  # a capture_take on the owner: best frame, analysis, storage
BUS_REQUEST = "capture_command"

# Refresh: keep (or put back) the record unless another node took the appointment over.
_REFRESH = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
# Release: remove the record only while it still names this node.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class CaptureUnreachable(CaptureUnavailable):
    """The node that holds the capture peer did not answer in time."""

    message = "Die Aufnahme ist gerade nicht erreichbar. Bitte noch einmal versuchen."


class ForwardedError(UserError):
    """An error the owner node answered, passed on to the clerk as it was."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CaptureOwners:
    """This node's owner records in Redis, one per capture session it holds."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        node_id: str,
        *,
        ttl: int = OWNER_TTL,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.node_id = node_id
        self.ttl = ttl
        self.refresh_seconds = refresh_seconds
        self._refresh = self.redis.register_script(_REFRESH)
        self._release = self.redis.register_script(_RELEASE)
        self._held: set[str] = set()  # appointments whose capture session is on this node
        self._releasing: set[asyncio.Task[None]] = set()
        self._refresher: asyncio.Task[None] | None = None

    def key(self, appointment_id: str) -> str:
        return f"{self.prefix}:cap:{appointment_id}"

    async def owner(self, appointment_id: str) -> str | None:
        """The node id holding the appointment's capture peer, or None."""
        value = await self.redis.get(self.key(appointment_id))
        return value.decode() if isinstance(value, bytes) else value

    async def claim(self, key: str) -> None:
        """Record this node as the owner of appointment ``key``'s capture session."""
        self._held.add(key)
        try:
            await self.redis.set(self.key(key), self.node_id, ex=self.ttl)
        except Exception:  # the refresh puts it back; meanwhile commands run where they arrive
            log.exception("capture owner record of %s not written", key)

    def release(self, key: str) -> None:
        """The session of ``key`` ended here: remove its record."""
        if key not in self._held:
            return  # never claimed, or already released
        self._held.discard(key)
        task = asyncio.create_task(self._remove(key))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _remove(self, appointment_id: str) -> None:
        try:
            await self._release(keys=[self.key(appointment_id)], args=[self.node_id])
        except Exception:
            log.exception("capture owner record of %s not removed", appointment_id)

    def start(self) -> None:
        self._refresher = asyncio.create_task(self._keep_fresh(), name="capture-owners")

    async def stop(self) -> None:
        """After the desk closed every session: wait until their records are gone."""
        if self._refresher is not None:
            await wakeups.stop([self._refresher])
        await asyncio.gather(*self._releasing, return_exceptions=True)

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            for appointment_id in list(self._held):
                try:
                    await self._refresh(
                        keys=[self.key(appointment_id)], args=[self.node_id, self.ttl]
                    )
                except Exception:
                    log.exception("capture owner record of %s not refreshed", appointment_id)


P = TypeVar("P", bound=Payload)
Local = Callable[[int, str, Any], Awaitable[Any]]  # (clerk id, appointment id, payload)
Handler = Callable[[str, Any], Awaitable[Any]]  # (sid, payload), as a namespace calls it


class CaptureRouter:
    """Runs a clerk's capture command on the node that holds the capture peer."""

    def __init__(
        self,
        call_of: Callable[[str], Awaitable[tuple[int, str]]],
        owners: CaptureOwners | None,
        bus: NodeBus | None,
        timeout: float = FORWARD_SECONDS,
    ) -> None:
        self._call_of = call_of
        self._owners = owners
        self._bus = bus
        self._timeout = timeout
        self._local: dict[str, tuple[type[BaseModel], Local]] = {}
        if bus is not None:
            bus.serve(BUS_REQUEST, self._serve)

    def command(self, name: str, model: type[P], local: Callable[[int, str, P], Any]) -> Handler:
        """The namespace handler of clerk command ``name``: ``local(clerk id,
        appointment id, payload)`` here when the capture peer is here (or nowhere),
        else on its owner node."""
        self._local[name] = (model, local)

        async def handle(sid: str, payload: P) -> Any:
            clerk_id, appointment_id = await self._call_of(sid)
            owner = await self._owners.owner(appointment_id) if self._owners else None
            if self._owners is None or owner is None or owner == self._owners.node_id:
                return await local(clerk_id, appointment_id, payload)
            return await self._forward(owner, name, clerk_id, appointment_id, payload)

        return handle

    async def _forward(
        self, owner: str, name: str, clerk_id: int, appointment_id: str, payload: Payload
    ) -> Any:
        if self._bus is None:  # owner records exist only with a bus
            raise CaptureUnreachable()
        args = {
            "command": name,
            "clerk_id": clerk_id,
            "appointment_id": appointment_id,
            "payload": payload.model_dump(mode="json"),
        }
        try:
            answer = await self._bus.request(owner, BUS_REQUEST, args, self._timeout)
        except NodeUnreachable as exc:
            log.warning("%s for %s not forwarded: %s", name, appointment_id, exc)
            raise CaptureUnreachable() from exc
        if answer.get("ok"):
            return answer.get("data")
        raise ForwardedError(answer["error"]["code"], answer["error"]["message"])

    async def _serve(self, args: Any) -> dict[str, Any]:
        """On the owner node: run a forwarded command; answer its ack."""
        model, local = self._local[args["command"]]
        payload = model.model_validate(args["payload"])
        try:
            return ok(await local(int(args["clerk_id"]), str(args["appointment_id"]), payload))
        except UserError as exc:
            return error(exc.code, exc.message)
