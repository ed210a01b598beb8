"""Capturing the ID document through the server's own peer, over the call's sockets.

The citizen's browser is stood in for by a real aiortc peer whose camera shows the
German ID card specimen; the server is the real app.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from media.capture_peer import RECENT_FRAMES, RECENT_SPACING, CloseReason
from media.copies import decode_image
from media.vision import mrz_reader
from media.vision.tilt import MIN_TILT
from office.appointments import Appointments
from office.staff import Staff
from signalling.keys import CAPTURES, METRICS
from tests.helpers.booking import book_at, citizen_cookie, staff_cookie
from tests.helpers.cameras import (
    BACK,
    FRONT,
    CardCamera,
    SceneCamera,
    close_peer,
    face_scene,
    nothing_taken,
    scene,
)
from tests.helpers.clock import Clock
from tests.helpers.constants import SAMPLES, SLOT
from tests.helpers.peers import Peer, clerk_peer, connected_pair, start_call
from tests.helpers.polling import eventually


async def test_clerk_captures_the_card_and_only_staff_of_the_call_see_it(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    if not BACK.exists():
        pytest.skip(f"the shared specimen {BACK} is not there")
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen, anna = Peer("/citizen"), Peer("/clerk")
    annas_cookie = await staff_cookie(staff, clerk)
    await citizen.connect(base, citizen_cookie(desk, appointment))
    await anna.connect(base, annas_cookie)
    await citizen.call("queue_join")
    await anna.call("queue_next")

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(CardCamera(BACK), direction="sendonly")
    try:
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        offer = {"sdp": pc.localDescription.sdp}
        too_early = await citizen.call("capture_offer", offer)
        assert too_early["ok"] is False  # no identity check is running yet

        await anna.call("verification_start", {"document_type": "id_card"})
        await citizen.call("verification_consent")
        answered = await citizen.call("capture_offer", offer, within=15)
        assert answered["ok"] is True, answered
        await pc.setRemoteDescription(RTCSessionDescription(**answered["data"]))

        taken: dict[str, Any] = {}
        for _ in range(100):  # until the first frame has arrived (time-boxed: 10 s)
            taken = await anna.call("capture_take", {"kind": "back"}, within=15)
            if taken["ok"]:
                break
            assert taken["error"]["code"] == "conflict"
            await asyncio.sleep(0.1)
        assert taken["ok"] is True, taken
        shot = taken["data"]
        # The stored copy is the card, found and flattened to ID-1's 85.6 x 54 mm.
        assert shot["flattened"] is True and shot["analysis"]["found"] is True
        assert abs(shot["width"] / shot["height"] - 85.6 / 54) < 0.02
        first = await anna.next("capture_analysed", within=45)
        assert first["capture_id"] == shot["capture_id"]
        assert first["analysis"]["mrz"]["valid"] is True
        assert first["mrz_accepted"] is False  # one reading is not enough
        again = await anna.call("capture_take", {"kind": "back"}, within=15)
        assert again["ok"] is True
        second = await anna.next("capture_analysed", within=45, count=2)
        assert second["mrz_accepted"] is True
        assert second["mrz_fields"]["document_number"] == "L01X00T47"
        assert second["mrz_fields"]["surname"] == "MUSTERMANN"
        # The booking was made as "Erika Mustermann": the clerk is told the names agree.
        assert second["name_check"] == {
            "matches": True,
            "booking": "ERIKA MUSTERMANN",
            "mrz": "MUSTERMANN, ERIKA",
        }
        assert first["name_check"] is None  # nothing to compare before the MRZ is accepted
        # The specimen expires on 1 August 2031 (manifest.json), the clock says June 2026.
        assert second["mrz_fields"]["expiry_date"] == "2031-08-01"
        assert (first["mrz_expired"], second["mrz_expired"]) == (None, False)

        # Meanwhile the citizen is told what the camera shows of the card.
        guidance = await citizen.next("capture_guidance", within=10)
        assert guidance["found"] is True
        assert guidance["verdict"] in ("ok", "retry") and isinstance(guidance["hints"], list)

        # The clerk of the call sees the capture through its link; nobody else does.
        seen = await client.get(shot["view_url"], headers={"Cookie": annas_cookie})
        assert seen.status == 200 and seen.headers["Content-Type"] == "image/jpeg"
        assert seen.headers["Cache-Control"] == "no-store"
        jpeg = await seen.read()
        assert jpeg[:3] == b"\xff\xd8\xff"
        # The copy kept has the document number blacked out (the town's default); the
        # MRZ the clerk was given above was read from the frame, before that.
        copied = mrz_reader.read(decode_image(jpeg)).result
        assert copied is None or copied.document_number != "L01X00T47"
        client.session.cookie_jar.clear()
        assert (await client.get(shot["view_url"])).status == 403
        bernd = await staff.create("bernd", "Bernd", "another long password")
        bernds = await staff_cookie(staff, bernd.id)
        assert (await client.get(shot["view_url"], headers={"Cookie": bernds})).status == 403

        assert (await anna.call("capture_stop"))["data"] == {"closed": True}
    finally:
        await close_peer(pc)
        await citizen.disconnect()
        await anna.disconnect()


@pytest.mark.parametrize("payload", [{"sdp": "x" * 70_000}, {"sdp": 5}, {"kind": "front"}])
async def test_malformed_offers_are_refused(
    client: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    payload: dict[str, Any],
) -> None:
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen = Peer("/citizen")
    await citizen.connect(base, citizen_cookie(desk, appointment))
    answer = await citizen.call("capture_offer", payload)
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload"
    await citizen.disconnect()


# -- automatic capture: the clerk asks, the first frame that passes is kept -----------


@asynccontextmanager
async def capturing(
    client: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    camera: VideoStreamTrack,
) -> AsyncIterator[tuple[Peer, Peer, str]]:
    """A call with the identity check started and the citizen's capture peer sending
    ``camera`` to the server: yields the citizen's and the clerk's sockets and the
    appointment's id."""
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen, anna = await connected_pair(base, desk, staff, clerk, appointment)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(camera, direction="sendonly")
    try:
        await start_call(citizen, anna)
        await anna.call("verification_start", {"document_type": "id_card"})
        await citizen.call("verification_consent")
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        answered = await citizen.call("capture_offer", {"sdp": pc.localDescription.sdp}, within=15)
        assert answered["ok"] is True, answered
        await pc.setRemoteDescription(RTCSessionDescription(**answered["data"]))
        await citizen.next("capture_guidance", within=15)  # frames arrive and are looked at
        yield citizen, anna, appointment.id
    finally:
        await close_peer(pc)
        await citizen.disconnect()
        await anna.disconnect()


