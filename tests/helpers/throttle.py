"""A slow line on loopback, made by the kernel (tc): what really holds WebRTC back.

Chrome DevTools' network emulation throttles HTTP but not WebRTC's UDP; a qdisc on
``lo`` throttles every packet it matches. Only inside the WebRTC tests' network
namespace (``unshare --net``, only loopback; ``make test`` starts it): outside, the
same commands would slow the machine's own loopback, so the test is skipped there.

Debian's kernel here has the htb qdisc and the u32 classifier (no netem): matched
packets go to a class limited to ``kbit``, the rest to one that is not limited; a
short queue drops what does not fit, as a weak mobile line does.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.services import REQUIRE_SERVICES

UDP = ("match", "ip", "protocol", "17", "0xff")


def tcp_port(port: int) -> list[tuple[str, ...]]:
    """Both directions of the TCP traffic of a server on ``port``."""
    return [
        ("match", "ip", "sport", str(port), "0xffff"),
        ("match", "ip", "dport", str(port), "0xffff"),
    ]


def _only_loopback() -> bool:
    # /proc/net is the calling process's network namespace (/sys/class/net is not).
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines] == ["lo"]


def _tc(*arguments: str) -> None:
    subprocess.run(["tc", *arguments], check=True, capture_output=True)  # noqa: S603, S607


@contextmanager
def throttled(matches: Sequence[Sequence[str]], kbit: int, queue: int = 50) -> Iterator[None]:
    """Loopback packets that match any of ``matches`` (u32 selectors) at ``kbit``
    kbit/s, with a queue of ``queue`` packets, until the block ends."""
    if not _only_loopback():
        pytest.skip("throttles loopback: only inside the tests' network namespace (unshare)")
    if shutil.which("tc") is None:
        message = "tc is not installed (apt-get install iproute2)"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    _tc("qdisc", "replace", "dev", "lo", "root", "handle", "1:", "htb", "default", "20")
    try:
        _tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit")
        _tc(
            "class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb",
            "rate", f"{kbit}kbit", "ceil", f"{kbit}kbit",
        )  # fmt: skip
        _tc(
            "qdisc",
            "add",
            "dev",
            "lo",
            "parent",
            "1:10",
            "handle",
            "10:",
            "pfifo",
            "limit",
            str(queue),
        )
        for match in matches:
            _tc(
                "filter",
                "add",
                "dev",
                "lo",
                "parent",
                "1:",
                "protocol",
                "ip",
                "prio",
                "1",
                "u32",
                *match,
                "flowid",
                "1:10",
            )
        yield
    finally:
        _tc("qdisc", "del", "dev", "lo", "root")
