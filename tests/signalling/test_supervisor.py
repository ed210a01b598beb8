"""The supervisor of ``serve --workers N``: workers that keep dying stop the server
instead of being started again for ever; a stop reaches every worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signalling import supervisor


def dies_at_once(index: int) -> None:
    sys.exit(3)


def test_workers_that_keep_dying_stop_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "RESTART_DELAY", 0.01)
    started = time.monotonic()
    assert supervisor.supervise(2, dies_at_once) == 1
    assert time.monotonic() - started < supervisor.CRASH_WINDOW


SERVE_TILL_STOPPED = """
import os, sys, time
from pathlib import Path
from signalling.supervisor import supervise

def work(index):
    Path(sys.argv[1], str(index)).write_text(str(os.getpid()))
    while True:
        time.sleep(0.1)

if __name__ == "__main__":
    sys.exit(supervise(2, work))
"""


def test_a_stop_reaches_every_worker_and_ends_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(SERVE_TILL_STOPPED)
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(script), str(tmp_path)], env={**os.environ, "PYTHONPATH": str(root)}
    )
    try:
        deadline = time.monotonic() + 30
        while not ((tmp_path / "0").exists() and (tmp_path / "1").exists()):
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
        pids = [int((tmp_path / name).read_text()) for name in "01"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        for pid in pids:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            )
    finally:
        process.kill()
