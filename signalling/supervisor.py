"""Several server processes on one port, kept running: ``buergerbuero serve --workers N``.

Each worker is a whole node of the multi-node set-up (its own event loop, sockets,
lobby and media workers), joined to the others by Redis as separate machines would
be. Every worker binds the port itself with ``SO_REUSEPORT``, so the kernel spreads
new connections over them and no process sits in between; the transport is websocket
only, so a client's connection never needs to reach the same worker twice.

This process only starts the workers, passes a stop on to them, and starts a worker
again when one dies (its sockets reconnect to the others meanwhile, and keep their
places: the waiting rooms are in Redis). A worker that keeps dying stops everything,
rather than restarting in a loop forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger(__name__)
RESTART_DELAY = 1.0  # seconds before a dead worker is started again
CRASHES_ALLOWED = 5  # within CRASH_WINDOW: then the supervisor gives up
CRASH_WINDOW = 60.0
STOP_TIMEOUT = 30.0  # a worker closes its sockets and media workers within this


class Supervisor:
    def __init__(self, count: int, serve: Callable[[int], None]) -> None:
        self.count = count
        self.serve = serve
        self.spawn = multiprocessing.get_context("spawn")  # no event loop copied by fork
        self.workers: dict[int, BaseProcess] = {}
        self.stopping = False
        self.crashes: list[float] = []

    def start(self, index: int) -> None:
        process = self.spawn.Process(
            target=self.serve, args=(index,), name=f"buergerbuero-worker-{index}"
        )
        process.start()
        self.workers[index] = process

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        self.stopping = True
        for process in self.workers.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: aiohttp's graceful shutdown

    def ended(self, index: int, process: BaseProcess) -> bool:
        """A worker ended by itself; False when they keep ending (give up)."""
        process.join()
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < CRASH_WINDOW] + [now]
        log.error("worker %d ended with status %s", index, process.exitcode)
        if len(self.crashes) > CRASHES_ALLOWED:
            log.critical("workers keep ending; stopping the server")
            return False
        time.sleep(RESTART_DELAY)
        if not self.stopping:
            self.start(index)
        return True

    def run(self) -> int:
        for index in range(self.count):
            self.start(index)
        while not self.stopping:
            done = wait([p.sentinel for p in self.workers.values()])
            for index, process in list(self.workers.items()):
                if (
                    process.sentinel in done
                    and not self.stopping
                    and not self.ended(index, process)
                ):
                    self.stop()
                    return 1
        return 0

    def join(self) -> None:
        for process in self.workers.values():
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()


def supervise(count: int, serve: Callable[[int], None]) -> int:
    """Run ``serve(index)`` in ``count`` processes until SIGTERM or SIGINT; returns the
    exit status: 0 after a stop, 1 when workers kept dying."""
    supervisor = Supervisor(count, serve)
    previous = {s: signal.signal(s, supervisor.stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return supervisor.run()
    finally:
        supervisor.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
