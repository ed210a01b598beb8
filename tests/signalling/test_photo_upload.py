"""Full-resolution stills: the clerk asks, the citizen's page uploads one photo over HTTPS.

The server is the real app with real sockets; the citizen's page is stood in for by
the test client posting the form the page's script posts (the one-time link from
``capture_still_requested``, the CSRF token from the waiting-room page, the session
cookie of the appointment).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.models import Appointment, Capture, SpentToken
from office.photo_uploads import UPLOAD_TTL
from office.staff import Staff
from signalling.keys import PHOTO_UPLOADS
from tests.helpers.booking import book_at, citizen_cookie, csrf_for, staff_cookie
from tests.helpers.clock import Clock
from tests.helpers.constants import SAMPLES, SLOT
from tests.helpers.peers import Peer

BACK = SAMPLES / "deu_idcard_2021_back.png"  # the side with the MRZ
DESK = (60, 90, 120)


def photo_of(card_file: Path) -> bytes:
    """A 2400x1600 phone photo (JPEG) of the card on a desk, the card 2.5 times as
    large as in the video tests' 1280x720 frames."""
    card = cv2.imread(str(card_file), cv2.IMREAD_COLOR)
    assert card is not None, card_file
    card = cv2.resize(card, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
    frame = np.full((1600, 2400, 3), DESK, dtype=np.uint8)
    height, width = card.shape[:2]
    top, left = (1600 - height) // 2, (2400 - width) // 2
    frame[top : top + height, left : left + width] = card
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(encoded.tobytes())


@dataclass
class Check:
    """A call with an identity check started (and, by default, consented to)."""

    client: TestClient[Any, Any]
    desk: Appointments
    appointment: Appointment
    citizen: Peer
    anna: Peer

    @property
    def cookie(self) -> str:
        return citizen_cookie(self.desk, self.appointment)

    async def request(self, kind: str = "back", german_id: bool = False) -> str:
        """The clerk asks for a photo; returns the upload link the citizen got."""
        before = len(self.citizen.events["capture_still_requested"])
        asked = await self.anna.call("capture_still", {"kind": kind, "german_id": german_id})
        assert asked == {"ok": True, "data": {"requested": kind}}, asked
        pushed = await self.citizen.next("capture_still_requested", count=before + 1)
        assert pushed["kind"] == kind
        url: str = pushed["upload_url"]
        assert url.startswith("/erfassungen/hochladen/")
        return url

    async def captures(self) -> int:
        async with self.desk.office.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Capture)) or 0)


async def upload(
    client: TestClient[Any, Any],
    url: str,
    cookie: str,
    data: bytes,
    *,
    content_type: str = "image/jpeg",
    csrf: bool = True,
    origin: str | None = None,
) -> tuple[int, Any]:
    """Post a photo as the page does; returns the status and the JSON (or None)."""
    token, csrf_cookie = await csrf_for(client, cookie)
    client.session.cookie_jar.clear()
    form = FormData()
    if csrf:
        form.add_field("csrf", token)
    form.add_field("photo", data, filename="foto.jpg", content_type=content_type)
    headers = {"Cookie": f"{cookie}; bb_csrf={csrf_cookie}"}
    if origin is not None:
        headers["Origin"] = origin
    response = await client.post(url, data=form, headers=headers)
    body = await response.json() if response.content_type == "application/json" else None
    if body is not None:
        assert response.headers["Cache-Control"] == "no-store"
    return response.status, body


@asynccontextmanager
async def in_call(
    client: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    *,
    start: bool = True,
    consent: bool = True,
) -> AsyncIterator[Check]:
    base = str(client.make_url("/"))
    appointment = await book_at(desk, SLOT)
    clock.set(datetime(2026, 6, 1, 10, 25, tzinfo=UTC))
    citizen, anna = Peer("/citizen"), Peer("/clerk")
    await citizen.connect(base, citizen_cookie(desk, appointment))
    await anna.connect(base, await staff_cookie(staff, clerk))
    try:
        await citizen.call("queue_join")
        assert (await anna.call("queue_next"))["ok"] is True
        if start:
            started = await anna.call("verification_start", {"document_type": "id_card"})
            assert started["ok"] is True
        if consent:
            assert (await citizen.call("verification_consent"))["ok"] is True
        yield Check(client, desk, appointment, citizen, anna)
    finally:
        await citizen.disconnect()
        await anna.disconnect()


