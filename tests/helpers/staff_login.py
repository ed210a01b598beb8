"""A clerk's way through the login pages (password, TOTP enrolment, code), as a browser
would post it."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.helpers.clock import Clock
from tests.helpers.pages import csrf_of

PASSWORD = "correct horse battery"  # the `clerk` fixture's


async def form_token(client: TestClient[Any, Any], path: str = "/anmelden") -> str:
    page = await client.get(path)
    assert page.status == 200
    return csrf_of(await page.text())


async def post_login(
    client: TestClient[Any, Any], username: str = "anna", password: str = PASSWORD
) -> ClientResponse:
    data = {"csrf": await form_token(client), "username": username, "password": password}
    return await client.post("/anmelden", data=data, allow_redirects=False)


async def post_code(client: TestClient[Any, Any], path: str, code: str) -> ClientResponse:
    data = {"csrf": await form_token(client), "code": code}
    return await client.post(path, data=data, allow_redirects=False)


def code_at(secret: str, clock: Clock) -> str:
    return pyotp.TOTP(secret).at(clock().timestamp())


def wrong_code(secret: str, clock: Clock) -> str:
    """Six digits that are none of the codes accepted around now."""
    totp = pyotp.TOTP(secret)
    accepted = {totp.at(clock().timestamp() + d) for d in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(10**6)) if c not in accepted)


async def enrol(client: TestClient[Any, Any], clock: Clock) -> tuple[str, ClientResponse]:
    """First login of a clerk without a second factor; returns the secret and the reply."""
    response = await post_login(client)
    assert response.status == 303
    assert response.headers["Location"] == "/anmelden/einrichten"
    page = await client.get("/anmelden/einrichten")
    assert page.status == 200
    html = await page.text()
    assert re.search(r"<svg[^>]*>.*</svg>", html, re.DOTALL), "no inline SVG QR code"
    match = re.search(r'<code class="bb-secret">([A-Z2-7]{16,})</code>', html)
    assert match, "the secret is not shown"
    secret = match.group(1)
    return secret, await post_code(client, "/anmelden/einrichten", code_at(secret, clock))


def session_cookie(client: TestClient[Any, Any]) -> str:
    cookies = {c.key: c.value for c in client.session.cookie_jar}
    return cookies.get("bb_staff", "")
