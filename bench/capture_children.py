"""Child processes for ``bench/capture_load.py``; started by it, never by hand.

- ``server``: ``signalling.app.create_app`` as ``bench/signalling_server.py`` builds it
  (production mode, SQLite file prepared by the bench, memory room store, fixed clock),
  except that the capture peers may use loopback ICE candidates. Production mode
  refuses ``capture_allow_loopback``; this process alone (a bench, on 127.0.0.1) lifts
  that one refusal through a ``Settings`` subclass. The capture peers live in the
  app's media worker processes (``--capture-workers``, 0: one per core), started
  before the server reports ready. A control port serves ``GET /stats``: CPU seconds of
  this process and per Python thread group (event loop, default executor, the rest),
  CPU seconds and resident memory of each media worker, frames received per capture
  session (asked of the workers), and the wall time of every guidance look: the
  desk's call ``CaptureWorkers.look``, wrapped in this process only (``?since=N``
  returns the times from the N-th look on).
- ``senders``: the citizens' browsers, as aiortc peers that send a 1280x720 camera
  showing an ID card specimen. The video is encoded once, at start-up (VP8, about
  1.5 Mbit/s, a key frame every two seconds, the card moving a few pixels and sensor
  noise, like a hand-held card on a desk), and then replayed as pre-encoded packets
  at ``--fps`` frames/s (15 by default, what the citizen's page asks the camera for):
  aiortc's own encoder needs about 0.1 s a 720p frame, ten of them would need ten
  cores. Commands arrive as JSON lines on stdin (``offer``, ``answer``, ``close``,
  ``stats``); each answer is a JSON line on stdout.

Both stop when their stdin (a pipe from the bench) closes, and on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fractions
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from aiohttp import web
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from av.packet import Packet
from signalling_server import PAGE_SIZE, resident_bytes

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WIDTH, HEIGHT = 1280, 720
FPS = 15  # what the citizen's page asks the camera for (static/js/verification.js)
LOOP_SECONDS = 2  # of video, replayed; each loop starts with a key frame
BITRATE = 1_500_000
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)


# -- the server ----------------------------------------------------------------------------


def thread_cpu(native_id: int) -> float:
    """CPU seconds (user + system) of one thread of this process, 0 once it is gone."""
    try:
        with open(f"/proc/self/task/{native_id}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_group(name: str) -> str:
    if name == "MainThread":
        return "loop"
    if name.startswith(("asyncio_", "ThreadPoolExecutor")):  # the loop's default executor
        return "executor"
    return "other_py"


def worker_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system, all threads) and resident bytes of a media worker;
    (0, 0) once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0
    # After the command: utime and stime are fields 11 and 12, rss (in pages) is 21.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[21]) * PAGE_SIZE


class LookTimer:
    """The wall time of every guidance look, as the capture desk waits for it: the
    call to the worker, its conversion and quick analysis there, and the answer's way
    back through this process's event loop."""

    def __init__(self) -> None:
        self.ms: list[float] = []  # every call, in the order they finished
        self.empty = 0  # answered None: no frame yet, or the session had just gone
        self.failed = 0  # raised (the worker failed or ended)
        self.in_flight = 0  # asked, not yet answered: the bench waits for none between rounds

    def snapshot(self, since: int | None) -> dict[str, Any]:
        """The counters, and the times of the calls from number ``since`` on (none
        when not asked: the bench's polls between windows need only the count)."""
        return {
            "count": len(self.ms),
            "empty": self.empty,
            "failed": self.failed,
            "in_flight": self.in_flight,
            "ms": self.ms[since:] if since is not None else [],
        }


def install_timer(timer: LookTimer) -> None:
    """Wrap ``CaptureWorkers.look``, the desk's one call per guidance look.

    The desk looks the method up on its pool at each call, so wrapping the class
    attribute here, in the server process only, changes nothing in the project's files.
    """
    from media.capture_station import Look
    from media.capture_workers import CaptureWorkers

    real_look = CaptureWorkers.look

    async def look(self: CaptureWorkers, key: str, kind: str | None) -> Look | None:
        started = time.perf_counter()
        timer.in_flight += 1
        try:
            answer = await real_look(self, key, kind)
        except Exception:
            timer.failed += 1
            timer.ms.append((time.perf_counter() - started) * 1000)
            raise
        finally:
            timer.in_flight -= 1
        # A look cancelled with its guidance loop (the session closed) never returned:
        # it is not counted.
        timer.ms.append((time.perf_counter() - started) * 1000)
        if answer is None:
            timer.empty += 1
        return answer

    CaptureWorkers.look = look  # type: ignore[method-assign]