def need_specimen() -> None:
    if not BACK.exists():
        pytest.skip(f"the shared specimen {BACK} is not there")


async def test_a_photo_from_the_device_is_analysed_and_kept_once(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    need_specimen()
    photo = photo_of(BACK)
    async with in_call(client, desk, staff, clerk, clock) as check:
        url = await check.request("back")
        status, body = await upload(client, url, check.cookie, photo)
        assert (status, body) == (201, {"received": "back"})

        shot = await check.anna.next("capture_taken", within=15)
        assert shot["kind"] == "back" and shot["source"] == "still" and shot["auto"] is False
        # The same analysis as a video frame: the card found and flattened to ID-1 ...
        assert shot["analysis"]["found"] is True and shot["flattened"] is True
        assert abs(shot["width"] / shot["height"] - 85.6 / 54) < 0.02
        # ... at the photo's own resolution (the card is 1770 px wide in it), not the
        # 1200 px of a video capture: the fine features are why the photo was taken.
        assert 1700 <= shot["width"] <= 1850, shot["width"]
        assert shot["analysis"]["quality"]["verdict"] == "ok"
        analysed = await check.anna.next("capture_analysed", within=30)
        assert analysed["capture_id"] == shot["capture_id"]
        assert analysed["analysis"]["mrz"]["valid"] is True
        # Stored as a marked copy that the clerk of the call can see.
        seen = await client.get(
            shot["view_url"], headers={"Cookie": await staff_cookie(staff, clerk)}
        )
        assert seen.status == 200 and (await seen.read())[:3] == b"\xff\xd8\xff"
        assert await check.captures() == 1

        # The link is good for one photo only.
        status, body = await upload(client, url, check.cookie, photo)
        assert status == 410 and body["error"]["code"] == "upload_token_used"
        assert "bereits" in body["error"]["message"]
        assert await check.captures() == 1
        assert len(check.anna.events["capture_taken"]) == 1

        # A new request makes a new link, and the old one stays spent.
        second = await check.request("back")
        assert second != url
        assert (await upload(client, second, check.cookie, photo))[0] == 201
        assert await check.captures() == 2
        # Spent tokens are forgotten once they would have expired anyway.
        clock.advance(seconds=UPLOAD_TTL.total_seconds() + 1)
        assert await client.app[PHOTO_UPLOADS].purge_spent() == 2
        async with desk.office.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(SpentToken)) == 0


