"""Capture sessions with real aiortc peers in one process.

A citizen's peer (aiortc, like the browser would) sends a synthetic camera that shows
each frame's index (tests/helpers/pattern_camera.py).

Both peers opt in to loopback candidates, so the file also runs in a network
namespace with only loopback:
``unshare --net --map-root-user sh -c 'ip link set lo up && exec .venv/bin/pytest -q
tests/media/test_capture.py'``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from media.capture_peer import (
    RECENT_FRAMES,
    RECENT_SPACING,
    CaptureError,
    CaptureLimitReached,
    CaptureOfferInvalid,
    CaptureSession,
    CaptureUnavailable,
    CloseReason,
)
from media.capture_registry import CaptureRegistry
from tests.helpers.pattern_camera import (
    CONNECT_SECONDS,
    HD,
    QUADRANTS,
    SMALL,
    Citizen,
    quadrant_means,
    read_index,
)
from tests.helpers.polling import eventually

FRAME_SECONDS = 15.0


# -- the lab: registries and citizens that are cleaned up after each test ----------------


class Closes:
    """Records every on_close call."""

    def __init__(self) -> None:
        self.calls: list[tuple[CaptureSession, CloseReason]] = []

    def __call__(self, session: CaptureSession, reason: CloseReason) -> None:
        self.calls.append((session, reason))

    def of(self, session: CaptureSession) -> list[CloseReason]:
        return [reason for closed, reason in self.calls if closed is session]


class Lab:
    def __init__(self) -> None:
        self.registries: list[CaptureRegistry] = []
        self.citizens: list[Citizen] = []

    def registry(
        self, *, max_sessions: int = 4, idle_timeout: float = 20.0, allow_loopback: bool = True
    ) -> tuple[CaptureRegistry, Closes]:
        closes = Closes()
        registry = CaptureRegistry(
            max_sessions=max_sessions,
            idle_timeout=idle_timeout,
            negotiation_timeout=CONNECT_SECONDS,
            allow_loopback=allow_loopback,
            on_close=closes,
        )
        self.registries.append(registry)
        return registry, closes

    def citizen(self, size: tuple[int, int] = SMALL, send: bool = True) -> Citizen:
        citizen = Citizen(size, send)
        self.citizens.append(citizen)
        return citizen

    async def connect(
        self, registry: CaptureRegistry, key: str, size: tuple[int, int] = SMALL
    ) -> tuple[Citizen, CaptureSession]:
        citizen = self.citizen(size)
        session, answer = await registry.open(key, await citizen.offer())
        await citizen.accept(answer)
        await eventually(lambda: session.frames_received > 0, FRAME_SECONDS, f"frames for {key}")
        return citizen, session

    async def aclose(self) -> None:
        async with asyncio.timeout(15):
            for registry in self.registries:
                await registry.close_all()
            await asyncio.gather(*(citizen.pc.close() for citizen in self.citizens))


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    """A lab whose peers are all closed afterwards, leaving no task behind."""
    before = asyncio.all_tasks()
    lab = Lab()
    try:
        yield lab
    finally:
        await lab.aclose()

    def leaked() -> list[str]:
        current = asyncio.current_task()
        return [t.get_name() for t in asyncio.all_tasks() - before if t is not current]

    # aiortc's last transport tasks end a moment after close() returns.
    deadline = time.monotonic() + 5
    while leaked():
        if time.monotonic() > deadline:
            pytest.fail(f"tasks left running: {leaked()}")
        await asyncio.sleep(0.05)


# -- frames -------------------------------------------------------------------------


async def test_the_newest_frame_arrives_at_full_size_with_the_sent_content(lab: Lab) -> None:
    registry, closes = lab.registry()
    citizen, session = await lab.connect(registry, "appt-1", HD)
    await eventually(lambda: session.frames_received >= 5, FRAME_SECONDS, "five frames")

    image = session.latest_frame()
    assert image is not None
    assert image.shape == (720, 1280, 3)
    assert image.dtype == np.uint8
    assert not image.flags.writeable  # shared with other callers
    for got, sent in zip(quadrant_means(image), QUADRANTS, strict=True):
        assert np.abs(got - np.array(sent)).max() < 30, (got, sent)
    # The newest frame, not a queued old one: at most a few frames behind the camera.
    lag = (citizen.camera.sent - 1 - read_index(image)) % 256
    assert lag <= 10
    assert session.frame_size == HD
    at = session.latest_frame_at
    assert at is not None and time.monotonic() - at < 2

    # Frames nobody looked at are dropped, and reading keeps up with the camera.
    received, dropped = session.frames_received, session.frames_dropped
    await eventually(lambda: session.frames_dropped >= dropped + 3, FRAME_SECONDS, "dropped frames")
    assert session.frames_received > received
    later = session.latest_frame()
    assert later is not None
    assert (citizen.camera.sent - 1 - read_index(later)) % 256 <= 10

    # The last second, spaced out, for a capture to pick the sharpest from.
    await asyncio.sleep(RECENT_FRAMES * RECENT_SPACING)
    recent = session.recent_frames()
    assert 2 <= len(recent) <= RECENT_FRAMES + 1
    indices = [read_index(frame) for frame in recent]
    gaps = [(b - a) % 256 for a, b in itertools.pairwise(indices)]
    assert all(gap >= 1 for gap in gaps), indices  # oldest first, no frame twice
    assert sum(gaps) <= 2 * 30 * RECENT_FRAMES * RECENT_SPACING  # about the last second
    newest = session.latest_frame()
    assert newest is not None  # the newest frame is the last one (or just before it)
    assert (read_index(newest) - read_index(recent[-1])) % 256 <= 3

    assert await registry.close("appt-1", CloseReason.DONE)
    assert closes.of(session) == [CloseReason.DONE]
    assert session.close_reason is CloseReason.DONE
    assert registry.active == 0 and registry.get("appt-1") is None
    assert session.latest_frame() is None  # the frame's memory is released
    assert session.recent_frames() == []
    assert not await registry.close("appt-1", CloseReason.DONE)
    assert len(closes.calls) == 1


# -- close paths --------------------------------------------------------------------


async def test_the_citizen_closing_its_peer_fails_the_session(lab: Lab) -> None:
    registry, closes = lab.registry()
    citizen, session = await lab.connect(registry, "appt-1")

    async with asyncio.timeout(CONNECT_SECONDS):  # the test's own peer: never stall
        await citizen.pc.close()

    await eventually(lambda: bool(closes.calls), CONNECT_SECONDS, "the session to close")
    assert closes.of(session) == [CloseReason.PEER_FAILED]
    assert registry.active == 0


async def test_a_camera_that_stops_sending_times_out(lab: Lab) -> None:
    registry, closes = lab.registry(idle_timeout=2.0)
    citizen, session = await lab.connect(registry, "appt-1")

    citizen.camera.pause()
    paused_at = time.monotonic()

    await eventually(lambda: bool(closes.calls), 10, "the idle timeout")
    assert closes.of(session) == [CloseReason.IDLE_TIMEOUT]
    assert time.monotonic() - paused_at >= 1.8
    assert registry.active == 0


async def test_shutdown_closes_every_session_and_refuses_new_ones(lab: Lab) -> None:
    registry, closes = lab.registry()
    _, first = await lab.connect(registry, "appt-1")
    _, second = await lab.connect(registry, "appt-2")
    assert registry.active == 2

    await registry.close_all()

    assert closes.of(first) == [CloseReason.SHUTDOWN]
    assert closes.of(second) == [CloseReason.SHUTDOWN]
    assert registry.active == 0
    with pytest.raises(CaptureUnavailable) as refused:
        await registry.open("appt-3", await lab.citizen().offer())
    assert refused.value.code == "capture_unavailable"
    assert len(closes.calls) == 2


async def test_opening_the_same_key_again_replaces_the_session(lab: Lab) -> None:
    registry, closes = lab.registry()
    _, old = await lab.connect(registry, "appt-1")

    _, new = await lab.connect(registry, "appt-1")

    assert closes.of(old) == [CloseReason.REPLACED]
    assert registry.get("appt-1") is new
    assert registry.active == 1
    frames = new.frames_received
    await eventually(lambda: new.frames_received > frames + 2, FRAME_SECONDS, "the new camera")
    assert closes.of(new) == []


async def test_closing_twice_or_concurrently_closes_once(lab: Lab) -> None:
    registry, closes = lab.registry()
    _, session = await lab.connect(registry, "appt-1")

    await asyncio.gather(
        session.close(CloseReason.DONE),
        session.close(CloseReason.CALL_ENDED),
        registry.close("appt-1", CloseReason.SHUTDOWN),
    )
    async with asyncio.timeout(1):  # an already closed session returns at once
        await session.close(CloseReason.PEER_FAILED)

    assert closes.of(session) == [CloseReason.DONE]
    assert session.close_reason is CloseReason.DONE
    assert session.closed and registry.active == 0


async def test_a_cancelled_closer_does_not_interrupt_the_close(lab: Lab) -> None:
    registry, closes = lab.registry()
    _, session = await lab.connect(registry, "appt-1")

    closer = asyncio.create_task(session.close(CloseReason.CALL_ENDED))
    await asyncio.sleep(0)  # let it start closing
    closer.cancel()

    await eventually(lambda: bool(closes.calls), 10, "the close to finish")
    assert closes.of(session) == [CloseReason.CALL_ENDED]
    assert closer.cancelled()


# -- limits and refusals --------------------------------------------------------------


async def test_the_cap_refuses_one_session_more_but_allows_a_replacement(lab: Lab) -> None:
    registry, closes = lab.registry(max_sessions=2)
    await lab.connect(registry, "appt-1")
    _, second = await lab.connect(registry, "appt-2")

    with pytest.raises(CaptureLimitReached) as refused:
        await registry.open("appt-3", await lab.citizen().offer())
    assert refused.value.code == "capture_limit"
    assert "Ausweisprüfung" in refused.value.message  # German, for the citizen
    assert registry.active == 2 and registry.get("appt-3") is None

    _, replacement = await lab.connect(registry, "appt-2")  # not counted twice
    assert closes.of(second) == [CloseReason.REPLACED]
    assert registry.get("appt-2") is replacement and registry.active == 2


async def test_an_offer_without_a_camera_is_refused(lab: Lab) -> None:
    registry, closes = lab.registry()
    watcher = lab.citizen(send=False)

    with pytest.raises(CaptureOfferInvalid) as refused:
        await registry.open("appt-1", await watcher.offer())
    assert refused.value.code == "capture_offer_invalid"
    with pytest.raises(CaptureError) as garbage:
        await registry.open("appt-2", "v=0\r\nnot an offer\r\n")
    assert garbage.value.code == "capture_offer_invalid"

    assert registry.active == 0
    assert [reason for _, reason in closes.calls] == [CloseReason.PEER_FAILED] * 2


async def test_loopback_candidates_only_when_opted_in(lab: Lab) -> None:
    default, _ = lab.registry(allow_loopback=False)
    testing, _ = lab.registry(allow_loopback=True)

    _, production_answer = await default.open("appt-1", await lab.citizen().offer())
    _, test_answer = await testing.open("appt-1", await lab.citizen().offer())

    assert " 127.0.0.1 " not in candidate_lines(production_answer)
    assert " 127.0.0.1 " in candidate_lines(test_answer)


def candidate_lines(sdp: str) -> str:
    return "\n".join(line for line in sdp.splitlines() if line.startswith("a=candidate:"))