def server_app(args: argparse.Namespace) -> tuple[web.Application, web.Application]:
    # Only what the bench sets: no REDIS_URL, DATABASE_URL or BB_* from the caller's shell.
    for name in list(os.environ):
        if name.startswith("BB_") or name in ("REDIS_URL", "DATABASE_URL"):
            del os.environ[name]
    from signalling.app import create_app
    from signalling.cli import freeze_heap
    from signalling.keys import CAPTURES
    from signalling.settings import Mode, Settings

    class BenchSettings(Settings):
        """Production settings that accept loopback capture peers (this bench only)."""

        def problems(self) -> list[str]:
            return [p for p in super().problems() if "CAPTURE_ALLOW_LOOPBACK" not in p]

    now = datetime.fromisoformat(args.now)
    settings = BenchSettings(
        _env_file=None,
        mode=Mode.PRODUCTION,
        secret_key=os.environ["BENCH_SECRET_KEY"],
        database_url=f"sqlite:///{args.db}",
        public_url=args.origin,
        data_dir=Path(args.db).parent / "var",
        smtp_host="127.0.0.1",  # never used: the mail job does not run
        smtp_tls="none",
        mail_from="bench@example.org",
        capture_key=base64.b64encode(os.urandom(32)).decode(),
        max_capture_sessions=args.max_captures,
        capture_allow_loopback=True,
        capture_workers=args.capture_workers,
        log_level="WARNING",
    )
    timer = LookTimer()
    install_timer(timer)
    app = create_app(settings, now=lambda: now, run_jobs=False)
    app.on_startup.append(freeze_heap)  # as `buergerbuero serve` does

    async def start_workers(app: web.Application) -> None:
        # All of them before READY: a worker starting (imports of aiortc, OpenCV and
        # onnxruntime, seconds of CPU) would otherwise land in the first capture window,
        # and the "none" windows would not have the idle workers a serving node has.
        await app[CAPTURES].workers.start()

    app.on_startup.append(start_workers)

    async def stats(request: web.Request) -> web.Response:
        groups: dict[str, float] = {}
        for thread in threading.enumerate():
            if thread.native_id is not None:
                group = thread_group(thread.name)
                groups[group] = groups.get(group, 0.0) + thread_cpu(thread.native_id)
        workers = app[CAPTURES].workers
        usage = {str(pid): worker_usage(pid) for pid in workers.pids()}
        since = request.query.get("since")
        return web.json_response(
            {
                "cpu": time.process_time(),  # this process only: the workers are children
                "rss": resident_bytes(),
                "threads": groups,
                "workers_cpu": sum(cpu for cpu, _ in usage.values()),
                "workers": {pid: {"cpu": cpu, "rss": rss} for pid, (cpu, rss) in usage.items()},
                "frames": await workers.frames(),
                "looks": timer.snapshot(int(since) if since is not None else None),
            }
        )

    async def cpu(request: web.Request) -> web.Response:  # what realtime.Server.usage reads
        return web.json_response({"cpu": time.process_time(), "rss": resident_bytes()})

    control = web.Application()
    control.router.add_get("/cpu", cpu)
    control.router.add_get("/stats", stats)
    return app, control


