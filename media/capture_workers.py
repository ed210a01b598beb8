"""The media worker processes of one node, seen from its signalling process.

Decoding a citizen's 720p camera and looking at its frames is CPU work that, in the
signalling process, would hold the GIL against every socket of the node. So the
capture peers live in worker processes (:mod:`media.capture_worker`), one per core by
default, each started when the node first needs it. A session stays on the worker
that answered its offer; a new session goes to the worker holding the fewest (a new
worker while fewer than ``count`` run and every running one is busy).

The signalling process only asks and is told: ``open``/``close`` a session, ``look``
at its newest frame, ``keep_frame`` or ``keep_image`` (a photo upload), and gets the
workers' :class:`~media.worker_channel.Event` (``closed``, ``analysed``) through
``on_event``. A worker that dies takes its sessions with it: they are reported closed
(``peer_failed``), its pending calls fail with ``capture_failed``, and the next
session starts a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aiortc import RTCIceServer

from media.capture_peer import (
    CaptureFailed,
    CaptureLimitReached,
    CaptureUnavailable,
    CloseReason,
)
from media.capture_station import KeepOrder, Kept, Look, Source
from media.copies import Image
from media.worker_channel import Call, Event, Reply, receive, send

log = logging.getLogger(__name__)

START_SECONDS = 60.0  # importing aiortc, OpenCV and onnxruntime on a busy machine
STOP_SECONDS = 10.0  # a worker closes its peer connections, then exits


@dataclass(frozen=True)
class WorkerSettings:
    max_sessions: int
    capture_key: bytes = field(repr=False)
    idle_timeout: float = 30.0
    negotiation_timeout: float = 10.0
    allow_loopback: bool = False  # tests in a loopback-only namespace; never in production
    log_level: str = "info"
    log_format: str = "text"


class _Worker:
    """One worker process and its channel."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer
        self.keys: set[str] = set()
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.listener: asyncio.Task[None] | None = None
        self.gone = False


