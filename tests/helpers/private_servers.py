"""Redis and PostgreSQL servers of a test's own, to stop, kill and restart.

The suite's shared servers (6379, 5432) must never be restarted: other tests run
beside (``pytest -n 2``). These run on free ports with their data in a temporary
folder, and go with the test. PostgreSQL's tools refuse to run as root, so they run
as the ``postgres`` user when the tests run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers.services import REQUIRE_SERVICES, free_port


def _missing(what: str) -> None:
    message = f"{what} is not installed; the failure drills need it"
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _wait(check: object, what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up within {within} s")
        time.sleep(0.05)


class PrivateRedis:
    """A redis-server that keeps nothing on disk (as in production)."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server") or ""
        if not self.binary:
            _missing("redis-server")
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cli = shutil.which("redis-cli") or "redis-cli"

        def answers() -> bool:
            ping = [cli, "-p", str(self.port), "ping"]
            done = subprocess.run(ping, capture_output=True, check=False)  # noqa: S603
            return done.stdout.strip() == b"PONG"

        _wait(answers, "redis-server")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.process.wait(timeout=10)
        self.process = None


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        _missing("PostgreSQL's server binaries (initdb, pg_ctl)")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb once, then start/stop at will),
    in a folder of its own under the system's temporary folder: the ``postgres`` user
    must reach it, and pytest's own temporary folders are root's alone."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="bb-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [*self._as, str(self.bin / args[0]), *args[1:]]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603

    def init(self) -> None:
        if self._as:
            shutil.chown(self.folder, user="postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "start",
        )  # fmt: skip

    def stop(self, *, mode: str = "fast") -> None:
        """``fast`` (clients disconnected, a clean shutdown) or ``immediate`` (a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop it if it runs (as a crash would) and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop(mode="immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
