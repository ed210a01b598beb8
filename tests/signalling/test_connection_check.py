"""The waiting room's connection check on the server (signalling/pages/connection_check.py):
ICE servers with short-lived TURN credentials, and the download and upload probes, only
for a citizen whose appointment session is valid and whose check-in has not closed.
The page's side runs in Chromium (tests/browser/webrtc/test_connection_check.py)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from office.appointments import Appointments
from signalling.pages.connection_check import CHECK_TURN_TTL, MAX_UPLOAD_BYTES
from signalling.sockets.ice import turn_credentials
from tests.helpers.booking import book_at, citizen_cookie, csrf_for
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT

TURN_SECRET = "turn-secret-for-the-check-0123456789"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'check.db'}"  # the check keeps nothing in the database


@pytest.fixture
def settings_update() -> dict[str, Any]:
    return {
        "stun_urls": ["stun:turn.stadt.test:3478"],
        "turn_urls": ["turn:turn.stadt.test:3478?transport=udp"],
        "turn_secret": SecretStr(TURN_SECRET),
        "turn_ttl_seconds": 6 * 3600,  # a call's: the check's are shorter
    }


@pytest.fixture
async def cookie(desk: Appointments, clerk: int) -> str:
    return citizen_cookie(desk, await book_at(desk, SLOT))


async def post_probe(
    client: TestClient[Any, Any], cookie: str, size: int, *, csrf: bool = True
) -> int:
    token, csrf_cookie = await csrf_for(client, cookie, "data-probe-csrf")
    client.session.cookie_jar.clear()
    form = FormData()
    if csrf:
        form.add_field("csrf", token)
    form.add_field("probe", b"\x5a" * size, filename="probe.bin")
    response = await client.post(
        "/termin/verbindung/probe",
        data=form,
        headers={"Cookie": f"{cookie}; bb_csrf={csrf_cookie}"},
    )
    await response.read()
    return response.status


async def test_the_ice_servers_come_with_credentials_that_last_minutes(
    client: TestClient[Any, Any], cookie: str
) -> None:
    response = await client.get("/termin/verbindung", headers={"Cookie": cookie})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    answer = await response.json()
    assert answer["ice_transport_policy"] == "all"
    stun, turn = answer["ice_servers"]
    assert stun == {"urls": ["stun:turn.stadt.test:3478"]}
    assert turn["urls"] == ["turn:turn.stadt.test:3478?transport=udp"]
    expires_at, user = turn["username"].split(":")
    assert user.startswith("a-") and len(user) == 10
    # Minted by the wall clock (coturn checks against it), valid ten minutes, not six hours.
    lifetime = int(expires_at) - time.time()
    assert CHECK_TURN_TTL - 5 <= lifetime <= CHECK_TURN_TTL
    assert turn["credential"] == turn_credentials(TURN_SECRET, user, int(expires_at))[1]


async def test_without_a_session_or_after_the_check_in_nothing_is_handed_out(
    client: TestClient[Any, Any], cookie: str, clock: Clock
) -> None:
    for path in ("/termin/verbindung", "/termin/verbindung/probe?kib=1"):
        response = await client.get(path)
        assert response.status == 404, path
        assert (await response.json())["error"]["code"] == "not_found"
    # The check-in closes 15 minutes after the start: the check is over too.
    clock.set(SLOT + timedelta(minutes=15))
    for path in ("/termin/verbindung", "/termin/verbindung/probe?kib=1"):
        response = await client.get(path, headers={"Cookie": cookie})
        assert response.status == 409, path
        assert (await response.json())["error"]["code"] == "checkin_closed"
    # Before its window opens a citizen may check (the page is there to be tried out).
    clock.set(SLOT - timedelta(days=1))
    response = await client.get("/termin/verbindung", headers={"Cookie": cookie})
    assert response.status == 200


async def test_the_download_probe_is_random_uncached_and_bounded(
    client: TestClient[Any, Any], cookie: str
) -> None:
    bodies = []
    for _ in range(2):
        response = await client.get("/termin/verbindung/probe?kib=4", headers={"Cookie": cookie})
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        bodies.append(await response.read())
    assert [len(body) for body in bodies] == [4096, 4096]
    assert bodies[0] != bodies[1]  # fresh random bytes: nothing for a proxy to cache or zip
    for kib in ("0", "513", "lots"):
        response = await client.get(
            f"/termin/verbindung/probe?kib={kib}", headers={"Cookie": cookie}
        )
        assert response.status == 400, kib


async def test_the_upload_probe_takes_a_form_with_its_token_and_a_bounded_body(
    client: TestClient[Any, Any], cookie: str
) -> None:
    assert await post_probe(client, cookie, 128 * 1024) == 204
    assert await post_probe(client, cookie, 1024, csrf=False) == 403
    assert await post_probe(client, cookie, MAX_UPLOAD_BYTES + 32 * 1024) == 413


async def test_an_appointment_gets_five_checks_in_ten_minutes(
    client: TestClient[Any, Any], desk: Appointments, cookie: str, clock: Clock
) -> None:
    async def status(cookie: str) -> int:
        response = await client.get("/termin/verbindung/probe?kib=1", headers={"Cookie": cookie})
        return response.status

    assert [await status(cookie) for _ in range(21)] == [200] * 20 + [429]
    # Another appointment, from the same address (one mobile carrier's), has its own.
    other = citizen_cookie(desk, await book_at(desk, SLOT + timedelta(minutes=30)))
    assert await status(other) == 200
