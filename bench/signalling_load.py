"""Benchmark: Socket.IO signalling. Relay cost and latency against Node's socket.io (what a
town would pick instead) and a bare python-socketio floor, and how many waiting citizens
one node keeps informed within a second.

Run: ``.venv/bin/python bench/signalling_load.py`` (about three minutes on 2 cores). Bigger:
``--calls 10,100,500,1000 --waiting 1000,2000,5000,10000 --duration 15``; either list
may be empty to skip that part. Figures are printed, never asserted. Everything runs on
127.0.0.1, in one run, so the ratios compare like with like.

What it does:

1. Starts the server processes: *node*, Node's socket.io 4.8 (``bench/node_floor/``,
   installed from its npm lock by ``make bench``) speaking the same protocol; the
   *floor*, a minimal python-socketio relay (``bench/signalling_server.py``: AsyncServer
   on aiohttp, websocket only; a citizen's ``rtc_candidate`` is re-emitted to its
   partner's sid and acked); *ours*, ``create_app`` on a fresh SQLite file (production
   mode, memory room store, a fixed clock inside the check-in window); and *ours×2*,
   the same app as ``serve --workers 2`` runs it (two processes on one port, joined by
   the Redis of ``--redis``, under a key prefix of the run's own, deleted at the end).
   Appointments are bulk-inserted, clerks made with ``Staff.create`` (with a cheap
   Argon2 setting: the bench never logs in by password), and cookies issued as the app
   does (``issue_token``, ``open_session``).
2. Relay: for each size, N calls are set up through the real protocol (citizen
   ``queue_join``, clerk ``queue_take``; the floor just pairs sockets), then every
   citizen sends an acked ``rtc_candidate`` of realistic size at a fixed rate (default
   5/s, under our limit of 30/s per socket). The candidate string carries a sequence
   number (``candidate:<seq> 1 udp …``): send times stay in the client, the clerk's
   socket timestamps arrival. Printed: one-way latency p50/p90/p99, server CPU per
   relayed message (``time.process_time`` in the server, all threads, read over a
   control port before and after each window), CPU use of server, load generator and
   the rest of the machine (other processes: if that is high, latencies are not worth
   much), and the ratios of ours (and ours×2) to node and floor; lost messages are
   counted (never arrived within 3 s of the window's end). Sequence numbers run over
   the whole bench, so a message delivered after its window ended is never matched to
   a later window's send time (it is counted late instead). Per size, ``--duration``
   is split into ``--rounds`` windows, the servers alternating, each after a warm-up,
   so that a disturbance from outside hits all alike.
3. Waiting room: a fresh server (Node's waiting-room floor, which orders and
   broadcasts as ours does, then ours, then ours×2), one clerk, then 1000, 2000, 5000
   citizens connected and checked in (all for the same service, so one queue; 32 joining at a
   time; a ``queue_join`` answered ``internal_error`` is retried, as a front end would,
   and counted). Once every position is settled the clerk sends ``queue_next``; printed
   per size: how long until each other citizen has its ``queue_updated`` with the new
   position (first/p50/p100, from the moment ``queue_next`` was sent), whether all
   arrived within 1 s, the server's CPU for that take and its resident memory; and
   check-ins per second, with the server's CPU per check-in.

Load generator: not ``socketio.AsyncClient`` (far too heavy for thousands of sockets)
but a lean client in this process that speaks the Engine.IO 4 / Socket.IO 5 text
protocol over aiohttp's websocket client (``40/citizen,{"v":1}``, ``42/ns,id[...]``,
answers pings). It asks for no permessage-deflate, where browsers would: compression
would add the same cost to both servers. With 2 cores, the server gets one and this
process the other; its CPU use is printed so a saturated generator shows.

``--before DIR`` adds a third server: ours as of an earlier commit (a checkout, e.g.
``git worktree add /tmp/before <commit>``), run from that checkout on the same
interpreter and libraries, in the same alternating windows and in the waiting room, with
ours/before ratios: the check that a change made nothing slower.

Tail latency on shared VMs is noisy: compare p99 only as a ratio within one run.
(Not called ``bench/signalling.py``: a top-level module of that name would shadow the
``signalling`` package, for mypy and for any script run from ``bench/``.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import os
import resource
import secrets
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import aiohttp
from argon2 import PasswordHasher
from redis.asyncio import Redis
from redis.exceptions import RedisError

from office.appointments import Appointments
from office.catalogue import load_town
from office.context import Office
from office.db import create_engine, session_factory
from office.mail import MailSettings
from office.migrate import upgrade
from office.models import Appointment, AppointmentStatus
from office.staff import Staff
from office.tokens import Audience, Signer

NOW = datetime(2026, 6, 1, 10, 20, tzinfo=UTC)  # a Monday, 12:20 in Ostfildern
SLOT = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)  # appointments from here, 1 ms apart
SERVICE = "meldebescheinigung"  # skill "meldewesen"
ORIGIN = "https://termine.bench.example"
SERVER_SCRIPT = Path(__file__).resolve().with_name("signalling_server.py")
NODE_FLOOR = Path(__file__).resolve().with_name("node_floor")  # `make bench` runs npm ci there
CONNECTS_AT_ONCE = 32
JOIN_ATTEMPTS = 3
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ONE_SECOND = 1.0


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


# -- a lean Socket.IO client ---------------------------------------------------------------

EventHandler = Callable[[str, float], None]  # (the event's JSON array text, arrival time)


class Refused(Exception):
    """The server refused the namespace connection (``connect_error``)."""


class Socket:
    """One Socket.IO connection to one namespace, speaking the text protocol directly.

    Events are counted and their last body kept; a handler registered for an event
    name gets its raw JSON text and the ``perf_counter`` time the frame was read.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.handlers: dict[str, EventHandler] = {}
        self.counts: Counter[str] = Counter()
        self.last: dict[str, str] = {}
        self.last_at: dict[str, float] = {}
        self.acks_ok = 0
        self.acks_failed: Counter[str] = Counter()  # error code -> count
        self.closed = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected: asyncio.Future[None] | None = None
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._counted: set[int] = set()
        self._last_id = 0
        self._changed = asyncio.Event()

    async def open(
        self,
        session: aiohttp.ClientSession,
        port: int,
        auth: dict[str, Any],
        cookie: str = "",
        within: float = 30.0,
    ) -> None:
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        self._connected = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(within):
                self._ws = await session.ws_connect(
                    url,
                    origin=ORIGIN,
                    headers={"Cookie": cookie} if cookie else None,
                    max_msg_size=0,
                )
                self._reader = asyncio.create_task(self._read(self._ws))
                await self._ws.send_str(f"40{self.namespace},{json.dumps(auth)}")
                await self._connected
        except BaseException:
            await self.close()
            raise

    def _set_connected(self, error: BaseException | None) -> None:
        if self._connected is not None and not self._connected.done():
            if error is None:
                self._connected.set_result(None)
            else:
                self._connected.set_exception(error)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        prefix = self.namespace + ","
        cut = len(prefix)
        try:
            async for message in ws:
                at = time.perf_counter()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                text: str = message.data
                if text == "2":  # Engine.IO ping
                    await ws.send_str("3")
                    continue
                if len(text) < 2 or text[0] != "4":
                    continue  # Engine.IO open/noop; we only need Socket.IO messages
                kind, rest = text[1], text[2:]
                if rest.startswith(prefix):
                    rest = rest[cut:]
                elif rest == self.namespace:
                    rest = ""
                else:
                    continue
                if kind == "2":
                    self._event(rest, at)
                elif kind == "3":
                    self._ack(rest)
                elif kind == "0":
                    self._set_connected(None)
                elif kind == "4":
                    self._set_connected(Refused(rest))
                elif kind == "1":
                    break
        finally:
            self.closed = True
            self._set_connected(ConnectionError(f"{self.namespace}: connection closed"))
            for future in self._calls.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"{self.namespace}: connection closed"))
            self._changed.set()

    @staticmethod
    def _split_id(rest: str) -> tuple[int | None, str]:
        digits = 0
        while digits < len(rest) and rest[digits].isdigit():
            digits += 1
        return (int(rest[:digits]) if digits else None), rest[digits:]

    def _event(self, rest: str, at: float) -> None:
        _, body = self._split_id(rest)
        name = body[2 : body.find('"', 2)]
        self.counts[name] += 1
        self.last[name] = body
        self.last_at[name] = at
        handler = self.handlers.get(name)
        if handler is not None:
            handler(body, at)
        self._changed.set()

    def _ack(self, rest: str) -> None:
        ack_id, body = self._split_id(rest)
        if ack_id is None:
            return
        args = json.loads(body)
        value = args[0] if args else None
        future = self._calls.pop(ack_id, None)
        if future is not None:
            if not future.done():
                future.set_result(value)
        elif ack_id in self._counted:
            self._counted.discard(ack_id)
            if isinstance(value, dict) and value.get("ok") is True:
                self.acks_ok += 1
            else:
                code = value.get("error", {}).get("code") if isinstance(value, dict) else None
                self.acks_failed[str(code)] += 1

    async def _send(self, event: str, data: Any) -> int:
        if self._ws is None or self.closed:
            raise ConnectionError(f"{self.namespace}: not connected")
        self._last_id += 1
        packet = json.dumps([event, data], separators=(",", ":"))  # as browsers send it
        await self._ws.send_str(f"42{self.namespace},{self._last_id}{packet}")
        return self._last_id

    async def send(self, event: str, data: Any) -> None:
        """Emit a command; its ack is only counted (``acks_ok`` / ``acks_failed``)."""
        self._counted.add(await self._send(event, data))

    async def call(self, event: str, data: Any, within: float = 30.0) -> Any:
        """Emit a command and return its ack."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[self._last_id + 1] = future
        ack_id = await self._send(event, data)
        try:
            return await asyncio.wait_for(future, within)
        finally:
            self._calls.pop(ack_id, None)

    async def wait_event(self, name: str, count: int = 1, within: float = 30.0) -> Any:
        """The data of the ``count``-th event of this name, once it has arrived."""
        async with asyncio.timeout(within):
            while self.counts[name] < count:
                if self.closed:
                    raise ConnectionError(f"{self.namespace}: closed while waiting for {name}")
                self._changed.clear()
                await self._changed.wait()
        array = json.loads(self.last[name])
        return array[1] if len(array) > 1 else None

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader


def expect_ok(ack: Any, what: str) -> Any:
    if not isinstance(ack, dict) or ack.get("ok") is not True:
        raise RuntimeError(f"{what} was refused: {ack!r}")
    return ack.get("data")


async def close_all(sockets: Sequence[Socket]) -> None:
    limit = asyncio.Semaphore(256)

    async def close(socket: Socket) -> None:
        async with limit:
            await socket.close()

    await asyncio.gather(*(close(s) for s in sockets))


async def bounded(jobs: Sequence[Callable[[], Awaitable[Any]]], at_once: int) -> list[Any]:
    """Run the jobs, at most ``at_once`` at a time; results in order, exceptions returned."""
    limit = asyncio.Semaphore(at_once)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with limit:
            return await job()

    return await asyncio.gather(*(run(j) for j in jobs), return_exceptions=True)


# -- server processes ----------------------------------------------------------------------


def _log_file(path: Path) -> IO[bytes]:
    return path.open("wb")


class Server:
    """A server child process: its ports, its log, its CPU time and memory."""

    def __init__(
        self, name: str, process: asyncio.subprocess.Process, ports: tuple[int, int], log: Path
    ) -> None:
        self.name = name
        self.process = process
        self.port, self.control_port = ports
        self.log = log

    @classmethod
    async def start(
        cls, name: str, command: Sequence[str], folder: Path, env: dict[str, str] | None = None
    ) -> Server:
        log = folder / f"{name}.log"
        with _log_file(log) as sink:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=sink,
                env=env,
            )
        server = cls(name, process, (0, 0), log)
        try:
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().split()
            if len(line) != 3 or line[0] != "READY":
                raise RuntimeError(f"the {name} server did not start")
        except BaseException:
            await server.stop()
            print(server.log_tail(), file=sys.stderr)
            raise
        server.port, server.control_port = int(line[1]), int(line[2])
        return server

    async def usage(self, session: aiohttp.ClientSession) -> tuple[float, int]:
        """CPU seconds so far (all threads) and resident bytes."""
        async with session.get(f"http://127.0.0.1:{self.control_port}/cpu") as response:
            data = await response.json()
        return float(data["cpu"]), int(data["rss"])

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of the {self.name} server's log ---\n" + "\n".join(text)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def python_server(kind: str, *extra: str) -> list[str]:
    """The command line of a server of ``bench/signalling_server.py``."""
    return [sys.executable, str(SERVER_SCRIPT), kind, "--origin", ORIGIN, *extra]


def node_server(mode: str) -> list[str]:
    """The command line of the Node socket.io floor (``relay`` or ``waiting``)."""
    if not (NODE_FLOOR / "node_modules" / "socket.io").is_dir():
        raise SystemExit(
            f"the Node floor is not installed: run `make bench`, or `npm ci` in {NODE_FLOOR}"
        )
    return ["node", str(NODE_FLOOR / "server.js"), mode, "--origin", ORIGIN]


@dataclass(frozen=True)
class Workers:
    """Our server as ``serve --workers N`` runs it: N nodes on one port, joined by Redis."""

    count: int
    redis_url: str
    prefix: str


async def start_ours(
    name: str,
    folder: Path,
    office_db: Path,
    env: dict[str, str],
    before: Path | None = None,
    workers: Workers | None = None,
) -> Server:
    """Our server on a copy of the prepared database; with ``before``, the app code of
    that checkout (an earlier commit, e.g. ``git worktree add /tmp/before <commit>``)
    under the same server script, interpreter and libraries: like with like."""
    db = folder / f"{name}.db"
    # SQLite's backup API, not a file copy: the bench's own connection may still hold
    # committed pages in the write-ahead log.
    with (
        contextlib.closing(sqlite3.connect(office_db)) as source,
        contextlib.closing(sqlite3.connect(db)) as target,
    ):
        source.backup(target)
    command = python_server("ours", "--db", str(db), "--now", NOW.isoformat())
    if workers is not None:
        command += ["--workers", str(workers.count), "--redis", workers.redis_url]
        command += ["--redis-prefix", f"{workers.prefix}-{name.replace('×', 'x')}"]
    if before is not None:
        env = {**env, "PYTHONPATH": str(before)}  # its packages before the installed ones
    return await Server.start(name, command, folder, env)


# -- the office's data ---------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    appointment_id: str
    cookie: str  # bb_termin=...
    order: int  # its place by appointment time: what the Node floor orders its queue by


class BenchDatabase:
    """The bench's view of the database the server uses: appointments, clerks, cookies."""

    def __init__(self, url: str, secret: str) -> None:
        self.engine = create_engine(url)
        sessions = session_factory(self.engine)
        self.desk = Appointments(
            Office(
                load_town(),
                sessions,
                Signer(secret, lambda: NOW),
                MailSettings("bench@example.org", ORIGIN, 7),
                now=lambda: NOW,
            )
        )
        self.staff = Staff(sessions, require_second_factor=False, now=lambda: NOW)
        # Nobody logs in with these passwords: spare the bench 0.1 s of Argon2 per clerk.
        self.staff._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        self.appointments_made = 0
        self.clerks_made = 0

    async def migrate(self) -> None:
        await upgrade(self.engine)

    async def book(self, count: int) -> list[Booking]:
        """Appointments within the check-in window, in queue order (1 ms apart)."""
        rows = []
        for n in range(self.appointments_made, self.appointments_made + count):
            starts = SLOT + timedelta(milliseconds=n)
            rows.append(
                Appointment(
                    id=str(uuid.uuid4()),
                    reference=f"BENCH{n:07d}",
                    service_id=SERVICE,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=10),
                    status=AppointmentStatus.BOOKED,
                    language="de",
                    name=f"Bürgerin {n}",
                    email=f"b{n}@example.org",
                    token_id=secrets.token_hex(16),
                    created_at=NOW - timedelta(days=3),
                )
            )
        self.appointments_made += count
        async with self.desk.office.sessions() as session, session.begin():
            session.add_all(rows)
        first = self.appointments_made - count
        return [
            Booking(
                a.id,
                f"bb_termin={self.desk.office.issue_token(a, Audience.APPOINTMENT_SESSION)}",
                first + n,
            )
            for n, a in enumerate(rows)
        ]

    async def clerks(self, count: int) -> list[str]:
        """New clerks for the bench's service, logged in: their bb_staff cookies."""
        cookies = []
        for k in range(self.clerks_made, self.clerks_made + count):
            clerk = await self.staff.create(
                f"bench-clerk-{k}",
                f"Sachbearbeiter {k}",
                "benchmark-password",
                skills=["meldewesen"],
            )
            cookies.append(f"bb_staff={await self.staff.open_session(clerk.id)}")
        self.clerks_made += count
        return cookies

    async def close(self) -> None:
        await self.engine.dispose()


