"""Staff sessions end as they should, and take their sockets with them: a new session
id at every login, logout here or everywhere, a changed account, an expired session.
On memory and on the real Redis, where the socket may sit on another node."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from office.models import Role
from office.staff import Staff
from signalling.sockets.keys import STAFF_SOCKETS
from tests.helpers.clock import Clock
from tests.helpers.pages import csrf_of
from tests.helpers.peers import Peer, new_peer, url_of
from tests.helpers.staff_login import code_at, enrol, post_code, post_login, session_cookie

BOTH = pytest.mark.parametrize("backend", ["memory", "redis"])


async def console(base: str, token: str) -> Peer:
    peer = new_peer("/clerk")
    await peer.connect(base, f"bb_staff={token}")
    await peer.next("state_synced")
    return peer


async def gone(peer: Peer, within: float = 5.0) -> bool:
    """Whether the server closes the peer's socket within the time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while peer.client.connected:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def logout(client: TestClient[Any, Any], token: str, *, everywhere: bool) -> None:
    client.session.cookie_jar.update_cookies({"bb_staff": token})
    page = await client.get("/sachbearbeitung")
    assert page.status == 200
    data = {"csrf": csrf_of(await page.text())}
    if everywhere:
        data["ueberall"] = "1"
    response = await client.post("/abmelden", data=data, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/anmelden"


async def test_every_login_gets_a_new_session_and_ends_the_one_it_replaces(
    client: TestClient[Any, Any], staff: Staff, clerk: int, clock: Clock
) -> None:
    secret, first = await enrol(client, clock)
    assert first.status == 303
    before = session_cookie(client)
    assert await staff.session_clerk(before) is not None
    clock.advance(seconds=30)
    assert (await post_login(client)).status == 303  # the same browser logs in again
    again = await post_code(client, "/anmelden/code", code_at(secret, clock))
    assert again.status == 303
    after = session_cookie(client)
    assert after and after != before
    assert await staff.session_clerk(before) is None  # no fixation: the old id is dead
    assert await staff.session_clerk(after) is not None


@BOTH
async def test_logout_ends_this_session_and_its_sockets_only(
    client: TestClient[Any, Any], base: str, staff: Staff, clerk: int
) -> None:
    here, there = await staff.open_session(clerk), await staff.open_session(clerk)
    here_socket, there_socket = await console(base, here), await console(base, there)
    await logout(client, here, everywhere=False)
    assert await gone(here_socket)
    assert await staff.session_clerk(here) is None
    assert await staff.session_clerk(there) is not None
    assert there_socket.client.connected
    assert (await there_socket.call("day_refresh"))["ok"] is True


@BOTH
async def test_logout_everywhere_ends_every_session_and_socket(
    client: TestClient[Any, Any], base: str, staff: Staff, clerk: int
) -> None:
    other = await staff.create("bert", "Bert B.", "correct horse battery", skills=["meldewesen"])
    here, there = await staff.open_session(clerk), await staff.open_session(clerk)
    berts = await staff.open_session(other.id)
    sockets = [await console(base, here), await console(base, there)]
    bert_socket = await console(base, berts)
    await logout(client, here, everywhere=True)
    for socket in sockets:
        assert await gone(socket)
    assert await staff.session_clerk(here) is None and await staff.session_clerk(there) is None
    home = await client.get("/sachbearbeitung", allow_redirects=False)
    assert home.status == 303  # this browser too
    assert bert_socket.client.connected and await staff.session_clerk(berts) is not None


@BOTH
async def test_a_changed_account_ends_its_sessions_and_sockets(
    base: str, staff: Staff, clerk: int
) -> None:
    for change in ({"skills": ["beratung"]}, {"role": Role.ADMIN}, {"active": False}):
        token = await staff.open_session(clerk)
        socket = await console(base, token)
        await staff.set_access("anna", **change)
        assert await gone(socket), change
        assert await staff.session_clerk(token) is None
        await staff.set_access("anna", skills=["meldewesen"], role=Role.CLERK, active=True)


async def test_an_expired_session_loses_its_socket_at_the_next_sweep(
    client: TestClient[Any, Any], base: str, staff: Staff, clerk: int, clock: Clock
) -> None:
    socket = await console(base, await staff.open_session(clerk))
    sweeper = client.app[STAFF_SOCKETS]
    assert await sweeper.recheck() == 0
    clock.advance(seconds=staff.session_ttl.total_seconds() + 1)
    assert await sweeper.recheck() == 1
    assert await gone(socket)


@pytest.mark.parametrize("backend", ["redis"])
async def test_logout_on_one_node_closes_the_socket_on_another(
    client: TestClient[Any, Any], node_b: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    token = await staff.open_session(clerk)
    socket = await console(url_of(node_b), token)  # node B
    await logout(client, token, everywhere=False)  # node A
    assert await gone(socket)
