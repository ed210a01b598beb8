"""A whole office in real processes, for failure drills: PostgreSQL and Redis of its
own, two app nodes (``buergerbuero serve``, production mode), nginx in front with
websocket upgrades on ``/socket.io/``, a real SMTP server, and citizens and clerks as
Socket.IO clients that behave like the pages: reconnecting with the browser client's
timing, and joining the waiting room again after a reconnect.

Everything listens on loopback only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from sqlalchemy import func, select

from office.appointments import Appointments
from office.catalogue import Town, load_town
from office.context import Office
from office.db import create_engine, session_factory
from office.mail import MailSettings
from office.migrate import upgrade
from office.models import Appointment, AppointmentStatus, SpecialHours
from office.staff import Staff, WorkingTime
from office.tokens import Audience, Signer
from rooms.redis_store import RedisStore
from tests.helpers.mail import SmtpServer
from tests.helpers.private_servers import PrivatePostgres, PrivateRedis
from tests.helpers.services import REQUIRE_SERVICES, free_port

SECRET = "drill-secret-key-0123456789abcdefghijklmnop"
CAPTURE_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
PUBLIC_URL = "https://drill.test"
PREFIX = "drill"
SERVICE = "meldebescheinigung"
SERVE = Path(sys.executable).with_name("buergerbuero")
ALL_DAY = [WorkingTime(day, datetime.min.time(), datetime.max.time()) for day in range(7)]

NGINX = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
  access_log off;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream office {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 1s;
    proxy_next_upstream error timeout;
    location /socket.io/ {{
      proxy_pass http://office;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 1h;
    }}
    location / {{ proxy_pass http://office; }}
  }}
}}
"""


