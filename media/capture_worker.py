"""A media worker process: ``python -m media.capture_worker --fd N``.

Started by :class:`media.capture_workers.CaptureWorkers`, never by hand. ``N`` is its
end of a socketpair; the first message on it is the ``init`` call with the worker's
settings (the capture key among them: never on the command line or in the
environment). Then it answers calls to its :class:`~media.capture_station.
CaptureStation` until its parent closes the channel or goes away, closes every
session and exits. Ctrl-C reaches the whole process group: the worker ignores it and
leaves its lifetime to the parent. It runs at a lower priority than the signalling
process (``NICENESS``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any

from common.errors import UserError
from common.log_format import formatter
from media.capture_peer import CaptureFailed
from media.capture_station import CaptureStation
from media.sealing import Sealer
from media.worker_channel import Call, Failure, Message, Reply, receive, send

log = logging.getLogger(__name__)

# What the parent may call; anything else is a bug on its side.
# The signalling process must answer every socket of the node at once, while a look or
# a frame decoded a few ms later harms no one: when the cores are short, the scheduler
# gives them to signalling first.
NICENESS = 10
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [worker %(process)d]: %(message)s"
OPERATIONS = frozenset({"open", "close", "look", "keep_frame", "keep_image", "frames"})


def _configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format, TEXT_FORMAT, "process"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


class Worker:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._calls: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        init = await receive(self._reader)
        if not isinstance(init, Call) or init.op != "init":
            raise RuntimeError("a media worker's first message must be init")
        settings: dict[str, Any] = dict(init.args)
        _configure_logging(settings.pop("log_level"), settings.pop("log_format"))
        sealer = Sealer(settings.pop("capture_key"))
        station = CaptureStation(sealer, self._outbox.put_nowait, **settings)
        sender = asyncio.create_task(self._send_all(), name="worker-send")
        await self._outbox.put(Reply(init.call_id, "ready"))
        try:
            while True:
                message = await receive(self._reader)
                if isinstance(message, Call):
                    task = asyncio.create_task(self._answer(station, message))
                    self._calls.add(task)
                    task.add_done_callback(self._calls.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the parent closed the channel or is gone
        finally:
            for task in list(self._calls):
                task.cancel()
            await station.close_all()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _answer(self, station: CaptureStation, call: Call) -> None:
        try:
            if call.op not in OPERATIONS:
                raise RuntimeError(f"unknown operation {call.op!r}")
            value = await getattr(station, call.op)(**call.args)
        except UserError as exc:
            reply = Reply(call.call_id, failure=Failure.of(exc))
        except Exception:
            log.exception("%s failed", call.op)
            reply = Reply(call.call_id, failure=Failure.of(CaptureFailed()))
        else:
            reply = Reply(call.call_id, value)
        await self._outbox.put(reply)

    async def _send_all(self) -> None:
        # One writer, in order: an event is never interleaved with a reply.
        while True:
            message = await self._outbox.get()
            try:
                await send(self._writer, message)
            except ConnectionError:
                return


async def serve(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        await Worker(reader, writer).run()
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="this worker's end of the channel")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    asyncio.run(serve(args.fd))


if __name__ == "__main__":
    main()
