"""Values many tests share: the test secrets, the test Monday and its slots, the
working hours of test clerks, samples of WebRTC signalling, the fuzz seed."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time
from pathlib import Path

from office.staff import WorkingTime

ROOT = Path(__file__).resolve().parents[2]  # the repository
# The shared specimen ID documents (beside the repository, never shipped in it).
SAMPLES = ROOT.parent / "shared" / "data" / "id-samples"

SECRET = "test-secret-key-0123456789abcdefghijklmnop"
CAPTURE_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 test bytes

# The test clock starts on Monday 1 June 2026, 08:00 in Ostfildern; this is the day's
# first free slot (12:30 local), which one clerk can serve once.
SLOT = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)


def at(hour: int, minute: int) -> datetime:
    """A moment of the test Monday, in UTC."""
    return datetime(2026, 6, 1, hour, minute, tzinfo=UTC)


WEEKDAYS_7_TO_19 = [WorkingTime(d, time(7, 0), time(19, 0)) for d in range(6)]

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}
ANSWER = {**OFFER, "type": "answer"}
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
RELAYED = ("rtc_description", "rtc_candidate", "chat_received")

# The fuzz tests run with a fixed seed and a bounded count in CI; a longer run sets
# BB_FUZZ_EXAMPLES (e.g. 20000) and, for other examples, BB_FUZZ_SEED.
FUZZ_SEED = int(os.environ.get("BB_FUZZ_SEED", "20261207"))


def fuzz_examples(default: int) -> int:
    return int(os.environ.get("BB_FUZZ_EXAMPLES", str(default)))
