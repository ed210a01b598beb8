"""What the people who run the office see: /healthz, /readyz naming what is down,
/metrics with the office's figures and nothing personal, and JSON logs with a
request id."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from office.appointments import Appointments
from office.catalogue import Town
from office.staff import Staff
from office.tokens import Audience
from signalling import logs
from signalling.access_log import AccessLogger
from signalling.app import create_app
from signalling.keys import APPOINTMENTS, STAFF
from signalling.settings import Settings
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import ROOT, SLOT, WEEKDAYS_7_TO_19, at
from tests.helpers.peers import citizen_peer, clerk_peer, joined

NAMES = ("Walburga Xylander", "Quirin Zebrowski")
EMAILS = ("walburga.x@example.org", "quirin.z@example.org")


async def test_healthz_and_readyz(client: TestClient[Any, Any]) -> None:
    assert await (await client.get("/healthz")).json() == {"ok": True}
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert await ready.json() == {"ok": True, "checks": {"database": "ok"}}


@pytest.mark.parametrize("backend", ["redis"])
async def test_readyz_checks_redis_when_there_is_one(client: TestClient[Any, Any]) -> None:
    ready = await client.get("/readyz")
    assert await ready.json() == {"ok": True, "checks": {"database": "ok", "redis": "ok"}}


# -- /metrics --------------------------------------------------------------------------


async def scrape(client: TestClient[Any, Any], **headers: str) -> tuple[int, str]:
    response = await client.get("/metrics", headers=headers)
    return response.status, await response.text()


SERIES = re.compile(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def value(text: str, name: str, **labels: str) -> float:
    """The value of one series (its name and exactly these labels) in the exposition."""
    for line in text.splitlines():
        match = SERIES.match(line)
        if match and match.group(1) == name and dict(LABEL.findall(match.group(2) or "")) == labels:
            return float(match.group(3))
    raise AssertionError(f"no {name} {labels} in the exposition")


async def test_metrics_carry_the_office_figures_and_nothing_personal(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    first = await book_at(desk, SLOT, email=EMAILS[0], name=NAMES[0])
    second = await book_at(desk, at(10, 40), email=EMAILS[1], name=NAMES[1])
    token = desk.office.issue_token(first, Audience.JOIN_LINK)
    assert (await client.get(f"/t/{token}", allow_redirects=False)).status == 303
    clock.set(at(10, 26))
    for appointment in (first, second):
        await joined(await citizen_peer(base, desk, appointment))
    anna = await clerk_peer(base, staff, clerk)
    assert (await anna.call("queue_next"))["ok"] is True  # Walburga, the earlier one
    assert (await anna.call("chat_send", {"text": "Guten Tag"}))["ok"] is True

    status, text = await scrape(client)
    assert status == 200
    assert value(text, "bb_waiting_citizens", service="meldebescheinigung") == 1
    assert value(text, "bb_longest_wait_seconds", service="meldebescheinigung") >= 0
    assert value(text, "bb_calls_in_progress") == 1
    assert value(text, "bb_clerks", state="in_call") == 1
    assert value(text, "bb_clerks", state="available") == 0
    assert value(text, "bb_queue_joins_total") == 2
    assert value(text, "bb_relayed_messages_total", event="chat_received") == 1
    assert value(text, "bb_capture_sessions") == 0
    assert (
        value(text, "bb_http_requests_total", method="GET", route="/t/{token}", status="303") == 1
    )
    assert "bb_capture_analysis_seconds_bucket" in text and "bb_mrz_seconds_count" in text
    assert "bb_bookings_total" in text and "bb_mails_total" in text
    # The sample Grafana dashboard asks only for series that exist.
    dashboard = (ROOT / "deploy" / "grafana-dashboard.json").read_text()
    asked = set(re.findall(r"\bbb_[a-z_]+", dashboard))
    assert asked and sorted(name for name in asked if name not in text) == []
    # Nothing that names a citizen, a clerk or an appointment, and no token.
    for personal in (*NAMES, *EMAILS, "Walburga", "Xylander", "Anna", "anna"):
        assert personal not in text, personal
    for appointment in (first, second):
        assert appointment.id not in text and appointment.reference not in text
    assert token not in text and "/t/eyJ" not in text


async def test_metrics_from_loopback_by_default(client: TestClient[Any, Any]) -> None:
    assert (await scrape(client))[0] == 200


TOKEN_ONLY = {"metrics_allow": [], "metrics_token": SecretStr("scrape-token-0123456789")}


@pytest.mark.parametrize("settings_update", [TOKEN_ONLY])
async def test_metrics_need_an_allowed_address_or_the_token(
    client: TestClient[Any, Any],
) -> None:
    assert (await scrape(client))[0] == 403
    assert (await scrape(client, Authorization="Bearer wrong"))[0] == 403
    assert (await scrape(client, Authorization="Bearer scrape-token-0123456789"))[0] == 200


@pytest.mark.parametrize("settings_update", [{"behind_proxy": True}])
async def test_behind_the_proxy_a_public_client_may_not_read_metrics(
    client: TestClient[Any, Any],
) -> None:
    """The proxy on this host connects from loopback; the client it names is outside."""
    assert (await scrape(client, **{"X-Forwarded-For": "203.0.113.8"}))[0] == 403
    assert (await scrape(client))[0] == 200  # a scraper on this host, not via the proxy


# -- logs --------------------------------------------------------------------------------


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The root logger in JSON, into a buffer; pytest's own handlers back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    logs.configure("INFO", "json", stream)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


async def test_json_log_lines_carry_the_request_id_and_no_token(
    settings: Settings,
    town: Town,
    clock: Clock,
    engine: AsyncEngine,
    aiohttp_server: Any,
    aiohttp_client: Any,
    json_logs: io.StringIO,
) -> None:
    """Served as ``buergerbuero serve`` serves it: with our access log."""
    app = create_app(settings, town=town, now=clock, run_jobs=False)
    server = await aiohttp_server(app, access_log_class=AccessLogger)
    client: TestClient[Any, Any] = await aiohttp_client(server)
    desk = app[APPOINTMENTS]
    await app[STAFF].create(
        "anna", "Anna A.", "correct horse battery", skills=["meldewesen"], hours=WEEKDAYS_7_TO_19
    )
    appointment = await book_at(desk, SLOT, email=EMAILS[0], name=NAMES[0])
    token = desk.office.issue_token(appointment, Audience.JOIN_LINK)
    response = await client.get(f"/t/{token}", allow_redirects=False)
    request_id = response.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    fields = {"time", "level", "logger", "message", "request_id"}
    assert lines and all(fields <= set(line) for line in lines)
    [access] = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert access["request_id"] == request_id
    assert (access["method"], access["path"], access["status"]) == ("GET", "/t/…", 303)
    text = json_logs.getvalue()
    assert token not in text and NAMES[0] not in text and EMAILS[0] not in text
    assert "127.0.0.1" not in text  # no client address either
    echoed = await client.get("/healthz", headers={"X-Request-Id": "proxy-given-0042"})
    assert echoed.headers["X-Request-Id"] == "proxy-given-0042"