# -- relay ---------------------------------------------------------------------------------

FLOORS = ("floor", "node")  # servers that pair sockets by the auth's pair number


@dataclass
class Pair:
    citizen: Socket
    clerk: Socket


async def open_floor_pair(session: aiohttp.ClientSession, port: int, k: int) -> Pair:
    clerk, citizen = Socket("/clerk"), Socket("/citizen")
    try:
        await clerk.open(session, port, {"v": 1, "pair": k})
        await citizen.open(session, port, {"v": 1, "pair": k})
    except BaseException:
        await close_all([clerk, citizen])
        raise
    return Pair(citizen, clerk)


async def open_our_pair(
    session: aiohttp.ClientSession, port: int, booking: Booking, clerk_cookie: str
) -> Pair:
    """A call set up as the front ends do: check in, the clerk takes this citizen."""
    citizen, clerk = Socket("/citizen"), Socket("/clerk")
    try:
        await citizen.open(session, port, {"v": 1}, booking.cookie)
        await citizen.wait_event("state_synced")
        joined = expect_ok(await citizen.call("queue_join", {}), "queue_join")
        if joined.get("state") != "waiting":
            raise RuntimeError(f"queue_join: {joined!r}")
        await clerk.open(session, port, {"v": 1}, clerk_cookie)
        await clerk.wait_event("state_synced")
        take = {"appointment_id": booking.appointment_id}
        expect_ok(await clerk.call("queue_take", take), "queue_take")
        await citizen.wait_event("call_assigned")
    except BaseException:
        await close_all([citizen, clerk])
        raise
    return Pair(citizen, clerk)


