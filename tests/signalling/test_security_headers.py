"""Every response carries the security headers: pages, JSON, redirects, static files
and every error status, in production (with HSTS) and in demo mode (without).

The walk requests every route of the app as a stranger would (no cookies, no CSRF
token, placeholder path parameters), so it meets the errors a route raises itself;
the error statuses are then provoked one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy

from signalling.app import create_app
from signalling.settings import Mode, Settings
from tests.helpers.clock import Clock

CRASH = "/__test__/crash"
PLACEHOLDER = re.compile(r"\{[^}]+\}")
UUID = "00000000-0000-4000-8000-000000000000"


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("a bug, provoked by the test")


@pytest.fixture
def app(app: web.Application) -> web.Application:
    """The production app, with one route that crashes (for the 500 page)."""
    app.router.add_get(CRASH, crash)
    return app


def expect_headers(
    headers: CIMultiDictProxy[str], *, https: bool, what: str, cached: bool = False
) -> None:
    """The set every answer has. ``cached``: a static file or the town's stylesheet,
    which browsers may keep; everything else may hold personal data: ``no-store``."""
    if cached:
        assert headers.get("Cache-Control", "").startswith("public, max-age="), what
    else:
        assert headers.get("Cache-Control") == "no-store", what
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, what
    assert "frame-ancestors 'none'" in csp, what
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") == "same-origin", what
    assert "camera=(self)" in headers.get("Permissions-Policy", ""), what
    hsts = headers.get("Strict-Transport-Security")
    if https:
        assert hsts is not None and "max-age=31536000" in hsts, what
    else:
        assert hsts is None, what


def route_paths(app: web.Application) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, placeholders filled with a harmless value."""
    for route in app.router.routes():
        if route.method in ("*", "HEAD"):
            continue
        canonical = route.resource.canonical if route.resource is not None else ""
        if canonical == "/static":
            continue  # a prefix, not a page: see the static tests below
        path = PLACEHOLDER.sub(UUID, canonical)
        yield route.method, path


async def test_every_route_answers_with_the_headers(
    client: TestClient[Any, Any], app: web.Application
) -> None:
    seen_statuses: set[int] = set()
    walked = 0
    for method, path in route_paths(app):
        response = await client.request(method, path, allow_redirects=False)
        await response.read()
        cached = path == "/town.css" and response.status == 200
        what = f"{method} {path} -> {response.status}"
        expect_headers(response.headers, https=True, what=what, cached=cached)
        seen_statuses.add(response.status)
        walked += 1
    assert walked > 40  # every page, API route, socket.io and the after-call pages
    # The walk itself meets pages, redirects and the usual refusals.
    assert {200, 303, 403, 404} <= seen_statuses


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/does-not-exist", {}, 404),
        ("GET", "/api/v1/nothing-here", {}, 404),
        ("GET", "/termin/warteraum", {}, 404),  # no appointment cookie
        ("GET", "/erfassungen/not-a-token", {}, 403),  # a capture view link
        ("GET", "/abmelden", {}, 405),
        ("GET", "/api/v1/appointments/cancel", {}, 405),
        ("DELETE", "/anmelden", {}, 403),  # an unsafe method without a CSRF token
        ("POST", "/anmelden", {"data": {"username": "x", "password": "y"}}, 403),  # no CSRF
        ("POST", "/anmelden", {"data": {"username": "x" * 200_000}}, 413),
        ("POST", "/api/v1/appointments", {"data": b"{", "headers": {"Content-Type": "x"}}, 400),
        ("POST", "/api/v1/appointments", {"json": {"consent": 1}}, 400),
        ("GET", CRASH, {}, 500),
        ("GET", "/static/css/does-not-exist.css", {}, 404),
        ("GET", "/t/not-a-token", {}, 404),
    ],
)
async def test_error_statuses_carry_the_headers(
    client: TestClient[Any, Any], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = await client.request(method, path, allow_redirects=False, **kwargs)
    await response.read()
    assert response.status == status, (path, await response.text())
    cached = path.startswith("/static/")  # nothing personal, even when missing
    what = f"{method} {path} -> {status}"
    expect_headers(response.headers, https=True, what=what, cached=cached)


async def test_static_files_and_redirects_carry_the_headers(
    client: TestClient[Any, Any],
) -> None:
    static = await client.get("/static/css/app.css")
    assert static.status == 200
    expect_headers(static.headers, https=True, what="static file", cached=True)
    redirected = await client.get("/sachbearbeitung", allow_redirects=False)
    assert redirected.status == 303
    expect_headers(redirected.headers, https=True, what="login redirect")


@pytest.fixture
async def demo_client(
    tmp_path: Path, aiohttp_server: Any, aiohttp_client: Any
) -> TestClient[Any, Any]:
    settings = Settings(
        _env_file=None,
        mode=Mode.DEMO,
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        data_dir=tmp_path / "var",
    )
    app = create_app(settings, now=Clock(), run_jobs=False)
    server = await aiohttp_server(app)
    client: TestClient[Any, Any] = await aiohttp_client(server, cookie_jar=CookieJar(unsafe=True))
    return client


@pytest.mark.parametrize(
    ("path", "status"), [("/", 200), ("/dev/outbox", 200), ("/dev/outbox/x.eml", 404)]
)
async def test_plain_http_demo_has_the_headers_but_no_hsts(
    demo_client: TestClient[Any, Any], path: str, status: int
) -> None:
    response = await demo_client.get(path)
    assert response.status == status
    expect_headers(response.headers, https=False, what=path)
