"""The media worker's side of a capture: the station in this process, and the same
station behind the worker channel in real worker processes."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from media.capture_peer import CaptureError, CaptureLimitReached, CloseReason
from media.capture_station import CaptureStation, KeepOrder, Kept
from media.capture_workers import CaptureWorkers, WorkerSettings
from media.copies import decode_image
from media.sealing import Sealer, SealOrder
from media.vision.analysis import analyse
from media.worker_channel import Event
from office.errors import Conflict
from tests.helpers.cameras import BACK, scene
from tests.helpers.pattern_camera import SMALL, Citizen
from tests.helpers.polling import eventually

KEY = secrets.token_bytes(32)
# An MRZ reading takes a second or two; in a media worker, which runs at a lower priority
# than everything else, far longer while the test suite keeps both cores busy.
READING_SECONDS = 90

needs_back = pytest.mark.skipif(
    not BACK.exists(), reason=f"the shared specimen {BACK} is not there"
)


def order(kind: str = "back", *, needs_flat: bool = True) -> KeepOrder:
    seal = SealOrder(str(uuid.uuid4()), kind, secrets.token_bytes(12), None, False)
    return KeepOrder(seal, needs_flat=needs_flat)


def decrypted(kept: Kept, keep_order: KeepOrder) -> Any:
    seal = keep_order.seal
    jpeg = Sealer(KEY).open(seal.nonce, kept.ciphertext, seal.capture_id, seal.kind)
    return decode_image(jpeg)


@needs_back
async def test_a_kept_photo_is_flattened_sealed_and_its_mrz_follows() -> None:
    events: list[Event] = []
    station = CaptureStation(Sealer(KEY), events.append, max_sessions=1)
    keep = order()
    try:
        kept = await station.keep_image(scene(BACK), keep)
        assert kept.flattened and kept.reading
        assert kept.details["analysis"]["found"] is True
        image = decrypted(kept, keep)
        assert image.shape[:2] == (kept.height, kept.width)
        assert kept.width > kept.height  # the card, flattened, not the 16:9 frame
        await eventually(lambda: bool(events), within=READING_SECONDS)
        (event,) = events
        assert event.name == "analysed" and event.args["capture_id"] == keep.seal.capture_id
        assert event.args["mrz"] is not None and event.args["mrz"].valid
        assert event.args["analysis"]["mrz"]["valid"] is True
    finally:
        await station.close_all()


async def test_no_copy_is_kept_of_a_document_without_its_outline() -> None:
    events: list[Event] = []
    station = CaptureStation(Sealer(KEY), events.append, max_sessions=1)
    try:
        with pytest.raises(Conflict, match="nicht ganz im Bild"):
            await station.keep_image(scene(), order())
        with pytest.raises(Conflict, match="Gesicht"):
            await station.keep_image(scene(), order("face", needs_flat=False))
        await asyncio.sleep(0.1)
        assert events == []  # nothing kept, nothing read
    finally:
        await station.close_all()


@needs_back
async def test_a_failed_mrz_reading_is_reported_with_the_quick_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_reading(frame: Any, **options: Any) -> Any:
        if options.get("read_mrz", True):  # the MRZ reading, not the quick look
            raise RuntimeError("injected: the reader broke")
        return analyse(frame, **options)

    monkeypatch.setattr("media.capture_station.analyse", failing_reading)
    events: list[Event] = []
    station = CaptureStation(Sealer(KEY), events.append, max_sessions=1)
    keep = order()
    try:
        kept = await station.keep_image(scene(BACK), keep)
        assert kept.reading
        await eventually(lambda: bool(events), within=READING_SECONDS)
        (event,) = events
        assert event.args["capture_id"] == keep.seal.capture_id
        assert "analysis" not in event.args and event.args["quick"]["found"] is True
    finally:
        await station.close_all()


# -- the same, in worker processes ---------------------------------------------------


async def started_pool(allow_loopback: bool) -> tuple[CaptureWorkers, list[Event]]:
    events: list[Event] = []

    async def on_event(event: Event) -> None:
        events.append(event)

    settings = WorkerSettings(max_sessions=2, capture_key=KEY, allow_loopback=allow_loopback)
    return CaptureWorkers(settings, 2, on_event), events


@pytest.fixture
async def workers() -> AsyncIterator[tuple[CaptureWorkers, list[Event]]]:
    pool, events = await started_pool(allow_loopback=False)
    yield pool, events
    await pool.close_all()


@pytest.fixture
async def events_pool() -> AsyncIterator[tuple[CaptureWorkers, list[Event]]]:
    """Workers whose capture peers may use loopback candidates (as the citizens here)."""
    pool, events = await started_pool(allow_loopback=True)
    yield pool, events
    await pool.close_all()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@needs_back
async def test_workers_keep_photos_in_their_own_processes_and_stop_with_the_node(
    workers: tuple[CaptureWorkers, list[Event]],
) -> None:
    pool, events = workers
    assert pool.pids() == []  # none started before they are needed
    keep = order()
    kept = await pool.keep_image(scene(BACK), keep)
    assert kept.flattened and decrypted(kept, keep).shape[:2] == (kept.height, kept.width)
    (pid,) = pool.pids()
    assert pid != os.getpid()
    await eventually(lambda: [e.name for e in events] == ["analysed"], within=READING_SECONDS)
    assert events[0].args["mrz"].valid

    # A refusal comes back as the error it was.
    with pytest.raises(Conflict, match="nicht ganz im Bild"):
        await pool.keep_image(scene(), order())

    await pool.close_all()
    assert pool.pids() == [] and not alive(pid)


@needs_back
async def test_a_worker_that_dies_is_replaced_by_the_next_capture(
    workers: tuple[CaptureWorkers, list[Event]],
) -> None:
    pool, _events = workers
    await pool.start()
    first = pool.pids()
    assert len(first) == 2
    os.kill(first[0], 9)
    await eventually(lambda: len(pool.pids()) == 1, within=10)
    keep = order()
    kept = await pool.keep_image(scene(BACK), keep)  # on the survivor, or a new worker
    assert kept.flattened
    await pool.start()
    assert len(pool.pids()) == 2 and first[0] not in pool.pids()


async def test_sessions_spread_over_the_workers_within_the_nodes_cap_and_end_with_their_worker(
    events_pool: tuple[CaptureWorkers, list[Event]],
) -> None:
    pool, events = events_pool
    citizens: list[Citizen] = []

    async def connect(key: str) -> Citizen:
        citizen = Citizen(SMALL)
        citizens.append(citizen)
        await citizen.accept(await pool.open(key, await citizen.offer(), ()))
        return citizen

    try:
        await connect("appt-1")
        await connect("appt-2")
        assert len(pool.pids()) == 2  # the second session started the second worker

        async def both_sending() -> bool:
            frames = await pool.frames()
            return frames.get("appt-1", 0) > 0 and frames.get("appt-2", 0) > 0

        await eventually(both_sending, within=20)
        look = await pool.look("appt-2", None)
        assert look is not None and look.found is False and not look.passes  # no document

        with pytest.raises(CaptureLimitReached):
            await pool.open("appt-3", await Citizen(SMALL).offer(), ())
        assert not pool.holds("appt-3") and pool.active == 2
        await connect("appt-2")  # a replacement is not counted twice
        assert pool.active == 2

        # A worker that dies takes its session with it, and says so.
        holder = pool.pids()[0]
        os.kill(holder, 9)
        # The pool forgets the session at once and delivers the event in a task of its
        # own: wait for the event, or the check may run between the two.
        await eventually(lambda: any(e.name == "closed" for e in events), within=10)
        assert pool.active == 1
        closed = [e.args for e in events if e.name == "closed"]
        assert closed == [{"key": "appt-1", "reason": CloseReason.PEER_FAILED}]
        assert pool.holds("appt-2") and not pool.holds("appt-1")
        with pytest.raises(CaptureError):
            await pool.keep_frame("appt-1", "best", order())
    finally:
        await asyncio.gather(*(citizen.pc.close() for citizen in citizens))