async def test_an_armed_capture_waits_for_a_frame_that_passes_and_prompts_the_citizen(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    if not (BACK.exists() and FRONT.exists()):
        pytest.skip(f"the shared specimens are not in {SAMPLES}")
    camera = SceneCamera()
    async with capturing(client, desk, staff, clerk, clock, camera) as (citizen, anna, _):
        # The back, automatically: nothing is kept while only the desk is in view.
        armed = await anna.call("capture_auto", {"kind": "back"})
        assert armed == {"ok": True, "data": {"armed": "back"}}
        assert await citizen.next("capture_prompt") == {"kind": "back"}
        assert await nothing_taken(anna)
        camera.frame = scene(BACK)
        back = await anna.next("capture_taken", within=30)
        assert back["kind"] == "back" and back["auto"] is True and back["flattened"] is True
        assert back["analysis"]["quality"]["verdict"] == "ok"
        assert await citizen.next("capture_prompt", count=2) == {"kind": None, "taken": "back"}
        assert await nothing_taken(anna)  # once kept, the request is done

        # The tilt sequence: a flat card is not a tilt; then one way, then the other.
        assert (await anna.call("capture_auto", {"kind": "tilt_a"}))["ok"] is True
        assert await nothing_taken(anna)
        camera.frame = scene(BACK, yaw=30)
        first = await anna.next("capture_taken", within=30, count=2)
        assert first["kind"] == "tilt_a" and first["tilt"]["axis"] == "horizontal"
        assert first["tilt"]["horizontal"] >= MIN_TILT
        refused = await anna.call("capture_take", {"kind": "tilt_b"}, within=15)
        assert refused["ok"] is False and refused["error"]["code"] == "conflict"
        assert "andere Richtung" in refused["error"]["message"]
        assert (await anna.call("capture_auto", {"kind": "tilt_b"}))["ok"] is True
        assert await nothing_taken(anna)  # still turned the same way
        camera.frame = scene(BACK, yaw=-30)
        second = await anna.next("capture_taken", within=30, count=3)
        assert second["kind"] == "tilt_b" and second["tilt"]["horizontal"] <= -MIN_TILT

        # The face: the card's guidance gives way to the face's.
        camera.frame = scene()
        assert (await anna.call("capture_auto", {"kind": "face"}))["ok"] is True
        assert await nothing_taken(anna)
        camera.frame = face_scene()
        face = await anna.next("capture_taken", within=30, count=4)
        assert face["kind"] == "face" and face["flattened"] is False
        x, y, w, _ = face["face"]
        assert w >= 0.2 * face["height"] and 0 <= x < face["width"] and 0 <= y < face["height"]

        # A capture taken by hand needs a face in the picture too.
        camera.frame = scene()
        await asyncio.sleep(2 * RECENT_FRAMES * RECENT_SPACING)  # the face is out of the buffer
        no_face = await anna.call("capture_take", {"kind": "face"}, within=15)
        assert no_face["ok"] is False and no_face["error"]["code"] == "conflict"


@pytest.mark.parametrize("how", ["check finished", "call ended"])
async def test_the_capture_session_ends_with_the_check_or_the_call(
    client: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    how: str,
) -> None:
    """The server closes the session itself, though the citizen's browser keeps
    sending (a browser that crashed or lost the socket never says goodbye)."""
    workers = client.app[CAPTURES].workers
    figures = client.app[METRICS].registry
    async with capturing(client, desk, staff, clerk, clock, SceneCamera()) as (
        _citizen,
        anna,
        appointment_id,
    ):
        assert workers.holds(appointment_id)
        if how == "check finished":
            finished = await anna.call(
                "verification_finish", {"outcome": "failed", "reason": "Test"}
            )
            assert finished["ok"] is True, finished
            expected = CloseReason.DONE
        else:
            assert (await anna.call("call_end"))["ok"] is True
            expected = CloseReason.CALL_ENDED

        # The worker closes the peer, then reports the session ended, and why (the
        # desk hears of it a moment after the pool let the session go).
        def closed(reason: CloseReason) -> float | None:
            count: float | None = figures.get_sample_value(
                "bb_capture_sessions_closed_total", {"reason": reason.value}
            )
            return count

        await eventually(lambda: not workers.holds(appointment_id), within=15)
        await eventually(lambda: closed(expected) is not None, within=5)
        for reason in CloseReason:
            assert closed(reason) == (1 if reason is expected else None), reason


# -- a console or a page that reloads mid-check --------------------------------------


async def test_a_console_that_reloads_gets_the_captures_and_the_mrz_agreement_back(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    if not BACK.exists():
        pytest.skip(f"the shared specimen {BACK} is not there")
    async with capturing(client, desk, staff, clerk, clock, CardCamera(BACK)) as (
        citizen,
        anna,
        _,
    ):
        shots, told = [], []
        for count in (1, 2):  # two captures of the back, until they agree on the MRZ
            clock.advance(seconds=1)  # the fake clock: taken one after the other
            taken = await anna.call("capture_take", {"kind": "back"}, within=15)
            assert taken["ok"] is True, taken
            shots.append(taken["data"])
            told.append(await anna.next("capture_analysed", within=45, count=count))
        assert [t["mrz_accepted"] for t in told] == [False, True]
        assert told[1]["mrz_fields"]["document_number"] == "L01X00T47"  # live: all of it

        # The capture peer closes (on its node or another, it makes no difference):
        # what the console was shown comes from the database.
        assert (await anna.call("capture_stop"))["data"] == {"closed": True}
        cookie = await staff_cookie(staff, clerk)
        reloaded = await clerk_peer(base, staff, clerk)
        answer = await reloaded.call("verification_captures")
        assert answer["ok"] is True, answer
        shown = answer["data"]

        # The captures as capture_take acked them, in the order taken, with fresh links.
        assert [c["capture_id"] for c in shown["captures"]] == [s["capture_id"] for s in shots]
        for again, shot in zip(shown["captures"], shots, strict=True):
            assert again.pop("taken_at")
            view_url = again.pop("view_url")
            assert again == {key: value for key, value in shot.items() if key != "view_url"}
            seen = await client.get(view_url, headers={"Cookie": cookie})
            assert seen.status == 200 and (await seen.read())[:3] == b"\xff\xd8\xff"

        # The readings as capture_analysed said them, the agreement with them; the
        # document number, blacked out of the copies, was not kept.
        readings = shown["readings"]
        assert [r["capture_id"] for r in readings] == [t["capture_id"] for t in told]
        for again, said in zip(readings, told, strict=True):
            for key in ("mrz_accepted", "name_check", "mrz_expired"):
                assert again[key] == said[key], key
            assert again["analysis"]["mrz"]["valid"] is True
            assert again["analysis"]["mrz"]["fields"]["surname"] == "MUSTERMANN"
        assert readings[1]["mrz_fields"] == {**told[1]["mrz_fields"], "document_number": None}
        assert readings[1]["name_check"]["matches"] is True
        assert "L01X00T47" not in str(shown)

        # The citizen's page, reloaded, learns it has consented: it reconnects its camera.
        current = await citizen.call("verification_current")
        assert current["data"] == {
            "document_type": "id_card",
            "consented": True,
            "code_requested": False,
        }

        # Once the check is over there is nothing to show again.
        finished = await anna.call("verification_finish", {"outcome": "failed", "reason": "T"})
        assert finished["ok"] is True
        assert await reloaded.call("verification_captures") == {"ok": True, "data": None}


async def test_a_citizen_page_that_offers_its_camera_again_is_asked_again(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    """A page that reloaded while an automatic capture waits shows its prompt again."""
    async with capturing(client, desk, staff, clerk, clock, SceneCamera()) as (citizen, anna, _):
        assert (await anna.call("capture_auto", {"kind": "front"}))["ok"] is True
        assert await citizen.next("capture_prompt") == {"kind": "front"}
        again = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        again.addTransceiver(SceneCamera(), direction="sendonly")
        try:
            await again.setLocalDescription(await again.createOffer())
            assert again.localDescription is not None
            offer = {"sdp": again.localDescription.sdp}
            assert (await citizen.call("capture_offer", offer, within=15))["ok"] is True
            assert await citizen.next("capture_prompt", count=2) == {"kind": "front"}
        finally:
            await close_peer(again)
