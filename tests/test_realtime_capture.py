"""Capturing the ID document through the server's own peer, over the call's sockets.

The citizen's browser is stood in for by a real aiortc peer whose camera shows the
German ID card specimen; the server is the real app.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from av import VideoFrame

from office.appointments import Appointments
from office.staff import Staff
from tests.realtime import Peer, book_at, citizen_cookie, staff_cookie
from tests.support import Clock

SLOT = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[2] / "shared/data/id-samples"
BACK = SAMPLES / "deu_idcard_2021_back.png"  # the side with the MRZ


class CardCamera(VideoStreamTrack):
    """A 1280x720 camera that shows an ID card on a desk."""

    def __init__(self, card_file: Path) -> None:
        super().__init__()
        frame = np.full((720, 1280, 3), (60, 90, 120), dtype=np.uint8)
        card = cv2.imread(str(card_file), cv2.IMREAD_COLOR)
        assert card is not None
        height, width = card.shape[:2]
        top, left = (720 - height) // 2, (1280 - width) // 2
        frame[top : top + height, left : left + width] = card
        self.frame = frame

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self.frame, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


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
        first = await anna.next("capture_analysed", within=15)
        assert first["capture_id"] == shot["capture_id"]
        assert first["analysis"]["mrz"]["valid"] is True
        assert first["mrz_accepted"] is False  # one reading is not enough
        again = await anna.call("capture_take", {"kind": "back"}, within=15)
        assert again["ok"] is True
        second = await anna.next("capture_analysed", within=15, count=2)
        assert second["mrz_accepted"] is True
        assert second["mrz_fields"]["document_number"] == "L01X00T47"
        assert second["mrz_fields"]["surname"] == "MUSTERMANN"

        # Meanwhile the citizen is told what the camera shows of the card.
        guidance = await citizen.next("capture_guidance", within=10)
        assert guidance["found"] is True
        assert guidance["verdict"] in ("ok", "retry") and isinstance(guidance["hints"], list)

        # The clerk of the call sees the capture through its link; nobody else does.
        seen = await client.get(shot["view_url"], headers={"Cookie": annas_cookie})
        assert seen.status == 200 and seen.headers["Content-Type"] == "image/jpeg"
        assert seen.headers["Cache-Control"] == "no-store"
        assert (await seen.read())[:3] == b"\xff\xd8\xff"
        client.session.cookie_jar.clear()
        assert (await client.get(shot["view_url"])).status == 403
        bernd = await staff.create("bernd", "Bernd", "another long password")
        bernds = await staff_cookie(staff, bernd.id)
        assert (await client.get(shot["view_url"], headers={"Cookie": bernds})).status == 403

        assert (await anna.call("capture_stop"))["data"] == {"closed": True}
    finally:
        await pc.close()
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