async def stdin_closed(loop: asyncio.AbstractEventLoop) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve(args: argparse.Namespace) -> None:
    app, control = server_app(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reader = await stdin_closed(loop)

    async def watch() -> None:
        await reader.read()
        stop.set()

    watcher = asyncio.create_task(watch())
    runners = [web.AppRunner(app, access_log=None), web.AppRunner(control, access_log=None)]
    ports = []
    try:
        for runner in runners:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            ports.append(runner.addresses[0][1])
        print(f"READY {ports[0]} {ports[1]}", flush=True)
        await stop.wait()
    finally:
        watcher.cancel()
        for runner in reversed(runners):
            await runner.cleanup()


# -- the senders ---------------------------------------------------------------------------


def camera_frames(card_file: Path, count: int, seed: int = 7) -> list[np.ndarray[Any, Any]]:
    """A card on a desk, moving a few pixels in a loop of ``count`` frames, with noise."""
    card = cv2.imread(str(card_file), cv2.IMREAD_COLOR)
    if card is None:
        raise SystemExit(f"cannot read the specimen {card_file}")
    scale = min(1.0, 0.62 * WIDTH / card.shape[1], 0.75 * HEIGHT / card.shape[0])
    if scale < 1.0:
        card = cv2.resize(card, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    height, width = card.shape[:2]
    desk = np.full((HEIGHT, WIDTH, 3), (60, 90, 120), dtype=np.uint8)
    rng = np.random.default_rng(seed)
    frames = []
    for n in range(count):
        phase = 2 * math.pi * n / count  # one smooth loop: the replay has no jump
        dx, dy = round(8 * math.sin(phase)), round(5 * math.cos(phase))
        top, left = (HEIGHT - height) // 2 + dy, (WIDTH - width) // 2 + dx
        frame = desk.copy()
        frame[top : top + height, left : left + width] = card
        noise = rng.normal(0.0, 2.5, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return frames


def encode_loop(card_file: Path, fps: int) -> list[bytes]:
    """The camera's loop as VP8 frames (what a browser would send), the first a key frame."""
    loop_frames = LOOP_SECONDS * fps
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = WIDTH, HEIGHT
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = BITRATE
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.gop_size = loop_frames
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(BITRATE),
        "maxrate": str(BITRATE),
        "bufsize": str(BITRATE),
        "keyint_min": str(loop_frames),
    }
    packets: list[bytes] = []
    for n, image in enumerate(camera_frames(card_file, loop_frames)):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = n
        if n == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    if len(packets) != loop_frames:
        raise SystemExit(f"the encoder gave {len(packets)} packets for {loop_frames} frames")
    return packets


class ReplayCamera(MediaStreamTrack):
    """Replays pre-encoded VP8 frames at ``fps`` frames/s, from a key frame on."""

    kind = "video"

    def __init__(self, packets: list[bytes], fps: int) -> None:
        super().__init__()
        self.packets = packets
        self.fps = fps
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> Packet[Any]:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            due = self._start + self.sent / self.fps
            if due > now:
                await asyncio.sleep(due - now)
        packet = Packet(self.packets[self.sent % len(self.packets)])
        packet.pts = self.sent * 90000 // self.fps
        packet.time_base = VIDEO_TIME_BASE
        self.sent += 1
        return packet


class Senders:
    def __init__(self, packets: list[bytes], fps: int) -> None:
        self.packets = packets
        self.fps = fps
        self.peers: dict[int, tuple[RTCPeerConnection, ReplayCamera]] = {}

    async def offer(self, k: int) -> dict[str, Any]:
        from media.loopback import include_loopback_candidates

        await self.close(k)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        camera = ReplayCamera(self.packets, self.fps)
        transceiver = pc.addTransceiver(camera, direction="sendonly")
        vp8 = [
            c
            for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType.lower() in ("video/vp8", "video/rtx")
        ]
        transceiver.setCodecPreferences(vp8)
        include_loopback_candidates(pc)  # the browser's --allow-loopback-in-peer-connection
        self.peers[k] = (pc, camera)
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        return {"sdp": pc.localDescription.sdp}

    async def answer(self, k: int, sdp: str) -> dict[str, Any]:
        pc, _ = self.peers[k]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        return {}

    async def close(self, k: int) -> dict[str, Any]:
        peer = self.peers.pop(k, None)
        if peer is not None:
            async with asyncio.timeout(5):
                await peer[0].close()
        return {}

    def stats(self) -> dict[str, Any]:
        times = os.times()
        return {
            "cpu": times.user + times.system,
            "sent": {str(k): camera.sent for k, (_, camera) in self.peers.items()},
            "states": {str(k): pc.connectionState for k, (pc, _) in self.peers.items()},
        }


async def send(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    packets = encode_loop(Path(args.card), args.fps)
    sizes = [len(p) for p in packets]
    senders = Senders(packets, args.fps)
    loop = asyncio.get_running_loop()
    reader = await stdin_closed(loop)
    print(
        json.dumps(
            {
                "ready": True,
                "encode_s": round(time.perf_counter() - started, 2),
                "kbit_s": round(sum(sizes) * 8 / (len(sizes) / args.fps) / 1000),
                "key_bytes": sizes[0],
            }
        ),
        flush=True,
    )
    tasks: set[asyncio.Task[None]] = set()

    async def handle(request: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"id": request["id"]}
        try:
            op, k = request["op"], int(request.get("k", -1))
            if op == "offer":
                reply.update(await senders.offer(k))
            elif op == "answer":
                reply.update(await senders.answer(k, request["sdp"]))
            elif op == "close":
                reply.update(await senders.close(k))
            elif op == "stats":
                reply.update(senders.stats())
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:
            reply["error"] = repr(exc)
        print(json.dumps(reply), flush=True)

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def read() -> None:
        while line := await reader.readline():
            task = asyncio.create_task(handle(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        stop.set()

    reading = asyncio.create_task(read())
    try:
        await stop.wait()
    finally:
        reading.cancel()
        for k in list(senders.peers):
            with contextlib.suppress(Exception):  # shutting down: nothing left to tell
                await senders.close(k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="kind", required=True)
    server = sub.add_parser("server")
    server.add_argument("--origin", required=True, help="the only accepted Origin")
    server.add_argument("--db", required=True, help="the prepared SQLite file")
    server.add_argument("--now", required=True, help="the fixed clock, ISO 8601 with offset")
    server.add_argument("--max-captures", type=int, default=10)
    server.add_argument(
        "--capture-workers", type=int, default=0, help="media worker processes (0: one per core)"
    )
    senders = sub.add_parser("senders")
    senders.add_argument("--card", required=True, help="the ID specimen the camera shows")
    senders.add_argument("--fps", type=int, default=FPS, help="frames a second per camera")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args) if args.kind == "server" else send(args))


if __name__ == "__main__":
    main()