def candidate(seq: int, k: int) -> dict[str, Any]:
    """An RTCIceCandidate's toJSON() as Chrome sends it; the foundation is our sequence."""
    return {
        "candidate": f"candidate:{seq} 1 udp 2122260223 127.0.0.1 {40000 + k % 20000} typ host "
        "generation 0 ufrag EsAw network-id 1 network-cost 10",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "EsAw",
    }


FRAME_BYTES = len(
    '42/citizen,123["rtc_candidate",'
    + json.dumps(candidate(123456, 1), separators=(",", ":"))
    + "]"
)


# One sequence for the whole run, not one per window: a message a saturated server
# delivers after its window ended must never be matched to another window's send.
SEQUENCE = itertools.count(1)


class RelayRecorder:
    """Send times by sequence number; one-way latencies of messages sent in the window."""

    def __init__(self) -> None:
        self.sent: dict[int, tuple[float, bool, int]] = {}  # seq -> (sent at, in window, pair)
        self.latencies: list[float] = []
        self.misrouted = 0
        self.stray = 0  # sent in an earlier window (given up as lost there) or never sent
        self.drained = asyncio.Event()
        self.draining = False

    def next_seq(self) -> int:
        return next(SEQUENCE)

    def received(self, k: int, body: str, at: float) -> None:
        data = json.loads(body)[1]
        seq = int(data["candidate"][len("candidate:") :].split(" ", 1)[0])
        entry = self.sent.pop(seq, None)
        if entry is None:
            self.stray += 1
            return
        sent_at, in_window, pair = entry
        if pair != k:
            self.misrouted += 1
        elif in_window:
            self.latencies.append(at - sent_at)
        if self.draining and not self.sent:
            self.drained.set()


