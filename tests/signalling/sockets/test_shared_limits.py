"""Rate limits hold for the office, not per node: with Redis, two nodes count the same
client's logins and socket connections together."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from tests.helpers.booking import book_at, citizen_cookie
from tests.helpers.constants import SLOT
from tests.helpers.pages import csrf_of
from tests.helpers.peers import new_peer, refusal_code, refused, url_of

pytestmark = pytest.mark.parametrize("backend", ["redis"])
CLIENT = {"X-Forwarded-For": "203.0.113.77"}  # one client, as the proxy names it


@pytest.fixture
def settings_update() -> dict[str, Any]:
    return {"behind_proxy": True, "socket_connects_per_minute": 10}


async def login_attempt(client: TestClient[Any, Any]) -> int:
    page = await client.get("/anmelden")
    data = {"csrf": csrf_of(await page.text()), "username": "nobody", "password": "x" * 12}
    response = await client.post("/anmelden", data=data, headers=CLIENT, allow_redirects=False)
    return response.status


async def test_login_attempts_count_on_every_node(
    client: TestClient[Any, Any], node_b: TestClient[Any, Any]
) -> None:
    statuses = [await login_attempt(client if n % 2 else node_b) for n in range(20)]
    assert statuses == [401] * 20  # the limit: 20 in ten minutes, wherever they land
    assert await login_attempt(client) == 429
    assert await login_attempt(node_b) == 429
    other = {"X-Forwarded-For": "198.51.100.5"}  # another client is not held back
    page = await node_b.get("/anmelden")
    data = {"csrf": csrf_of(await page.text()), "username": "nobody", "password": "x" * 12}
    assert (await node_b.post("/anmelden", data=data, headers=other)).status == 401


async def test_socket_connections_count_on_every_node(
    client: TestClient[Any, Any], node_b: TestClient[Any, Any], desk: Appointments, clerk: int
) -> None:
    appointment = await book_at(desk, SLOT)
    cookie = citizen_cookie(desk, appointment)
    for n in range(10):
        peer = new_peer("/citizen")
        base = url_of(client) if n % 2 else url_of(node_b)
        await peer.client.connect(
            base,
            headers={"Cookie": cookie, **CLIENT},
            auth={"v": 1},
            namespaces=["/citizen"],
            transports=["websocket"],
            wait_timeout=5,
        )
        await peer.disconnect()
    for base in (url_of(client), url_of(node_b)):
        refusal = await refused(base, "/citizen", f"{cookie}", headers=CLIENT)
        assert refusal_code(refusal) == "rate_limited"
