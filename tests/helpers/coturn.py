"""Debian's coturn (``turnserver``) on loopback, started as a town runs it: REST-API
credentials (``use-auth-secret``), on free ports, inside the WebRTC tests' namespace."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.constants import ROOT
from tests.helpers.services import REQUIRE_SERVICES, free_port

SHIPPED_CONFIG = ROOT / "deploy" / "turnserver.conf"
# For tests: relays between loopback peers (all there is in the namespace).
TEST_CONFIG = ("-n", "--use-auth-secret", "--fingerprint", "--allow-loopback-peers")
REALM = "buergerbuero.test"
SECRET = "turn-test-secret-0123456789abcdef"  # coturn's static-auth-secret in the tests


@dataclass(frozen=True)
class Turn:
    url: str  # turn:127.0.0.1:<port>?transport=udp
    secret: str

    @property
    def stun_url(self) -> str:
        """coturn answers STUN on the same port."""
        return self.url.replace("turn:", "stun:", 1).split("?", 1)[0]


def turnserver() -> str:
    path = shutil.which("turnserver")
    if path is None:
        message = "coturn is not installed (apt-get install coturn)"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@contextmanager
def coturn(folder: Path, secret: str, config: Sequence[str] = TEST_CONFIG) -> Iterator[Turn]:
    """coturn with ``config`` (``TEST_CONFIG``, or ``["-c", SHIPPED_CONFIG]``), its log
    and files in ``folder``; stopped afterwards."""
    port = free_port()
    relay = free_port()
    log = folder / "turn.log"
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [
            turnserver(),
            *config,
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--min-port={relay}",
            f"--max-port={relay + 40}",
            f"--static-auth-secret={secret}",
            f"--realm={REALM}",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            f"--userdb={folder / 'turndb'}",
            f"--pidfile={folder / 'turn.pid'}",
            f"--log-file={log}",
            "--simple-log",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while "Total General servers" not in (log.read_text() if log.exists() else ""):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"coturn did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Turn(f"turn:127.0.0.1:{port}?transport=udp", secret)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