def machine_busy() -> float:
    """CPU seconds all processes on this machine have used (from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class RelaySample:
    """One window of one server: the raw figures."""

    latencies: list[float]
    duration: float
    server_cpu: float  # seconds
    client_cpu: float
    rest_cpu: float  # every other process on the machine
    wall: float
    lost: int
    problems: list[str]


@dataclass
class RelayResult:
    rate: float  # relayed messages per second in the windows
    p50: float
    p90: float
    p99: float
    cpu_per_message: float  # server CPU seconds
    server_load: float  # CPU seconds per second
    client_load: float
    rest_load: float
    lost: int
    problems: list[str]

    @classmethod
    def of(cls, samples: Sequence[RelaySample]) -> RelayResult:
        latencies = [v for s in samples for v in s.latencies] or [float("nan")]
        delivered = sum(len(s.latencies) for s in samples)
        wall = sum(s.wall for s in samples)
        server_cpu = sum(s.server_cpu for s in samples)
        return cls(
            rate=delivered / sum(s.duration for s in samples),
            p50=percentile(latencies, 50),
            p90=percentile(latencies, 90),
            p99=percentile(latencies, 99),
            cpu_per_message=server_cpu / max(1, delivered),
            server_load=server_cpu / wall,
            client_load=sum(s.client_cpu for s in samples) / wall,
            rest_load=sum(s.rest_cpu for s in samples) / wall,
            lost=sum(s.lost for s in samples),
            problems=sorted({p for s in samples for p in s.problems}),
        )


async def run_relay(
    session: aiohttp.ClientSession,
    server: Server,
    pairs: Sequence[Pair],
    rate: float,
    warmup: float,
    duration: float,
) -> RelaySample:
    """Every citizen sends at ``rate`` for ``warmup + duration`` s; the window is measured."""
    loop = asyncio.get_running_loop()
    recorder = RelayRecorder()
    for k, pair in enumerate(pairs):
        pair.clerk.handlers["rtc_candidate"] = functools.partial(recorder.received, k)
        pair.citizen.acks_failed.clear()
    interval = 1.0 / rate
    start = loop.time() + 0.1
    window_start = start + warmup
    stop = window_start + duration

    async def citizen(k: int, pair: Pair) -> None:
        next_at = start + (k * 0.618034) % 1.0 * interval  # spread the senders evenly
        while next_at < stop:  # at most rate * (warmup + duration) + 1 messages
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            seq = recorder.next_seq()
            in_window = window_start <= loop.time() < stop
            recorder.sent[seq] = (time.perf_counter(), in_window, k)
            await pair.citizen.send("rtc_candidate", candidate(seq, k))
            next_at += interval

    async def sample() -> tuple[float, float, float, float]:
        cpu, _ = await server.usage(session)
        return cpu, own_cpu(), machine_busy(), time.perf_counter()

    async def sample_at_window_start() -> tuple[float, float, float, float]:
        await asyncio.sleep(max(0.0, window_start - loop.time()))
        return await sample()

    sampler = asyncio.create_task(sample_at_window_start())
    senders = [asyncio.create_task(citizen(k, pair)) for k, pair in enumerate(pairs)]
    try:
        await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()
    recorder.draining = True
    if recorder.sent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorder.drained.wait(), 3.0)
    await asyncio.sleep(0.05)  # the last acks
    server_end, client_end, busy_end, wall_end = await sample()
    server_start, client_start, busy_start, wall_start = await sampler
    server_cpu, client_cpu = server_end - server_start, client_end - client_start
    problems = []
    failed: Counter[str] = Counter()
    for pair in pairs:
        failed.update(pair.citizen.acks_failed)
    if failed:
        problems.append(f"refused acks {dict(failed)}")
    if recorder.misrouted or recorder.stray:
        problems.append(f"misrouted {recorder.misrouted}, late or unknown {recorder.stray}")
    return RelaySample(
        latencies=recorder.latencies,
        duration=duration,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        rest_cpu=max(0.0, busy_end - busy_start - server_cpu - client_cpu),
        wall=wall_end - wall_start,
        lost=len(recorder.sent),
        problems=problems,
    )


def relay_row(calls: int, name: str, r: RelayResult) -> str:
    return (
        f"{calls:7d}  {name:<6} {r.rate:7.0f} {ms(r.p50)} {ms(r.p90)} {ms(r.p99)}"
        f"  {r.cpu_per_message * 1e6:10.0f}  {r.server_load:7.0%}  {r.client_load:7.0%}"
        f"  {r.rest_load:7.0%} {r.lost:6d}  {'; '.join(r.problems)}"
    )


async def relay_phase(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    office: BenchDatabase,
    folder: Path,
    env: dict[str, str],
    stack: contextlib.AsyncExitStack,
) -> None:
    most = max(args.calls)
    started = time.perf_counter()
    bookings = await office.book(most)
    clerk_cookies = await office.clerks(most)
    print(f"setup: {most} appointments, {most} clerks in {time.perf_counter() - started:.1f} s")
    db = folder / "bench.db"
    await office.migrate()  # again: the server refuses a schema behind the code's head
    servers = {
        "floor": await Server.start("floor", python_server("floor"), folder),
        "node": await Server.start("node", node_server("relay"), folder),
    }
    for server in servers.values():
        stack.push_async_callback(server.stop)
    if args.before:
        servers["before"] = await start_ours("before", folder, db, env, args.before)
        stack.push_async_callback(servers["before"].stop)
    servers["ours"] = await start_ours("ours", folder, db, env)
    stack.push_async_callback(servers["ours"].stop)
    if args.workers:
        name = f"ours×{args.workers.count}"
        servers[name] = await start_ours(name, folder, db, env, workers=args.workers)
        stack.push_async_callback(servers[name].stop)
    print("servers: " + ", ".join(f"{n} pid {s.process.pid}" for n, s in servers.items()))
    pairs: dict[str, list[Pair]] = {name: [] for name in servers}
    window = args.duration / args.rounds
    print(
        f"\nRelay citizen -> clerk: acked rtc_candidate, {FRAME_BYTES}-byte frames, "
        f"{args.rate:g}/s per citizen;\nper server and size {args.rounds} windows of {window:.1f} s"
        f" (each after {args.warmup:g} s warm-up), {', '.join(servers)} alternating."
    )
    print(
        "  calls  server   msg/s   p50 ms   p90 ms   p99 ms  srv µs/msg  srv CPU  gen CPU"
        "  rest CPU  lost"
    )
    try:
        for calls in args.calls:
            for name, server in servers.items():
                have = pairs[name]
                jobs: list[Callable[[], Awaitable[Pair]]] = [
                    functools.partial(open_floor_pair, session, server.port, k)
                    if name in FLOORS
                    else functools.partial(
                        open_our_pair, session, server.port, bookings[k], clerk_cookies[k]
                    )
                    for k in range(len(have), calls)
                ]
                t0 = time.perf_counter()
                opened = await bounded(jobs, 16)
                have.extend(p for p in opened if isinstance(p, Pair))
                errors = [e for e in opened if not isinstance(e, Pair)]
                if errors:
                    print(f"  {name}: {len(errors)} calls could not be set up: {errors[0]!r}")
                    print(server.log_tail(10))
                    return
                if jobs:
                    print(
                        f"        ({name}: {len(jobs)} more calls set up in "
                        f"{time.perf_counter() - t0:.1f} s)"
                    )
            samples: dict[str, list[RelaySample]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, server in servers.items():
                    samples[name].append(
                        await run_relay(
                            session, server, pairs[name][:calls], args.rate, args.warmup, window
                        )
                    )
            results = {name: RelayResult.of(taken) for name, taken in samples.items()}
            for name, result in results.items():
                print(relay_row(calls, name, result))
            for ours in [name for name in results if name.startswith("ours")]:
                for base in [name for name in results if not name.startswith("ours")]:
                    print(ratio_row(f"{ours}/{base}", results[ours], results[base]))
    finally:
        await close_all(
            [s for group in pairs.values() for p in group for s in (p.citizen, p.clerk)]
        )
        for server in servers.values():
            await server.stop()


def ratio_row(label: str, o: RelayResult, b: RelayResult) -> str:
    return (
        f"{'':7s}  {label:15s}{o.p50 / b.p50:7.2f}x {o.p90 / b.p90:7.2f}x"
        f" {o.p99 / b.p99:7.2f}x  {o.cpu_per_message / b.cpu_per_message:9.2f}x"
    )


# -- waiting room --------------------------------------------------------------------------


@dataclass
class Waiter:
    booking: Booking
    socket: Socket
    position: int = 0  # the latest position the server told this citizen
    expect: int = 0  # the position the take should bring
    arrived: float | None = None


class TakeTracker:
    """Counts down the citizens still waiting for their new position."""

    def __init__(self) -> None:
        self.pending = 0
        self.done = asyncio.Event()
        self.refused = 0  # queue_join answered with internal_error, then retried

    def updated(self, waiter: Waiter, body: str, at: float) -> None:
        waiter.position = int(json.loads(body)[1]["position"])
        if waiter.expect and waiter.position == waiter.expect and waiter.arrived is None:
            waiter.arrived = at
            self.pending -= 1
            if self.pending == 0:
                self.done.set()


async def join(
    session: aiohttp.ClientSession, port: int, tracker: TakeTracker, booking: Booking
) -> Waiter:
    socket = Socket("/citizen")
    waiter = Waiter(booking, socket)
    socket.handlers["queue_updated"] = functools.partial(tracker.updated, waiter)
    try:
        # The appointment and its order only for the Node floor, which has no database.
        auth = {"v": 1, "appointment": booking.appointment_id, "order": booking.order}
        await socket.open(session, port, auth, booking.cookie, within=60)
        await socket.wait_event("state_synced", within=60)
        for attempt in range(1, JOIN_ATTEMPTS + 1):  # as a front end would, after an error
            ack = await socket.call("queue_join", {}, within=60)
            if attempt == JOIN_ATTEMPTS or ack.get("error", {}).get("code") != "internal_error":
                break
            tracker.refused += 1
            await asyncio.sleep(0.5 * attempt)
        joined = expect_ok(ack, "queue_join")
        if joined.get("state") != "waiting":
            raise RuntimeError(f"queue_join: {joined!r}")
        if socket.counts["queue_updated"] == 0:
            waiter.position = int(joined["position"])
    except BaseException:
        await socket.close()
        raise
    return waiter


async def settled(waiting: Sequence[Waiter], within: float) -> bool:
    """Every citizen has been told its true position, and it stayed so for a moment."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if all(w.position == rank + 1 for rank, w in enumerate(waiting)):
            await asyncio.sleep(0.6)  # more than two polls of the lobby: nothing in flight
            if all(w.position == rank + 1 for rank, w in enumerate(waiting)):
                return True
        await asyncio.sleep(0.1)
    return False