async def test_an_expired_link_is_refused_and_nothing_is_kept(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    need_specimen()
    async with in_call(client, desk, staff, clerk, clock) as check:
        url = await check.request("back")
        clock.advance(seconds=UPLOAD_TTL.total_seconds() + 1)
        status, body = await upload(client, url, check.cookie, photo_of(BACK))
        assert status == 410 and body["error"]["code"] == "upload_token_expired"
        assert "abgelaufen" in body["error"]["message"]
        assert await check.captures() == 0
        assert "capture_taken" not in check.anna.events


async def test_another_appointments_cookie_or_a_forged_link_is_refused(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    need_specimen()
    photo = photo_of(BACK)
    async with in_call(client, desk, staff, clerk, clock) as check:
        url = await check.request("back")
        other = await book_at(desk, SLOT + timedelta(minutes=30), email="max@example.org")
        status, body = await upload(client, url, citizen_cookie(desk, other), photo)
        assert status == 403 and body["error"]["code"] == "upload_forbidden"
        token = url.rsplit("/", 1)[1]
        forged = url[: -len(token)] + token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
        status, body = await upload(client, forged, check.cookie, photo)
        assert status == 403 and body["error"]["code"] == "upload_token_invalid"
        assert await check.captures() == 0
        # Refusals do not use the link up: the citizen's own upload still goes through.
        assert (await upload(client, url, check.cookie, photo))[0] == 201
        assert await check.captures() == 1


async def test_the_csrf_rules_of_every_form_hold(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    need_specimen()
    photo = photo_of(BACK)
    async with in_call(client, desk, staff, clerk, clock) as check:
        url = await check.request("back")
        assert (await upload(client, url, check.cookie, photo, csrf=False))[0] == 403
        foreign = await upload(client, url, check.cookie, photo, origin="https://evil.test")
        assert foreign[0] == 403
        assert await check.captures() == 0
        same_site = await upload(client, url, check.cookie, photo, origin="https://termine.test")
        assert same_site[0] == 201
        assert await check.captures() == 1


async def test_what_is_not_a_photo_is_refused_and_nothing_is_kept(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    need_specimen()
    async with in_call(client, desk, staff, clerk, clock) as check:
        url = await check.request("back")
        not_an_image = b"<html>not a photo</html>" * 100
        status, body = await upload(client, url, check.cookie, not_an_image)
        assert status == 422 and body["error"]["code"] == "image_invalid"
        # A JPEG's first bytes with nothing decodable behind them.
        broken = photo_of(BACK)[:600]
        status, body = await upload(client, url, check.cookie, broken)
        assert status == 422 and body["error"]["code"] == "image_invalid"
        # A PNG that claims 30000 x 30000 pixels is refused before it is decoded.
        ok, png = cv2.imencode(".png", np.zeros((600, 800, 3), np.uint8))
        assert ok
        bomb = bytearray(png.tobytes())
        bomb[16:24] = (30000).to_bytes(4, "big") * 2
        status, body = await upload(
            client, url, check.cookie, bytes(bomb), content_type="image/png"
        )
        assert status == 413 and body["error"]["code"] == "image_too_large"
        assert await check.captures() == 0
        assert "capture_taken" not in check.anna.events
        # The link is still good for a real photo.
        assert (await upload(client, url, check.cookie, photo_of(BACK)))[0] == 201
        assert await check.captures() == 1


async def test_a_check_that_is_over_takes_no_photo(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    need_specimen()
    async with in_call(client, desk, staff, clerk, clock) as check:
        url = await check.request("back")
        finished = await check.anna.call(
            "verification_finish", {"outcome": "failed", "reason": "Abgebrochen"}
        )
        assert finished["ok"] is True
        status, body = await upload(client, url, check.cookie, photo_of(BACK))
        assert status == 409 and body["error"]["code"] == "verification_closed"
        assert await check.captures() == 0


async def test_a_photo_is_asked_for_only_in_a_call_with_a_check_consented_to(
    client: TestClient[Any, Any], desk: Appointments, staff: Staff, clerk: int, clock: Clock
) -> None:
    async with in_call(client, desk, staff, clerk, clock, start=False, consent=False) as check:
        no_check = await check.anna.call("capture_still", {"kind": "front", "german_id": True})
        assert no_check["ok"] is False and no_check["error"]["code"] == "conflict"
        await check.anna.call("verification_start", {"document_type": "id_card"})
        early = await check.anna.call("capture_still", {"kind": "front", "german_id": True})
        assert early["ok"] is False and early["error"]["code"] == "conflict"
        assert "zugestimmt" in early["error"]["message"]
        bad = await check.anna.call("capture_still", {"kind": "passport_page"})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
        assert "capture_still_requested" not in check.citizen.events
        await check.citizen.call("verification_consent")
        assert (await check.anna.call("capture_still", {"kind": "front"}))["ok"] is True
        await check.anna.call("call_end")
        after = await check.anna.call("capture_still", {"kind": "front"})
        assert after["ok"] is False and after["error"]["code"] == "not_in_call"


def test_upload_links_stay_out_of_the_access_log() -> None:
    from signalling.access_log import redact

    assert redact("/erfassungen/hochladen/eyJ0.eXAi.c2ln") == "/erfassungen/hochladen/…"
    assert redact("/erfassungen/eyJ0.eXAi.c2ln") == "/erfassungen/…"
    assert redact("/t/abc") == "/t/…"
