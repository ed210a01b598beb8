"""Benchmark: ten capture peers on one node, against signalling relay latency and the
guidance's round trip.

Issue 11's targets: ten capture peers at 15 frames/s raise the signalling relay's p90
at most 2x against none, and the guidance's look at the newest frame comes back
within 250 ms (p90). Run: ``.venv/bin/python bench/capture_load.py`` (about a minute and a half
on 2 cores). Figures are printed, never asserted (the two targets as MET or MISSED).
Everything runs on 127.0.0.1, in one run, so the ratios compare like with like.

Three processes (plus this one, and the server's media workers):

- the server (``bench/capture_children.py server``): the real app, production mode,
  SQLite, memory room store, a fixed clock, as in ``bench/signalling_load.py``; only here,
  the capture peers may use loopback ICE candidates. The capture peers live in its
  media worker processes (``--capture-workers``, 0: one per core), all started before
  the first window: aiortc decodes the video there, and there the guidance's look
  converts the newest frame and runs the quick document analysis.
- the senders (``bench/capture_children.py senders``): ``--captures`` aiortc peers
  standing in for the citizens' browsers, each sending a 1280x720 VP8 camera at
  ``--fps`` frames/s (15, what the citizen's page asks for, as the target says) that
  shows an ID card specimen (encoded once at start-up and replayed, so
  the senders cost little and nothing of it counts against the server).
- this process: the load generator of ``bench/signalling_load.py`` (its lean Socket.IO
  client, ``BenchDatabase``, ``open_our_pair`` and ``run_relay`` are reused). It sets up
  ``--relay-calls`` calls that only relay, and ``--captures`` calls whose clerk starts
  the identity check and whose citizen consents; for those, the citizen socket sends
  ``capture_offer`` with the sender's offer and hands the answer back, so a media
  worker receives and decodes the video, and the server's capture desk asks it for a
  look at the newest frame about twice a second per capture.

Relay latency: every relay citizen sends an acked ``rtc_candidate`` at ``--rate`` a
second; the clerk's socket timestamps its arrival (one way, both ends in this
process). Per round, one window in each condition, alternating:

1. ``none``: no capture peer (the capture calls are in their check, but send nothing;
   the media workers run, idle);
2. ``captures``: all capture peers streaming, guidance running as in production.

Printed per condition: relayed msg/s, one-way p50/p90/p99, the server process's CPU
and how it splits: the event loop thread, the default executor's threads, and the
rest (native threads of libraries, and threads that ended). Then the media workers'
CPU (all of them together), the senders' and this generator's CPU, the rest of the
machine (other processes: if that is high, the latencies are not worth much). A
second table: frames/s sent and received per capture, how far the workers are
behind the video, resident memory of the server and of the workers, and the
guidance's looks: per second, and the round trip the desk waits for
(``CaptureWorkers.look``, timed in the server) p50/p90/max. Finally the p90 and p50
ratios, captures over none, and the two targets.

``--py-spy PATH`` (a py-spy binary) dumps the server's and its media workers' threads
once, in the middle of the first ``captures`` window, and prints the dump at the end.

Tail latency on shared VMs is noisy: compare p99 only as a ratio within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
from signalling_load import (
    CLOCK_TICKS,
    NOW,
    ORIGIN,
    BenchDatabase,
    Pair,
    RelayResult,
    RelaySample,
    Server,
    close_all,
    expect_ok,
    machine_busy,
    ms,
    open_our_pair,
    own_cpu,
    percentile,
    raise_open_files_limit,
    run_relay,
)

CHILDREN = Path(__file__).resolve().with_name("capture_children.py")
SAMPLES = Path(__file__).resolve().parents[2] / "shared/data/id-samples"
DEFAULT_CARD = SAMPLES / "deu_idcard_2021_back.png"
NONE, CAPTURES = "none", "captures"
THREAD_GROUPS = ("loop", "executor")
RELAY_P90_RATIO = 2.0  # the targets
LOOK_P90_MS = 250.0


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of another process, 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# -- child processes -----------------------------------------------------------------------


async def start_server(
    folder: Path, db: str, env: dict[str, str], max_captures: int, workers: int
) -> tuple[Server, Path]:
    log = folder / "server.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILDREN),
            "server",
            "--origin",
            ORIGIN,
            "--db",
            db,
            "--now",
            NOW.isoformat(),
            "--max-captures",
            str(max_captures),
            "--capture-workers",
            str(workers),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
            env=env,
        )
    server = Server("server", process, (0, 0), log)
    try:
        assert process.stdout is not None
        # READY comes after every media worker started (each up to a minute, one at a
        # time, on a busy machine).
        line = (await asyncio.wait_for(process.stdout.readline(), 180)).decode().split()
        if len(line) != 3 or line[0] != "READY":
            raise RuntimeError("the server did not start")
    except BaseException:
        await server.stop()
        print(server.log_tail(), file=sys.stderr)
        raise
    server.port, server.control_port = int(line[1]), int(line[2])
    return server, log


async def server_stats(
    session: aiohttp.ClientSession, server: Server, since: int | None = None
) -> dict[str, Any]:
    """The server's figures; with ``since``, the look times from the ``since``-th on."""
    query = "" if since is None else f"?since={since}"
    async with session.get(f"http://127.0.0.1:{server.control_port}/stats{query}") as response:
        response.raise_for_status()
        data: dict[str, Any] = await response.json()
        return data