async def waiting_phase(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    office: BenchDatabase,
    folder: Path,
    env: dict[str, str],
    stack: contextlib.AsyncExitStack,
    name: str = "ours",
    before: Path | None = None,
    workers: Workers | None = None,
) -> None:
    bookings = await office.book(max(args.waiting) + len(args.waiting))
    (clerk_cookie,) = await office.clerks(1)
    await office.migrate()
    if name == "node":
        server = await Server.start("node-waiting", node_server("waiting"), folder)
    else:
        db = folder / "bench.db"
        server = await start_ours(f"{name}-waiting", folder, db, env, before, workers)
    stack.push_async_callback(server.stop)
    print(f"\nWaiting room, {name} (server pid {server.process.pid}): one clerk takes the head of")
    print("the queue; every other citizen must get queue_updated with its new position.")
    print(
        "waiting  new joined in joins/s  ms CPU/join  retried  srv RSS  kB/sock  take ack"
        "  first ms    p50 ms   p100 ms  within 1 s  srv CPU ms  rest CPU"
    )
    tracker = TakeTracker()
    clerk = Socket("/clerk")
    waiting: list[Waiter] = []
    everyone: list[Socket] = [clerk]
    best: int | None = None
    try:
        await clerk.open(session, server.port, {"v": 1}, clerk_cookie)
        await clerk.wait_event("state_synced")
        _, rss_base = await server.usage(session)
        used = 0
        for size in args.waiting:
            join_cpu, _ = await server.usage(session)
            t0 = time.perf_counter()
            tracker.refused = 0
            fresh = bookings[used : used + size - len(waiting)]
            used += len(fresh)
            joined = await bounded(
                [functools.partial(join, session, server.port, tracker, b) for b in fresh],
                CONNECTS_AT_ONCE,
            )
            joined_in = time.perf_counter() - t0
            join_cpu = (await server.usage(session))[0] - join_cpu
            waiting.extend(w for w in joined if isinstance(w, Waiter))
            everyone.extend(w.socket for w in joined if isinstance(w, Waiter))
            errors = [e for e in joined if not isinstance(e, Waiter)]
            if errors:
                print(f"{size:7d}  {len(errors)} citizens could not join: {errors[0]!r}")
                print(server.log_tail(20))
                break
            if not await settled(waiting, 30 + size / 100):
                wrong = sum(w.position != r + 1 for r, w in enumerate(waiting))
                print(f"{size:7d}  positions did not settle ({wrong} citizens wrong)")
                break
            _, rss = await server.usage(session)

            head, others = waiting[0], waiting[1:]
            for w in others:
                w.expect, w.arrived = w.position - 1, None
            tracker.pending = len(others)
            tracker.done.clear()
            cpu_before, _ = await server.usage(session)
            busy_before, own_before = machine_busy(), own_cpu()
            sent_at = time.perf_counter()
            taken = expect_ok(await clerk.call("queue_next", {}), "queue_next")
            acked = time.perf_counter() - sent_at
            if taken["citizen"]["appointment_id"] != head.booking.appointment_id:
                print(
                    f"{size:7d}  queue_next took {taken['citizen']['appointment_id']}, not the head"
                )
                break
            if others:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(tracker.done.wait(), 10.0)
            cpu_after, _ = await server.usage(session)
            wall = time.perf_counter() - sent_at
            rest = machine_busy() - busy_before - (own_cpu() - own_before)
            rest -= cpu_after - cpu_before
            times = sorted(w.arrived - sent_at for w in others if w.arrived is not None)
            missing = len(others) - len(times)
            worst = f"{'missing ' + str(missing):>9}" if missing else ms(times[-1])
            fast = not missing and (not times or times[-1] <= ONE_SECOND)
            if fast:
                best = size
            print(
                f"{size:7d}  {len(fresh):5d} {joined_in:5.1f} s {len(fresh) / joined_in:7.0f}"
                f"  {join_cpu * 1000 / max(1, len(fresh)):11.1f}  {tracker.refused:7d}"
                f"  {rss / 2**20:4.0f} MB  {(rss - rss_base) / size / 1024:7.0f}"
                f"  {ms(acked)}  {ms(times[0]) if times else '       -'}"
                f"  {ms(percentile(times, 50)) if times else '       -'}  {worst}"
                f"  {'yes' if fast else 'NO':>10}  {(cpu_after - cpu_before) * 1000:10.0f}"
                f"  {max(0.0, rest) / wall:8.0%}"
            )
            # The clerk finishes; the head leaves. The others keep their places.
            await head.socket.wait_event("call_assigned", within=10)
            expect_ok(await clerk.call("call_end", {}), "call_end")
            await head.socket.close()
            waiting = others
            for w in waiting:
                w.expect = 0
    finally:
        await close_all(everyone)
        await server.stop()
    if best is None:
        print("no size had every position update within 1 s")
    else:
        print(f"largest waiting room with every position update within 1 s: {best}")


