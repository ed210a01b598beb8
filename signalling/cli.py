"""The ``buergerbuero`` command: serve, migrate, seed-demo, clerk …, purge."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import getpass
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import time
from typing import TypeVar

import uvloop
from aiohttp import web

from office import retention
from office.catalogue import TownConfigError
from office.context import Office
from office.db import create_engine, session_factory
from office.errors import OfficeError
from office.migrate import upgrade
from office.models import Role
from office.record_retention import purge_records
from office.staff import Staff, WorkingTime
from signalling import logs, supervisor
from signalling.access_log import AccessLogger
from signalling.app import create_app, town_for
from signalling.demo import announce, prepare_demo, seed_demo
from signalling.keys import CAPTURES
from signalling.office_parts import office_for, staff_for
from signalling.settings import Settings

T = TypeVar("T")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?\s+(\d\d:\d\d)-(\d\d:\d\d)$"
)


def parse_hours(spec: str) -> list[WorkingTime]:
    """'mon-fri 08:00-16:00' → one WorkingTime per day."""
    match = _HOURS.fullmatch(spec.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"working hours like 'mon-fri 08:00-16:00', not {spec!r}")
    first, last, start, end = match.groups()
    days = range(_DAYS.index(first), _DAYS.index(last or first) + 1)
    return [WorkingTime(d, time.fromisoformat(start), time.fromisoformat(end)) for d in days]


def _run(settings: Settings, work: Callable[[Staff, Office], Awaitable[T]]) -> T:
    """Run one piece of work against the configured database, then close it."""

    async def main() -> T:
        engine = create_engine(settings.database())
        try:
            sessions = session_factory(engine)
            town = town_for(settings)
            return await work(
                staff_for(settings, sessions, town), office_for(settings, sessions, town)
            )
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def freeze_heap(app: web.Application) -> None:
    """Move everything alive after start-up out of the garbage collector's sight.

    The app holds a few hundred thousand long-lived objects (templates, models,
    libraries); without this, every full collection walks them all and stalls the
    event loop for 100 ms or more, which shows as relay latency spikes.
    """
    gc.collect()
    gc.freeze()


async def start_capture_workers(app: web.Application) -> None:
    """Start the media workers with the node (a few seconds each: aiortc, OpenCV and
    onnxruntime load), not when the first citizen's camera connects."""
    await app[CAPTURES].workers.start()


def serve_node(settings: Settings, reuse_port: bool, index: int = 0) -> None:
    """One node: the web server, its sockets and its media workers, until SIGTERM
    (``index`` is the supervisor's number for a worker; every worker is alike)."""
    app = create_app(settings)
    app.on_startup.append(start_capture_workers)
    demo = settings.demo and index == 0  # one demo appointment, whatever the workers
    if demo:
        app.on_startup.append(prepare_demo)
    app.on_startup.append(freeze_heap)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        access_log_class=AccessLogger,
        print=functools.partial(announce, app) if demo else None,
        # libuv's loop: a quarter less CPU per relayed message than asyncio's own
        # (bench/signalling_load.py), the same asyncio interface.
        loop=uvloop.new_event_loop(),
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    count = args.workers or settings.worker_count()
    if count > 1 and not settings.redis_url:
        print(
            "several workers need REDIS_URL: they share the waiting rooms, calls and "
            "messages through Redis (without it, run one: --workers 1)",
            file=sys.stderr,
        )
        return 2
    where = f"http://{settings.host}:{settings.port}"
    processes = f", {count} workers" if count > 1 else ""
    print(f"Bürgerbüro on {where} ({settings.mode.value} mode{processes})", flush=True)
    if count == 1:
        serve_node(settings, reuse_port=False)
        return 0
    return supervisor.supervise(
        count, functools.partial(serve_node, settings.for_worker(count), True)
    )


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def main() -> None:
        if settings.database().startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.database())
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(main())
    print("database is at the current schema")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.demo:
        print("seed-demo only runs with BB_MODE=demo", file=sys.stderr)
        return 2
    cmd_migrate(settings, args)
    for line in _run(settings, lambda staff, office: seed_demo(staff, office)):
        print(line)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Passwort: ")
    if first != getpass.getpass("Passwort wiederholen: "):
        raise SystemExit("Die Passwörter stimmen nicht überein.")
    return first


def cmd_clerk_add(settings: Settings, args: argparse.Namespace) -> int:
    password = _password(args)
    hours = [h for spec in args.hours for h in spec]
    clerk = _run(
        settings,
        lambda staff, office: staff.create(
            args.username,
            args.name or args.username,
            password,
            role=Role(args.role),
            skills=args.skills.split(",") if args.skills else (),
            hours=hours,
        ),
    )
    print(f"created {clerk.role} {clerk.username} (id {clerk.id})")
    return 0


