"""The clerk's capture commands reach the node that holds the citizen's capture peer.

Two app nodes on the real Redis (as in test_nodes.py): the citizen and their
capture peer (a real aiortc peer) on node A, the clerk on node B. The routing does not
touch the database, so these run on SQLite only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from redis.asyncio import Redis
from sqlalchemy import func, select

from office.appointments import Appointments
from office.models import Appointment, Capture
from office.staff import Staff
from signalling.keys import CAPTURES, NODE_BUS
from signalling.node_bus import NodeBus, NodeUnreachable
from signalling.settings import Settings
from signalling.sockets.capture_routing import FORWARD_SECONDS
from tests.helpers.booking import book_at, citizen_cookie
from tests.helpers.cameras import (
    BACK,
    CardCamera,
    SceneCamera,
    close_peer,
    nothing_taken,
    scene,
)
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.peers import Peer, citizen_peer, clerk_peer, url_of
from tests.helpers.photo_uploads import photo_of, upload
from tests.helpers.polling import eventually

pytestmark = [
    pytest.mark.parametrize("backend", ["redis"]),
    pytest.mark.skipif(not BACK.exists(), reason=f"the shared specimen {BACK} is not there"),
]
UNREACHABLE = "Die Aufnahme ist gerade nicht erreichbar. Bitte noch einmal versuchen."


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@dataclass
class Capturing:
    citizen: Peer  # on node A, with the capture peer
    anna: Peer  # the clerk, on node B
    appointment: Appointment
    owner_key: str
    pc: RTCPeerConnection  # the citizen's capture peer


CaptureAcross = Callable[[VideoStreamTrack], AbstractAsyncContextManager[Capturing]]


@asynccontextmanager
async def capture_across_nodes(
    client: TestClient[Any, Any],
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    settings: Settings,
    camera: VideoStreamTrack,
) -> AsyncIterator[Capturing]:
    """A call with the identity check started, the citizen and their capture peer on
    node A and the clerk on node B; frames arrive on A."""
    base_a, base_b = url_of(client), url_of(node_b)
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen = await citizen_peer(base_a, desk, appointment)
    anna = await clerk_peer(base_b, staff, clerk)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(camera, direction="sendonly")
    try:
        assert (await citizen.call("queue_join"))["ok"] is True
        assert (await anna.call("queue_next"))["ok"] is True
        started = await anna.call("verification_start", {"document_type": "id_card"})
        assert started["ok"] is True, started
        assert (await citizen.call("verification_consent"))["ok"] is True
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        answered = await citizen.call("capture_offer", {"sdp": pc.localDescription.sdp}, within=15)
        assert answered["ok"] is True, answered
        await pc.setRemoteDescription(RTCSessionDescription(**answered["data"]))
        await citizen.next("capture_guidance", within=15)  # frames arrive on A
        key = f"{settings.redis_prefix}:cap:{appointment.id}"
        yield Capturing(citizen, anna, appointment, key, pc)
    finally:
        await close_peer(pc)
        await citizen.disconnect()
        await anna.disconnect()


@pytest.fixture
def across(
    client: TestClient[Any, Any],
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    settings: Settings,
) -> CaptureAcross:
    """Opens a capture across the two nodes for the camera it is given."""
    return partial(capture_across_nodes, client, node_b, desk, staff, clerk, clock, settings)


def holds(app: web.Application, appointment_id: str) -> bool:
    """Whether the node's media workers hold the appointment's capture session."""
    return app[CAPTURES].workers.holds(appointment_id)


async def captures_stored(desk: Appointments) -> int:
    async with desk.office.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Capture)) or 0)


async def test_a_clerk_on_another_node_takes_a_capture_from_the_owner(
    client: TestClient[Any, Any],
    node_b: TestClient[Any, Any],
    desk: Appointments,
    redis: Redis,
    across: CaptureAcross,
) -> None:
    app_a, app_b = client.app, node_b.app
    async with across(CardCamera(BACK)) as c:
        appointment_id = c.appointment.id
        assert holds(app_a, appointment_id)  # the peer is on A ...
        assert not holds(app_b, appointment_id)  # ... and not on B
        owner = await redis.get(c.owner_key)
        assert isinstance(owner, bytes) and owner.decode() == app_a[NODE_BUS].node_id
        assert app_a[NODE_BUS].node_id != app_b[NODE_BUS].node_id
        assert 0 < await redis.ttl(c.owner_key) <= 30  # the record expires unless refreshed

        taken = await c.anna.call("capture_take", {"kind": "back"}, within=15)
        assert taken["ok"] is True, taken
        shot = taken["data"]
        assert shot["kind"] == "back" and shot["flattened"] is True
        assert shot["analysis"]["found"] is True
        assert shot["view_url"].startswith("/erfassungen/")
        assert await captures_stored(desk) == 1
        # The MRZ is read on A and pushed to the clerk's room, which reaches B.
        analysed = await c.anna.next("capture_analysed", within=45)
        assert analysed["capture_id"] == shot["capture_id"]
        assert analysed["analysis"]["mrz"]["valid"] is True

        # The owner's errors come back as they were: a tilt before its first angle.
        refused = await c.anna.call("capture_take", {"kind": "tilt_b"}, within=15)
        assert refused["ok"] is False and refused["error"]["code"] == "conflict"
        assert "zuerst die erste Kippbewegung" in refused["error"]["message"]


async def test_readings_on_two_nodes_agree_and_come_back_to_a_console_on_either(
    client: TestClient[Any, Any],
    node_b: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    across: CaptureAcross,
) -> None:
    """A frame read on the capture peer's node (A) and a photo uploaded to another (B)
    agree on the MRZ: the agreement is judged from the database, not per node. A
    console that comes back on either node, after the peer closed, gets both."""
    async with across(CardCamera(BACK)) as c:
        taken = await c.anna.call("capture_take", {"kind": "back"}, within=15)
        assert taken["ok"] is True, taken
        first = await c.anna.next("capture_analysed", within=45)  # read on A
        assert first["analysis"]["mrz"]["valid"] is True and first["mrz_accepted"] is False

        clock.advance(seconds=1)  # the fake clock: the photo comes after the frame
        asked = await c.anna.call("capture_still", {"kind": "back", "german_id": False})
        assert asked["ok"] is True, asked
        link = (await c.citizen.next("capture_still_requested"))["upload_url"]
        cookie = citizen_cookie(desk, c.appointment)
        assert (await upload(node_b, link, cookie, photo_of(BACK)))[0] == 201
        second = await c.anna.next("capture_analysed", within=45, count=2)  # read on B
        assert second["analysis"]["mrz"]["valid"] is True
        assert second["mrz_accepted"] is True and second["name_check"]["matches"] is True
        still = (await c.anna.next("capture_taken"))["capture_id"]

        assert (await c.anna.call("capture_stop"))["data"] == {"closed": True}
        for base in (url_of(node_b), url_of(client)):
            console = await clerk_peer(base, staff, clerk)
            answer = await console.call("verification_captures")
            assert answer["ok"] is True, answer
            shown = answer["data"]
            taken_by = [(s["capture_id"], s.get("source")) for s in shown["captures"]]
            assert taken_by == [(taken["data"]["capture_id"], None), (still, "still")]
            readings = [(r["capture_id"], r["mrz_accepted"]) for r in shown["readings"]]
            assert readings == [(first["capture_id"], False), (second["capture_id"], True)]
            await console.disconnect()


async def test_an_automatic_capture_armed_on_another_node_reaches_the_clerk(
    desk: Appointments,
    across: CaptureAcross,
) -> None:
    camera = SceneCamera()  # the desk only, until the card is shown
    async with across(camera) as c:
        armed = await c.anna.call("capture_auto", {"kind": "back"})
        assert armed == {"ok": True, "data": {"armed": "back"}}
        assert await c.citizen.next("capture_prompt") == {"kind": "back"}
        assert await nothing_taken(c.anna)
        camera.frame = scene(BACK)
        back = await c.anna.next("capture_taken", within=30)
        assert back["kind"] == "back" and back["auto"] is True and back["flattened"] is True
        assert await c.citizen.next("capture_prompt", count=2) == {"kind": None, "taken": "back"}
        assert await captures_stored(desk) == 1


async def test_capture_stop_on_another_node_closes_the_session_and_its_record(
    client: TestClient[Any, Any],
    redis: Redis,
    across: CaptureAcross,
) -> None:
    app_a = client.app
    async with across(CardCamera(BACK)) as c:
        assert holds(app_a, c.appointment.id)
        assert await redis.exists(c.owner_key) == 1
        stopped = await c.anna.call("capture_stop")
        assert stopped == {"ok": True, "data": {"closed": True}}
        await eventually(lambda: not holds(app_a, c.appointment.id))

        async def record_gone() -> bool:
            return await redis.exists(c.owner_key) == 0

        await eventually(record_gone)
        # Nothing is held anywhere now: a second stop runs on B and finds nothing.
        assert await c.anna.call("capture_stop") == {"ok": True, "data": {"closed": False}}


async def test_the_owner_record_goes_when_the_citizens_peer_goes(
    client: TestClient[Any, Any],
    redis: Redis,
    across: CaptureAcross,
) -> None:
    async with across(CardCamera(BACK)) as c:
        assert await redis.exists(c.owner_key) == 1
        await close_peer(c.pc)  # the browser closes its capture peer: the server's closes

        async def closed() -> bool:
            return not holds(client.app, c.appointment.id) and await redis.exists(c.owner_key) == 0

        await eventually(closed, within=35)  # at the latest, the idle timeout (30 s)


async def test_an_owner_that_does_not_answer_gives_capture_unavailable_and_nothing_changes(
    client: TestClient[Any, Any],
    desk: Appointments,
    redis: Redis,
    across: CaptureAcross,
) -> None:
    app_a = client.app
    async with across(CardCamera(BACK)) as c:
        await app_a[NODE_BUS].stop()  # node A no longer listens (its peer still runs)
        loop = asyncio.get_running_loop()
        for command, payload in [
            ("capture_take", {"kind": "back"}),
            ("capture_auto", {"kind": "front"}),
            ("capture_stop", {}),
        ]:
            began = loop.time()
            answer = await c.anna.call(command, payload, within=FORWARD_SECONDS + 5)
            assert loop.time() - began < FORWARD_SECONDS
            assert answer == {
                "ok": False,
                "error": {"code": "capture_unavailable", "message": UNREACHABLE},
            }, command
        assert holds(app_a, c.appointment.id)
        assert await redis.exists(c.owner_key) == 1
        assert await captures_stored(desk) == 0
        assert await nothing_taken(c.anna, seconds=1.0)
        assert c.citizen.events["capture_prompt"] == []  # nothing was armed
        assert c.anna.events["capture_analysed"] == []


async def test_a_request_nobody_answers_times_out(settings: Settings, redis: Redis) -> None:
    """A node that still listens but never replies (hung): the request ends at its
    timeout, with NodeUnreachable."""
    assert settings.redis_url is not None
    bus = NodeBus(redis, settings.redis_prefix, "asker")
    silent = redis.pubsub()
    await silent.subscribe(bus.channel("hung"))
    await bus.start()
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(NodeUnreachable, match="did not answer"):
            await bus.request("hung", "capture_command", {}, timeout=0.5)
        assert 0.5 <= loop.time() - began < 2.0
        async with asyncio.timeout(2):  # the hung node did get the request
            message = await anext(m async for m in silent.listen() if m["type"] == "message")
        assert b'"name": "capture_command"' in message["data"]
    finally:
        await bus.stop()
        await silent.aclose()