# -- main ----------------------------------------------------------------------------------


async def needs_redis(workers: Workers) -> None:
    client = Redis.from_url(workers.redis_url)
    try:
        await client.ping()
    except RedisError as error:
        raise SystemExit(
            f"ours×{workers.count} needs Redis at {workers.redis_url} ({error}); "
            "--redis URL names another, --workers 0 leaves it out"
        ) from None
    finally:
        await client.aclose()


async def forget_redis_keys(workers: Workers) -> None:
    """The bench's keys go when it ends: they belong to its servers alone."""
    client = Redis.from_url(workers.redis_url)
    try:
        async for key in client.scan_iter(match=f"{workers.prefix}-*"):
            await client.delete(key)
    finally:
        await client.aclose()


def sizes(text: str) -> list[int]:
    return sorted({int(part) for part in text.split(",") if part.strip()})


def raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=sizes, default=[10, 100, 500], help="relay sizes")
    parser.add_argument("--rate", type=float, default=5.0, help="candidates/s per citizen (≤30)")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each window")
    parser.add_argument(
        "--duration", type=float, default=9.0, help="seconds measured per server and size"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="windows the duration is split into (alternating)"
    )
    parser.add_argument(
        "--waiting", type=sizes, default=[1000, 2000, 5000], help="waiting-room sizes"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier commit whose server also runs, in the same windows",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="also our server as `serve --workers N` with Redis (0: not)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="for --workers")
    args = parser.parse_args()
    if args.workers > 1:
        args.workers = Workers(args.workers, args.redis, f"bench-{secrets.token_hex(4)}")
    else:
        args.workers = None
    if args.before and not (args.before / "signalling" / "app.py").is_file():
        parser.error(f"--before: {args.before} is not a checkout of this project")
    if args.rate <= 0 or args.duration <= 0 or args.warmup < 0 or args.rounds < 1:
        parser.error("--rate, --duration and --rounds must be positive, --warmup not negative")
    raise_open_files_limit()
    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM: clean up (servers, sockets, files) as on Ctrl-C
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print(
        f"Socket.IO signalling benchmark: {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, python-socketio {version('python-socketio')}, "
        f"aiohttp {version('aiohttp')}"
    )
    secret = secrets.token_urlsafe(48)
    env = {**os.environ, "BENCH_SECRET_KEY": secret}
    with tempfile.TemporaryDirectory(prefix="bb-bench-signalling-") as name:
        folder = Path(name)
        async with contextlib.AsyncExitStack() as stack:
            connector = aiohttp.TCPConnector(limit=0)
            session = await stack.enter_async_context(
                aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
            )
            office = BenchDatabase(f"sqlite:///{folder / 'bench.db'}", secret)
            stack.push_async_callback(office.close)
            await office.migrate()
            if args.workers:
                await needs_redis(args.workers)
                stack.push_async_callback(forget_redis_keys, args.workers)
            if args.calls:
                await relay_phase(args, session, office, folder, env, stack)
            if args.waiting and args.before:
                await waiting_phase(
                    args, session, office, folder, env, stack, "before", args.before
                )
            if args.waiting:
                await waiting_phase(args, session, office, folder, env, stack, "node")
                await waiting_phase(args, session, office, folder, env, stack)
                if args.workers:
                    name = f"ours×{args.workers.count}"
                    await waiting_phase(
                        args, session, office, folder, env, stack, name, workers=args.workers
                    )


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted")