def cmd_clerk_list(settings: Settings, args: argparse.Namespace) -> int:
    for clerk in _run(settings, lambda staff, office: staff.all()):
        skills = ",".join(sorted(s.skill for s in clerk.skills)) or "-"
        factor = "2FA" if clerk.totp_enabled else "no 2FA"
        state = "active" if clerk.active else "inactive"
        print(
            f"{clerk.id:>4}  {clerk.username:<20} {clerk.role:<6} {state:<8} {factor:<7} {skills}"
        )
    return 0


def cmd_clerk_reset_2fa(settings: Settings, args: argparse.Namespace) -> int:
    _run(settings, lambda staff, office: staff.reset_second_factor(args.username))
    print(f"second factor of {args.username} reset: they enrol again at the next login")
    return 0


def cmd_clerk_set(settings: Settings, args: argparse.Namespace) -> int:
    clerk = _run(
        settings,
        lambda staff, office: staff.set_access(
            args.username,
            role=Role(args.role) if args.role else None,
            skills=[s for s in args.skills.split(",") if s] if args.skills is not None else None,
            active={"yes": True, "no": False}.get(args.active or ""),
        ),
    )
    skills = ",".join(sorted(s.skill for s in clerk.skills)) or "-"
    state = "active" if clerk.active else "inactive"
    print(f"{clerk.username}: {clerk.role}, {state}, skills {skills}; every session ended")
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    count = _run(settings, lambda staff, office: retention.purge(office, settings.retention_days))
    print(f"erased personal data of {count} appointment(s)")
    rules = settings.record_retention()
    counts = _run(settings, lambda staff, office: purge_records(office, rules))
    print(", ".join(f"{what}: {n}" for what, n in counts.items()) + " past their periods")
    return 0


def cmd_analyse(settings: Settings, args: argparse.Namespace) -> int:
    from media.cli_analyse import main as analyse  # OpenCV and the OCR model load only here

    return analyse(list(args.images), bool(args.json))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="buergerbuero", description="Virtuelles Bürgerbüro")
    commands = top.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument(
        "--workers",
        type=int,
        choices=range(1, 65),
        metavar="N",
        help="server processes on the port, each a node (default BB_WORKERS: one per core "
        "with Redis, else one)",
    )
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    commands.add_parser("seed-demo", help="demo data: clerks, hours including today").set_defaults(
        func=cmd_seed_demo
    )
    commands.add_parser("purge", help="erase personal data past the retention period").set_defaults(
        func=cmd_purge
    )
    analyse = commands.add_parser("analyse", help="analyse ID document images (support)")
    analyse.add_argument("images", nargs="+", metavar="IMAGE")
    analyse.add_argument("--json", action="store_true", help="one JSON object per image")
    analyse.set_defaults(func=cmd_analyse)
    clerk = commands.add_parser("clerk", help="staff accounts").add_subparsers(
        dest="action", required=True
    )
    add = clerk.add_parser("add", help="create a clerk or admin")
    add.add_argument("username")
    add.add_argument("--name", help="display name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.CLERK.value)
    add.add_argument("--skills", default="", help="comma-separated, e.g. meldewesen,beratung")
    add.add_argument(
        "--hours",
        type=parse_hours,
        action="append",
        default=[],
        help="working time like 'mon-fri 08:00-16:00' (repeatable)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_clerk_add)
    clerk.add_parser("list", help="list accounts").set_defaults(func=cmd_clerk_list)
    change = clerk.add_parser("set", help="change role, skills or activity (ends all sessions)")
    change.add_argument("username")
    change.add_argument("--role", choices=[r.value for r in Role])
    change.add_argument("--skills", help="comma-separated; replaces the skills ('' for none)")
    change.add_argument("--active", choices=["yes", "no"], help="no: the account cannot log in")
    change.set_defaults(func=cmd_clerk_set)
    reset = clerk.add_parser("reset-2fa", help="forget a clerk's authenticator")
    reset.add_argument("username")
    reset.set_defaults(func=cmd_clerk_reset_2fa)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    try:
        result: int = args.func(settings, args)
    except TownConfigError as exc:
        print(f"town configuration: {exc}", file=sys.stderr)
        return 2
    except OfficeError as exc:
        print(
            exc.message if not getattr(exc, "fields", None) else "; ".join(exc.fields.values()),  # type: ignore[attr-defined]
            file=sys.stderr,
        )
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