class CaptureWorkers:
    def __init__(
        self,
        settings: WorkerSettings,
        count: int,
        on_event: Callable[[Event], Awaitable[None]],
    ) -> None:
        if count < 1:
            raise ValueError("a node needs at least one media worker")
        self.settings = settings
        self.count = count
        self._on_event = on_event
        self._workers: list[_Worker] = []
        self._starting: asyncio.Task[_Worker] | None = None
        self._where: dict[str, _Worker] = {}  # session key -> the worker holding it
        self._call_ids = itertools.count(1)
        self._handling: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- sessions --------------------------------------------------------------------

    @property
    def active(self) -> int:
        """Sessions held now, including ones still negotiating."""
        return len(self._where)

    def holds(self, key: str) -> bool:
        return key in self._where

    async def open(self, key: str, sdp: str, ice_servers: Sequence[RTCIceServer]) -> str:
        """Answer the offer of ``key``'s camera on a worker; the answer SDP. A session
        ``key`` already has is replaced on its worker."""
        if self._closing:
            raise CaptureUnavailable()
        worker = self._where.get(key)
        if worker is None:
            if len(self._where) >= self.settings.max_sessions:
                raise CaptureLimitReached()
            worker = await self._choose()
            self._where[key] = worker  # claimed before the next await: the cap holds
            worker.keys.add(key)
        try:
            answer: str = await self._call(
                worker, "open", key=key, sdp=sdp, ice_servers=ice_servers
            )
        except BaseException:
            self._forget(key, worker)
            raise
        return answer

    async def close(self, key: str, reason: CloseReason) -> bool:
        worker = self._where.get(key)
        if worker is None:
            return False
        closed: bool = await self._call(worker, "close", key=key, reason=reason)
        return closed

    async def look(self, key: str, kind: str | None) -> Look | None:
        worker = self._where.get(key)
        if worker is None:
            return None
        look: Look | None = await self._call(worker, "look", key=key, kind=kind)
        return look

    async def keep_frame(self, key: str, source: Source, order: KeepOrder) -> Kept:
        worker = self._where.get(key)
        if worker is None:
            raise CaptureFailed()
        kept: Kept = await self._call(worker, "keep_frame", key=key, source=source, order=order)
        return kept

    async def keep_image(self, image: Image, order: KeepOrder) -> Kept:
        """Keep a photo that came over HTTP, on the least busy worker."""
        if self._closing:
            raise CaptureUnavailable()
        worker = await self._choose()
        kept: Kept = await self._call(worker, "keep_image", image=image, order=order)
        return kept

    def pids(self) -> list[int]:
        """The process ids of the workers running now."""
        return [worker.process.pid for worker in self._workers]

    async def frames(self) -> dict[str, int]:
        """Frames each session received so far (for the load benchmark)."""
        counts: dict[str, int] = {}
        for worker in list(self._workers):
            counts.update(await self._call(worker, "frames"))
        return counts

    # -- workers -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker now rather than when the first camera connects."""
        while len(self._workers) < self.count and not self._closing:
            await self._spawn()

    async def _choose(self) -> _Worker:
        idle = [worker for worker in self._workers if not worker.keys]
        if idle:
            return idle[0]
        if len(self._workers) < self.count:
            return await self._spawn()
        return min(self._workers, key=lambda worker: len(worker.keys))

    async def _spawn(self) -> _Worker:
        # One start at a time: sessions arriving meanwhile wait for it (and then share
        # it or start the next) instead of starting a worker each.
        if self._starting is None:
            self._starting = asyncio.create_task(self._start_one(), name="media-worker-start")
        starting = self._starting
        try:
            return await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None

    async def _start_one(self) -> _Worker:
        parent, child = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "media.capture_worker",
                "--fd",
                str(child.fileno()),
                pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
            )
        finally:
            child.close()
        reader, writer = await asyncio.open_connection(sock=parent)
        worker = _Worker(process, reader, writer)
        worker.listener = asyncio.create_task(self._listen(worker), name="media-worker-listen")
        try:
            async with asyncio.timeout(START_SECONDS):
                await self._call(worker, "init", **asdict(self.settings))
        except BaseException:
            await self._stop(worker)
            raise
        self._workers.append(worker)
        log.info("media worker %d started", process.pid)
        return worker

    async def _call(self, worker: _Worker, op: str, **args: Any) -> Any:
        if worker.gone:
            raise CaptureFailed()
        call_id = next(self._call_ids)
        answer = asyncio.get_running_loop().create_future()
        worker.pending[call_id] = answer
        try:
            await send(worker.writer, Call(call_id, op, args))
            reply: Reply = await answer
        except ConnectionError as exc:
            raise CaptureFailed() from exc
        finally:
            worker.pending.pop(call_id, None)
        if reply.failure is not None:
            raise reply.failure.exception()
        return reply.value

    async def _listen(self, worker: _Worker) -> None:
        try:
            while True:
                message = await receive(worker.reader)
                if isinstance(message, Reply):
                    answer = worker.pending.get(message.call_id)
                    if answer is not None and not answer.done():
                        answer.set_result(message)
                elif isinstance(message, Event):
                    self._handle(worker, message)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("media worker %d sent what it should not", worker.process.pid)
        finally:
            self._lost(worker)

    def _handle(self, worker: _Worker, event: Event) -> None:
        if event.name == "closed":
            self._forget(event.args["key"], worker)
        task = asyncio.create_task(self._deliver(event))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _deliver(self, event: Event) -> None:
        try:
            await self._on_event(event)
        except Exception:
            log.exception("handling the media worker's %s failed", event.name)

    def _forget(self, key: str, worker: _Worker) -> None:
        worker.keys.discard(key)
        if self._where.get(key) is worker:
            del self._where[key]

    def _lost(self, worker: _Worker) -> None:
        """The worker's channel closed: its calls fail, its sessions are over."""
        if worker.gone:
            return
        worker.gone = True
        if worker in self._workers:
            self._workers.remove(worker)
        for answer in worker.pending.values():
            if not answer.done():
                answer.set_exception(CaptureFailed())
        if not self._closing:
            log.error(
                "media worker %d ended, and its %d sessions with it",
                worker.process.pid,
                len(worker.keys),
            )
        for key in list(worker.keys):
            self._forget(key, worker)
            self._handle(worker, Event("closed", {"key": key, "reason": CloseReason.PEER_FAILED}))

    async def close_all(self) -> None:
        """Close every session and stop every worker (the node is stopping)."""
        self._closing = True
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        await asyncio.gather(*(self._stop(worker) for worker in list(self._workers)))
        await asyncio.gather(*self._handling, return_exceptions=True)

    async def _stop(self, worker: _Worker) -> None:
        # Closing the channel tells the worker to close its sessions and exit.
        worker.writer.close()
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await worker.process.wait()
        except TimeoutError:
            log.error("media worker %d did not stop: killed", worker.process.pid)
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
            await worker.process.wait()
        if worker.listener is not None:
            await asyncio.gather(worker.listener, return_exceptions=True)
        self._lost(worker)