class SenderProcess:
    """The child that runs the citizens' aiortc peers; JSON lines both ways."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.info: dict[str, Any] = {}
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._last_id = 0
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, folder: Path, card: Path, fps: int, env: dict[str, str]) -> SenderProcess:
        log = folder / "senders.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(CHILDREN),
                "senders",
                "--card",
                str(card),
                "--fps",
                str(fps),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=sink,
                env=env,
                limit=2**20,
            )
        senders = cls(process, log)
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            senders.info = json.loads(line) if line else {}
            if not senders.info.get("ready"):
                raise RuntimeError("the senders did not start")
        except BaseException:
            await senders.stop()
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        senders._reader = asyncio.create_task(senders._read())
        return senders

    async def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            while line := await self.process.stdout.readline():
                reply = json.loads(line)
                future = self._pending.pop(int(reply["id"]), None)
                if future is not None and not future.done():
                    future.set_result(reply)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the senders process ended"))

    async def request(self, op: str, within: float = 30.0, **data: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self._last_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._last_id] = future
        line = json.dumps({"id": self._last_id, "op": op, **data}) + "\n"
        self.process.stdin.write(line.encode())
        await self.process.stdin.drain()
        reply = await asyncio.wait_for(future, within)
        if "error" in reply:
            raise RuntimeError(f"senders: {op} failed: {reply['error']}")
        return reply

    def cpu(self) -> float:
        return process_cpu(self.process.pid)

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.terminate()
                try:
                    await asyncio.wait_for(self.process.wait(), 5)
                except TimeoutError:
                    self.process.kill()
                    await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader


# -- capture calls -------------------------------------------------------------------------


async def open_capture_call(
    session: aiohttp.ClientSession, port: int, booking: Any, clerk_cookie: str
) -> Pair:
    """A call whose clerk started the identity check and whose citizen consented."""
    pair = await open_our_pair(session, port, booking, clerk_cookie)
    try:
        start = {"document_type": "id_card"}
        expect_ok(await pair.clerk.call("verification_start", start), "verification_start")
        await pair.citizen.wait_event("verification_consent_requested")
        ack = await pair.citizen.call("verification_consent", {})
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            raise RuntimeError(f"verification_consent was refused: {ack!r}")
    except BaseException:
        await close_all([pair.citizen, pair.clerk])
        raise
    return pair


async def start_capture(senders: SenderProcess, k: int, pair: Pair) -> None:
    offer = await senders.request("offer", k=k)
    ack = await pair.citizen.call("capture_offer", {"sdp": offer["sdp"]}, within=30)
    answer = expect_ok(ack, "capture_offer")
    await senders.request("answer", k=k, sdp=answer["sdp"])


async def start_captures(
    session: aiohttp.ClientSession,
    server: Server,
    senders: SenderProcess,
    pairs: Sequence[Pair],
    within: float = 30.0,
) -> float:
    """Every capture peer connected and its frames arriving; returns the seconds it took."""
    started = time.perf_counter()
    await asyncio.gather(*(start_capture(senders, k, pair) for k, pair in enumerate(pairs)))
    first: dict[str, int] | None = None
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        frames: dict[str, int] = (await server_stats(session, server))["frames"]
        if first is None and len(frames) == len(pairs) and all(frames.values()):
            first = frames
        elif first is not None and all(frames.get(k, 0) > n for k, n in first.items()):
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    raise RuntimeError(f"the capture peers did not all send frames within {within:g} s")


async def stop_captures(
    session: aiohttp.ClientSession,
    server: Server,
    senders: SenderProcess,
    pairs: Sequence[Pair],
) -> None:
    async def stop(k: int, pair: Pair) -> None:
        expect_ok(await pair.clerk.call("capture_stop", {}), "capture_stop")
        await senders.request("close", k=k)

    await asyncio.gather(*(stop(k, pair) for k, pair in enumerate(pairs)))
    for _ in range(75):  # at most 15 s until the workers have closed every session
        stats = await server_stats(session, server)
        # Looks still queued on a worker's guidance thread would finish in the next
        # "none" window: it starts when the last one is answered.
        if not stats["frames"] and not stats["looks"]["in_flight"]:
            break
        await asyncio.sleep(0.2)


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Loads:
    """CPU seconds per wall second, and capture figures, over the measured brackets."""

    wall: float = 0.0
    server: float = 0.0  # the server process alone
    threads: dict[str, float] = field(default_factory=dict)
    workers: float = 0.0  # the media workers, all together
    senders: float = 0.0
    generator: float = 0.0
    rest: float = 0.0
    frames: int = 0  # decoded frames the workers' capture sessions took from their tracks
    sent: int = 0  # frames the senders handed to aiortc
    capture_seconds: float = 0.0  # captures x wall seconds
    backlog: int = 0  # sent but not yet taken by the workers, at the end of the worst window
    rss: int = 0  # the server's resident memory, the most at the end of a window
    workers_rss: int = 0  # the workers' together, likewise
    looks: list[float] = field(default_factory=list)  # ms, each guidance look's round trip
    empty_looks: int = 0  # answered without a look: no frame yet, or the session had gone
    failed_looks: int = 0


@dataclass
class Snapshot:
    at: float
    stats: dict[str, Any]
    senders: float
    sent: dict[str, int]
    generator: float
    busy: float

    @classmethod
    async def take(
        cls,
        session: aiohttp.ClientSession,
        server: Server,
        senders: SenderProcess,
        since: int | None = None,
    ) -> Snapshot:
        stats = await server_stats(session, server, since)
        sent: dict[str, int] = (await senders.request("stats"))["sent"]
        return cls(time.perf_counter(), stats, senders.cpu(), sent, own_cpu(), machine_busy())


def workers_cpu(before: Snapshot, after: Snapshot) -> float:
    """The media workers' CPU between two snapshots, per worker: one that started
    meanwhile counts from 0, one that ended meanwhile loses its share to "rest"."""
    was: dict[str, dict[str, float]] = before.stats["workers"]
    now: dict[str, dict[str, float]] = after.stats["workers"]
    return sum(
        max(0.0, usage["cpu"] - was.get(pid, {"cpu": 0.0})["cpu"]) for pid, usage in now.items()
    )


def add_loads(loads: Loads, before: Snapshot, after: Snapshot) -> None:
    wall = after.at - before.at
    server = after.stats["cpu"] - before.stats["cpu"]
    workers = workers_cpu(before, after)
    senders = after.senders - before.senders
    generator = after.generator - before.generator
    loads.wall += wall
    loads.server += server
    loads.workers += workers
    loads.senders += senders
    loads.generator += generator
    loads.rest += max(0.0, after.busy - before.busy - server - workers - senders - generator)
    named = 0.0
    for group in (*THREAD_GROUPS, "other_py"):
        # Threads that ended meanwhile lose their CPU here; it shows under "rest".
        spent = max(
            0.0, after.stats["threads"].get(group, 0.0) - before.stats["threads"].get(group, 0.0)
        )
        named += spent
        if group in THREAD_GROUPS:
            loads.threads[group] = loads.threads.get(group, 0.0) + spent
    loads.threads["rest"] = loads.threads.get("rest", 0.0) + max(0.0, server - named)
    frames_before: dict[str, int] = before.stats["frames"]
    frames_after: dict[str, int] = after.stats["frames"]
    common = frames_before.keys() & frames_after.keys()
    loads.frames += sum(frames_after[k] - frames_before[k] for k in common)
    loads.capture_seconds += len(common) * wall
    peers = before.sent.keys() & after.sent.keys()
    loads.sent += sum(after.sent[k] - before.sent[k] for k in peers)
    if after.sent:  # both count from the start of this round's peers
        loads.backlog = max(loads.backlog, sum(after.sent.values()) - sum(frames_after.values()))
    loads.rss = max(loads.rss, int(after.stats["rss"]))
    loads.workers_rss = max(
        loads.workers_rss, sum(int(w["rss"]) for w in after.stats["workers"].values())
    )
    l0, l1 = before.stats["looks"], after.stats["looks"]
    loads.looks.extend(l1["ms"])  # the looks that finished since ``before``
    loads.empty_looks += l1["empty"] - l0["empty"]
    loads.failed_looks += l1["failed"] - l0["failed"]


@dataclass
class Condition:
    name: str
    samples: list[RelaySample] = field(default_factory=list)
    loads: Loads = field(default_factory=Loads)


async def measure(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    server: Server,
    senders: SenderProcess,
    relay_pairs: Sequence[Pair],
    condition: Condition,
    during: asyncio.Task[Any] | None = None,
) -> None:
    before = await Snapshot.take(session, server, senders)
    sample = await run_relay(session, server, relay_pairs, args.rate, args.warmup, args.window)
    since = before.stats["looks"]["count"]
    after = await Snapshot.take(session, server, senders, since)
    if during is not None:
        await during
    condition.samples.append(sample)
    add_loads(condition.loads, before, after)


async def py_spy_dump(binary: str, pid: int, delay: float) -> str:
    await asyncio.sleep(delay)
    process = await asyncio.create_subprocess_exec(
        binary,
        "dump",
        "--pid",
        str(pid),
        "--subprocesses",  # the media workers: where the video is decoded and looked at
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return out.decode(errors="replace")


# -- printing ------------------------------------------------------------------------------


def pct(value: float) -> str:
    return f"{value:7.0%}"


def ratio(loaded: float, base: float) -> float:
    return loaded / base if base > 0 else float("nan")


def print_table(conditions: Sequence[Condition], captures: int, fps_sent: int) -> None:
    print(
        "\ncondition   msg/s   p50 ms   p90 ms   p99 ms  lost  srv CPU     loop executor"
        "     rest  workers  senders  gen CPU  rest CPU"
    )
    for c in conditions:
        r, lo = RelayResult.of(c.samples), c.loads
        wall = max(lo.wall, 1e-9)
        threads = [lo.threads.get(g, 0.0) / wall for g in (*THREAD_GROUPS, "rest")]
        problems = f"  {'; '.join(r.problems)}" if r.problems else ""
        print(
            f"{c.name:<10} {r.rate:6.0f} {ms(r.p50)} {ms(r.p90)} {ms(r.p99)} {r.lost:5d}"
            f"  {pct(lo.server / wall)}  {'  '.join(pct(t) for t in threads)}"
            f"  {pct(lo.workers / wall)}  {pct(lo.senders / wall)}  {pct(lo.generator / wall)}"
            f"  {pct(lo.rest / wall):>8}{problems}"
        )
    print(
        "\ncondition   frames/s per capture   behind  srv RSS  workers RSS  looks/s"
        "  look ms p50 / p90 / max  no look"
    )
    for c in conditions:
        lo = c.loads
        wall = max(lo.wall, 1e-9)
        fps = lo.frames / lo.capture_seconds if lo.capture_seconds else 0.0
        sent = lo.sent / lo.capture_seconds if lo.capture_seconds else 0.0
        behind = lo.backlog / captures / fps_sent if lo.capture_seconds else 0.0
        timings = (
            f"{percentile(lo.looks, 50):7.0f} / {percentile(lo.looks, 90):5.0f}"
            f" / {max(lo.looks):5.0f}"
            if lo.looks
            else f"{'-':>7} / {'-':>5} / {'-':>5}"
        )
        print(
            f"{c.name:<10} {sent:6.1f} sent {fps:5.1f} taken {behind:6.1f} s"
            f"  {lo.rss / 2**20:4.0f} MB  {lo.workers_rss / 2**20:8.0f} MB"
            f"  {len(lo.looks) / wall:7.1f}  {timings:>24}  {lo.empty_looks:4d} empty,"
            f" {lo.failed_looks} failed"
        )
    base = RelayResult.of(conditions[0].samples)
    loaded = RelayResult.of(conditions[1].samples)
    p90_ratio = ratio(loaded.p90, base.p90)
    print(
        f"\n{captures} capture peers vs none: relay p90 {ms(base.p90).strip()} -> "
        f"{ms(loaded.p90).strip()} ms = {p90_ratio:.2f}x, p50 {ms(base.p50).strip()} -> "
        f"{ms(loaded.p50).strip()} ms = {ratio(loaded.p50, base.p50):.2f}x, "
        f"p99 {ratio(loaded.p99, base.p99):.2f}x"
    )
    looks = conditions[1].loads.looks
    look_p90 = percentile(looks, 90) if looks else float("nan")
    met = "MET" if p90_ratio <= RELAY_P90_RATIO else "MISSED"
    print(f"relay p90 ratio <= {RELAY_P90_RATIO:g}x: {met} ({p90_ratio:.2f})")
    met = "MET" if look_p90 <= LOOK_P90_MS else "MISSED"  # no look at all: MISSED
    print(f"guidance look p90 <= {LOOK_P90_MS:g} ms: {met} ({look_p90:.0f} ms)")


# -- main ----------------------------------------------------------------------------------


async def run(args: argparse.Namespace, folder: Path, stack: contextlib.AsyncExitStack) -> None:
    secret = secrets.token_urlsafe(48)
    env = {**os.environ, "BENCH_SECRET_KEY": secret}
    session = await stack.enter_async_context(
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
        )
    )
    office = BenchDatabase(f"sqlite:///{folder / 'bench.db'}", secret)
    stack.push_async_callback(office.close)
    await office.migrate()
    calls = args.relay_calls + args.captures
    bookings = await office.book(calls)
    clerk_cookies = await office.clerks(calls)
    await office.migrate()  # again: the server refuses a schema behind the code's head

    senders_task = asyncio.create_task(SenderProcess.start(folder, args.card, args.fps, env))
    server, _ = await start_server(
        folder, str(folder / "bench.db"), env, args.captures, args.capture_workers
    )
    stack.push_async_callback(server.stop)
    senders = await senders_task
    stack.push_async_callback(senders.stop)
    info = senders.info
    workers = sorted((await server_stats(session, server))["workers"])
    print(
        f"server pid {server.process.pid}, its media workers {', '.join(workers) or 'none'},"
        f" senders pid {senders.process.pid}; the camera loop: 1280x720 VP8 at {args.fps} frames/s,"
        f" {info['kbit_s']} kbit/s, key frame {info['key_bytes'] // 1000} kB every 2 s"
        f" (encoded once in {info['encode_s']} s)"
    )

    relay_pairs: list[Pair] = []
    capture_pairs: list[Pair] = []
    stack.push_async_callback(
        lambda: close_all([s for p in relay_pairs + capture_pairs for s in (p.citizen, p.clerk)])
    )
    for k in range(args.relay_calls):
        relay_pairs.append(await open_our_pair(session, server.port, bookings[k], clerk_cookies[k]))
    for k in range(args.relay_calls, calls):
        capture_pairs.append(
            await open_capture_call(session, server.port, bookings[k], clerk_cookies[k])
        )
    print(
        f"{args.relay_calls} relay calls (acked rtc_candidate, {args.rate:g}/s per citizen) and"
        f" {args.captures} calls in an identity check, set up."
    )
    conditions = [Condition(NONE), Condition(CAPTURES)]
    print(
        f"{args.rounds} rounds of one {args.window:g} s window per condition (each after"
        f" {args.warmup:g} s warm-up); capture peers settle {args.settle:g} s before measuring."
    )
    dump = ""
    for round_ in range(args.rounds):
        await measure(args, session, server, senders, relay_pairs, conditions[0])
        took = await start_captures(session, server, senders, capture_pairs)
        print(f"  round {round_ + 1}: {args.captures} capture peers streaming after {took:.1f} s")
        await asyncio.sleep(args.settle)
        spy = None
        if args.py_spy and round_ == 0:
            spy = asyncio.create_task(
                py_spy_dump(args.py_spy, server.process.pid, args.warmup + args.window / 2)
            )
        await measure(args, session, server, senders, relay_pairs, conditions[1], spy)
        if spy is not None:
            dump = spy.result()
        stats = await senders.request("stats")
        bad = {k: s for k, s in stats["states"].items() if s != "connected"}
        if bad:
            print(f"  round {round_ + 1}: capture peers not connected: {bad}")
        await stop_captures(session, server, senders, capture_pairs)
    print_table(conditions, args.captures, args.fps)
    for log in (server.log, senders.log):
        lines = log.read_text(errors="replace").splitlines()
        if lines:
            print(f"\n{log.name}: {len(lines)} lines of warnings and errors; the last ones:")
            print("\n".join(line[:300] for line in lines[-12:]))
    if dump:
        print(
            "\npy-spy dump of the server and its media workers in the middle of the first"
            " captures window:\n"
        )
        print(dump)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--captures", type=int, default=10, help="concurrent capture peers")
    parser.add_argument("--relay-calls", type=int, default=10, help="calls that only relay")
    parser.add_argument("--rate", type=float, default=5.0, help="candidates/s per citizen (≤30)")
    parser.add_argument("--rounds", type=int, default=3, help="windows per condition")
    parser.add_argument("--window", type=float, default=8.0, help="seconds measured per window")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each window")
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds after capture peers start streaming"
    )
    parser.add_argument("--card", type=Path, default=DEFAULT_CARD, help="ID specimen image")
    parser.add_argument(
        "--fps", type=int, default=15, help="frames/s per camera (the page asks for 15)"
    )
    parser.add_argument(
        "--capture-workers",
        type=int,
        default=0,
        help="the server's media worker processes (0: one per core)",
    )
    parser.add_argument(
        "--py-spy", metavar="PATH", help="py-spy binary: dump the server and its workers once"
    )
    args = parser.parse_args()
    if args.captures < 1 or args.relay_calls < 1 or args.rounds < 1:
        parser.error("--captures, --relay-calls and --rounds must be at least 1")
    if args.capture_workers < 0:
        parser.error("--capture-workers must not be negative (0: one per core)")
    if args.rate <= 0 or args.window <= 0 or args.warmup < 0 or args.settle < 0:
        parser.error("--rate and --window must be positive, --warmup and --settle not negative")
    if not args.card.exists():
        parser.error(f"the specimen {args.card} is not there (--card)")
    raise_open_files_limit()
    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM: clean up (processes, sockets, files) as on Ctrl-C
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print(
        f"Capture load benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]},"
        f" aiortc {version('aiortc')}, av {version('av')}, python-socketio"
        f" {version('python-socketio')}; {args.captures} capture peers, card {args.card.name}"
    )
    with tempfile.TemporaryDirectory(prefix="bb-bench-capture-") as name:
        async with contextlib.AsyncExitStack() as stack:
            await run(args, Path(name), stack)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted")
