"""Server processes for ``bench/signalling_load.py``; started by it, one process per server.

- ``floor``: the least a python-socketio relay can do. AsyncServer on aiohttp, websocket
  only, namespaces ``/citizen`` and ``/clerk``; the connect ``auth`` names a pair, and
  a citizen's ``rtc_candidate`` is re-emitted to its partner's sid and acknowledged
  with the same ``{"ok": true, "data": null}`` our server sends.
- ``ours``: ``signalling.app.create_app`` on the SQLite file the bench prepared, memory
  room store, a fixed clock, production mode, no background mail jobs.

Both also serve ``GET /cpu`` on a second port (a separate aiohttp app, so our app's
middlewares play no part): the process's CPU seconds (``time.process_time``, all
threads) and resident memory. When ready the process prints ``READY <port> <control
port>`` on stdout. It stops on SIGTERM/SIGINT, and when its stdin (a pipe from the
bench) closes, so it never outlives a bench that died.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import logging
import os
import signal
import stat
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import socketio
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


async def serve(args: argparse.Namespace) -> None:
    app = floor_app(args.origin) if args.kind == "floor" else our_app(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher: asyncio.Task[None] | None = None
    if stat.S_ISFIFO(os.fstat(0).st_mode):  # started by the bench: stop when it goes away
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

        async def watch() -> None:
            await reader.read()
            stop.set()

        watcher = asyncio.create_task(watch())
    runners = [web.AppRunner(app, access_log=None), web.AppRunner(control_app(), access_log=None)]
    ports = []
    try:
        for runner in runners:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            ports.append(runner.addresses[0][1])
        print(f"READY {ports[0]} {ports[1]}", flush=True)
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        for runner in reversed(runners):
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["floor", "ours"])
    parser.add_argument("--origin", required=True, help="the only accepted Origin")
    parser.add_argument("--db", help="ours: the prepared SQLite file")
    parser.add_argument("--now", help="ours: the fixed clock, ISO 8601 with offset")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if not profile_dir:
        asyncio.run(serve(args))
        return
    # cProfile over the whole server (all it did, not one window), for finding where
    # the CPU goes: ``python -m pstats <file>``.
    # CPU time, not wall time: a coroutine's wait for the network is not its cost.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        asyncio.run(serve(args))
    finally:
        profiler.disable()
        profiler.dump_stats(Path(profile_dir) / f"{args.kind}-{os.getpid()}.prof")


if __name__ == "__main__":
    main()