def _needs(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        message = f"{binary} is not installed; the failure drills need it"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


class Node:
    """One ``buergerbuero serve`` process (with ``workers`` > 1: its supervisor)."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, workers: int = 1) -> None:
        self.name = name
        self.workers = workers
        self.port = free_port()
        self.env = {**env, "BB_PORT": str(self.port), "BB_DATA_DIR": str(folder / name)}
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [str(SERVE), "serve", "--workers", str(self.workers)],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    async def ready(self, within: float = 30.0) -> float:
        """Wait until /readyz answers 200; returns how long that took."""
        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(f"node {self.name} exited:\n{self.tail()}")
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as answer:
                        if answer.status == 200:
                            return time.monotonic() - started
                except aiohttp.ClientError:
                    pass
                if time.monotonic() - started > within:
                    raise AssertionError(f"node {self.name} not ready:\n{self.tail()}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no goodbye to anyone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as a rolling restart does it."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Proxy:
    """nginx in front of the nodes, round robin, websocket upgrades on /socket.io/."""

    def __init__(self, nodes: list[Node], folder: Path) -> None:
        self.binary = _needs("nginx")
        self.port = free_port()
        self.folder = folder / "nginx"
        self.folder.mkdir()
        # max_fails=0: a node is never marked down; a refused connection moves on to
        # the next at once (proxy_next_upstream). Marking it down for fail_timeout
        # kept a restarted node out while its peer went down in turn.
        servers = "\n".join(f"    server 127.0.0.1:{node.port} max_fails=0;" for node in nodes)
        self.config = self.folder / "nginx.conf"
        self.config.write_text(NGINX.format(folder=self.folder, servers=servers, port=self.port))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [self.binary, "-c", str(self.config), "-p", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (self.folder / "nginx.pid").exists():
            assert self.process.poll() is None, (self.folder / "nginx-error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        # Its workers wrote temporary folders as another user: gone now, while this
        # process may still remove them (the browser tests run in a user namespace).
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Client:
    """A citizen's or clerk's page: a Socket.IO client that reconnects like the
    browser's (delay 1 s ± 50 %, up to 5 s) and, as the page does, joins the waiting
    room again when the server says it is waiting."""

    namespace: str
    cookie: str
    name: str
    sio: socketio.AsyncClient = field(init=False)
    http: aiohttp.ClientSession = field(init=False)
    events: dict[str, list[Any]] = field(default_factory=dict)
    disconnected_at: float | None = None
    back_at: float | None = None  # connected again and in its place (or call) after that
    waiting: bool = False

    def __post_init__(self) -> None:
        # The cookie lives in a session of the client's own, as a browser keeps it:
        # python-engineio's client moves a Cookie header into a jar it drops after a
        # lost connection, so a reconnect would come without it.
        name, _, value = self.cookie.partition("=")
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.http.cookie_jar.update_cookies({name: value})
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=1,
            reconnection_delay_max=5,
            randomization_factor=0.5,
            http_session=self.http,
        )
        self.sio.on("*", self._record, namespace=self.namespace)
        self.sio.on("state_synced", self._synced, namespace=self.namespace)
        self.sio.on("disconnect", self._lost, namespace=self.namespace)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.setdefault(event, []).append(data)

    async def _lost(self, *args: Any) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()
            self.back_at = None

    async def _synced(self, data: Any) -> None:
        self.events.setdefault("state_synced", []).append(data)
        state = data.get("state") if isinstance(data, dict) else None
        if self.namespace == "/citizen" and self.waiting and state in ("waiting", "idle"):
            # The page joins again; the place is the appointment's, so it is kept.
            asyncio.get_running_loop().create_task(self._rejoin())
        elif self.disconnected_at is not None:
            self.back_at = time.monotonic()

    async def _rejoin(self) -> None:
        # state_synced comes with the connect, before its answer: a browser's client
        # holds such events back until it is connected; so does this.
        deadline = time.monotonic() + 10
        while self.namespace not in self.sio.namespaces:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.01)
        try:
            ack = await self.call("queue_join")
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return  # lost again meanwhile: the next connect joins again
        if isinstance(ack, dict) and ack.get("ok") and self.disconnected_at is not None:
            self.back_at = time.monotonic()

    async def connect(self, base: str) -> None:
        await self.sio.connect(
            base,
            auth={"v": 1},
            namespaces=[self.namespace],
            transports=["websocket"],
            wait_timeout=10,
        )

    async def call(self, event: str, data: Any = None, within: float = 10) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=within)

    def clear(self) -> None:
        """Forget the last outage (before the next drill step)."""
        self.disconnected_at = None
        self.back_at = None

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.http.close()


class DrillOffice:
    """The whole office; ``async with DrillOffice(folder) as office`` starts it all."""

    def __init__(self, folder: Path, nodes: int = 2, workers: int = 1) -> None:
        self.folder = folder
        self.smtp = SmtpServer()
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis(folder / "redis")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/root"),
            "BB_MODE": "production",
            "BB_HOST": "127.0.0.1",
            "BB_SECRET_KEY": SECRET,
            "BB_CAPTURE_KEY": CAPTURE_KEY,
            "BB_PUBLIC_URL": PUBLIC_URL,
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "BB_REDIS_PREFIX": PREFIX,
            "BB_SMTP_HOST": "127.0.0.1",
            "BB_SMTP_PORT": str(self.smtp.port),
            "BB_SMTP_TLS": "none",
            "BB_MAIL_FROM": "buergerbuero@drill.test",
            "BB_BEHIND_PROXY": "true",
            "BB_SOCKET_CONNECTS_PER_MINUTE": "100000",  # every client is on loopback
            "BB_LOG_LEVEL": "WARNING",
        }
        self.nodes = [Node(name, env, folder, workers) for name in "ab"[:nodes]]
        self.proxy = Proxy(self.nodes, folder)
        self.town: Town = load_town()
        self.clients: list[Client] = []
        self._engine = create_engine(self.postgres.url)
        self.sessions = session_factory(self._engine)
        self.signer = Signer(SECRET)
        self.desk = Appointments(
            Office(
                self.town, self.sessions, self.signer, MailSettings("x@drill.test", PUBLIC_URL, 7)
            )
        )
        self.staff = Staff(self.sessions, require_second_factor=False)
        self.store: RedisStore | None = None

    async def __aenter__(self) -> DrillOffice:
        self.smtp.__enter__()
        self.postgres.init()
        self.postgres.start()
        self.redis.start()
        await upgrade(self._engine)
        for node in self.nodes:
            node.start()
        await asyncio.gather(*(node.ready() for node in self.nodes))
        self.proxy.start()
        self.store = RedisStore.from_url(self.redis.url, PREFIX)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients:
            await client.close()
        for node in self.nodes:
            node.stop()
        self.proxy.stop()
        if self.store is not None:
            await self.store.close()
        await self._engine.dispose()
        self.redis.stop()
        self.postgres.remove()
        self.smtp.__exit__(None, None, None)

    # -- people --------------------------------------------------------------------------

    async def clerks(self, count: int) -> list[str]:
        """Clerks on duty around the clock (and the office open today and the next two
        days); returns their session cookies."""
        today = datetime.now(self.town.tz).date()
        async with self.sessions() as session, session.begin():
            for offset in range(3):
                session.add(
                    SpecialHours(
                        day=today + timedelta(days=offset),
                        start=datetime.min.time(),
                        end=datetime.max.time().replace(microsecond=0),
                        note="drill",
                    )
                )
        cookies = []
        for n in range(count):
            clerk = await self.staff.create(
                f"clerk{n}",
                f"Clerk {n}",
                "correct horse battery",
                skills=["meldewesen"],
                hours=ALL_DAY,
            )
            cookies.append(f"bb_staff={await self.staff.open_session(clerk.id)}")
        return cookies

    async def appointments(self, count: int) -> list[Appointment]:
        """Appointments whose check-in is open now, a few seconds apart (their order)."""
        now = datetime.now(UTC)
        rows = []
        async with self.sessions() as session, session.begin():
            for n in range(count):
                starts = now + timedelta(minutes=5, seconds=n)
                row = Appointment(
                    id=str(uuid.uuid4()),
                    reference=f"DRILL{n:03d}",
                    service_id=SERVICE,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=10),
                    status=AppointmentStatus.BOOKED,
                    language="de",
                    name=f"Citizen {n}",
                    email=f"c{n}@drill.test",
                    token_id=uuid.uuid4().hex[:16],
                    created_at=now,
                )
                session.add(row)
                rows.append(row)
        return rows

    def citizen(self, appointment: Appointment) -> Client:
        token = self.desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)
        client = Client("/citizen", f"bb_termin={token}", appointment.reference)
        self.clients.append(client)
        return client

    def clerk(self, cookie: str, n: int) -> Client:
        client = Client("/clerk", cookie, f"clerk{n}")
        self.clients.append(client)
        return client

    # -- what is true --------------------------------------------------------------------

    async def waiting_order(self) -> list[str]:
        assert self.store is not None
        return [t.appointment_id for t in await self.store.waiting()]

    async def calls(self) -> dict[str, int]:
        assert self.store is not None
        return {c.appointment_id: c.clerk_id for c in await self.store.calls()}

    async def appointment_rows(self) -> dict[str, tuple[str, bool]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Appointment))).all()
        return {a.id: (str(a.status), a.call_started_at is not None) for a in rows}

    async def count(self, model: Any) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as took:`` … ``took[0]`` is the seconds it took."""
    took: list[float] = []
    started = time.monotonic()
    yield took
    took.append(time.monotonic() - started)
