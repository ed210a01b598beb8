"""Server processes for ``bench/signalling_load.py``; started by it, one process per server.

- ``floor``: the least a python-socketio relay can do. AsyncServer on aiohttp, websocket
  only, namespaces ``/citizen`` and ``/clerk``; the connect ``auth`` names a pair, and
  a citizen's ``rtc_candidate`` is re-emitted to its partner's sid and acknowledged
  with the same ``{"ok": true, "data": null}`` our server sends.
- ``ours``: ``signalling.app.create_app`` on the SQLite file the bench prepared, memory
  room store, a fixed clock, production mode, no background mail jobs. With
  ``--workers N --redis URL``: N processes on one port (SO_REUSEPORT), each a node
  joined by Redis, as ``buergerbuero serve --workers N`` runs them.

Both run on uvloop, as ``serve`` does, and serve ``GET /cpu`` on a second port (a
separate aiohttp app, so our app's middlewares play no part): the process's CPU
seconds (``time.process_time``, all threads; with workers, theirs summed from /proc)
and resident memory. When ready the process prints ``READY <port> <control
port>`` on stdout. It stops on SIGTERM/SIGINT, and when its stdin (a pipe from the
bench) closes, so it never outlives a bench that died.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import logging
import multiprocessing
import os
import signal
import socket
import stat
import sys
import time
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

import socketio
import uvloop
from aiohttp import web

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def floor_app(origin: str) -> web.Application:
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        transports=["websocket"],
        cors_allowed_origins=[origin],  # the same origin check our server makes
    )
    app = web.Application()
    sio.attach(app)
    clerk_of_pair: dict[int, str] = {}
    pair_of_citizen: dict[str, int] = {}

    async def citizen_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        pair_of_citizen[sid] = int(auth["pair"])

    async def clerk_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        clerk_of_pair[int(auth["pair"])] = sid

    async def relay(sid: str, data: Any = None) -> dict[str, Any]:
        partner = clerk_of_pair[pair_of_citizen[sid]]
        await sio.emit("rtc_candidate", data, to=partner, namespace="/clerk")
        return {"ok": True, "data": None}

    sio.on("connect", citizen_connect, namespace="/citizen")
    sio.on("connect", clerk_connect, namespace="/clerk")
    sio.on("rtc_candidate", relay, namespace="/citizen")
    return app


def our_app(args: argparse.Namespace) -> web.Application:
    # Only what the bench sets: no REDIS_URL, DATABASE_URL or BB_* from the caller's shell.
    for name in list(os.environ):
        if name.startswith("BB_") or name in ("REDIS_URL", "DATABASE_URL"):
            del os.environ[name]
    from signalling.app import create_app
    from signalling.cli import freeze_heap
    from signalling.settings import Mode, Settings

    now = datetime.fromisoformat(args.now)
    settings = Settings(
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
        log_level="WARNING",
        # Every bench client connects from 127.0.0.1: as one address, they would hit the
        # per-address limit meant for a flood (300 a minute) long before 500 calls.
        socket_connects_per_minute=100_000,
        redis_url=args.redis,
        redis_prefix=args.redis_prefix,
    )
    app = create_app(settings, now=lambda: now, run_jobs=False)
    app.on_startup.append(freeze_heap)  # as `buergerbuero serve` does
    return app


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def control_app() -> web.Application:
    async def cpu(request: web.Request) -> web.Response:
        return web.json_response({"cpu": time.process_time(), "rss": resident_bytes()})

    app = web.Application()
    app.router.add_get("/cpu", cpu)
    return app


async def until_stopped(watch_stdin: bool = True) -> None:
    """Until SIGTERM or SIGINT, or until stdin (a pipe from the bench) closes."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher: asyncio.Task[None] | None = None
    if watch_stdin and stat.S_ISFIFO(os.fstat(0).st_mode):
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

        async def watch() -> None:
            await reader.read()
            stop.set()

        watcher = asyncio.create_task(watch())
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()


async def serve(args: argparse.Namespace) -> None:
    if args.workers > 1:
        await serve_workers(args)
        return
    app = floor_app(args.origin) if args.kind == "floor" else our_app(args)
    runners = [web.AppRunner(app, access_log=None), web.AppRunner(control_app(), access_log=None)]
    ports = []
    try:
        for runner in runners:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            ports.append(runner.addresses[0][1])
        print(f"READY {ports[0]} {ports[1]}", flush=True)
        await until_stopped()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


# -- several workers on one port, as ``buergerbuero serve --workers N`` runs them -----------


def worker(args: argparse.Namespace, port: int, ready: Any) -> None:
    """One worker process: our app on the shared port (SO_REUSEPORT), until SIGTERM."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")

    async def main() -> None:
        runner = web.AppRunner(our_app(args), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True).start()
            ready.set()
            await until_stopped(watch_stdin=False)
        finally:
            await runner.cleanup()

    run(main())


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat_file:
        fields = stat_file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


async def serve_workers(args: argparse.Namespace) -> None:
    # A socket bound with SO_REUSEPORT but never listening holds the port for the
    # workers; the kernel gives connections only to the listening ones.
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    ready = [spawn.Event() for _ in range(args.workers)]
    workers = [spawn.Process(target=worker, args=(args, port, event)) for event in ready]
    for process in workers:
        process.start()
    loop = asyncio.get_running_loop()
    for process, event in zip(workers, ready, strict=True):
        while not await loop.run_in_executor(None, event.wait, 0.5):
            if not process.is_alive():
                raise RuntimeError("a worker ended before it listened (see the log above)")

    async def cpu(request: web.Request) -> web.Response:
        pids = [p.pid for p in workers if p.pid is not None]
        return web.json_response(
            {
                "cpu": sum(process_cpu(pid) for pid in pids),
                "rss": sum(process_rss(pid) for pid in pids),
            }
        )

    control = web.Application()
    control.router.add_get("/cpu", cpu)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        print(f"READY {port} {runner.addresses[0][1]}", flush=True)
        await until_stopped()
    finally:
        await runner.cleanup()
        for process in workers:
            process.terminate()
        for process in workers:
            process.join(15)
        holder.close()


def run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop, as ``buergerbuero serve`` runs: the floor too, so that the ratio
    compares our code with python-socketio's least, not one event loop with another."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["floor", "ours"])
    parser.add_argument("--origin", required=True, help="the only accepted Origin")
    parser.add_argument("--db", help="ours: the prepared SQLite file")
    parser.add_argument("--now", help="ours: the fixed clock, ISO 8601 with offset")
    parser.add_argument("--workers", type=int, default=1, help="ours: processes on one port")
    parser.add_argument("--redis", help="ours: REDIS_URL (needed for several workers)")
    parser.add_argument("--redis-prefix", default="bench", help="ours: BB_REDIS_PREFIX")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if not profile_dir:
        run(serve(args))
        return
    # cProfile over the whole server (all it did, not one window), for finding where
    # the CPU goes: ``python -m pstats <file>``.
    # CPU time, not wall time: a coroutine's wait for the network is not its cost.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        run(serve(args))
    finally:
        profiler.disable()
        profiler.dump_stats(Path(profile_dir) / f"{args.kind}-{os.getpid()}.prof")


if __name__ == "__main__":
    main()
