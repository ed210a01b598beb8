"""Calls through TURN only, with a real coturn (Debian's ``turnserver``) that the test
starts inside the loopback namespace, as a town runs it: ``use-auth-secret`` with the
credentials the app mints (coturn's REST-API scheme).

The app runs with ``BB_ICE_RELAY_ONLY``: both browsers take only relay candidates, so
the call's media goes through coturn or nowhere; the citizen's capture connection to
the server's own peer (aiortc) too. A wrong secret or an expired credential gets no
relay, so no call.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, expect
from pydantic import SecretStr

from signalling.keys import APPOINTMENTS, CAPTURES
from signalling.settings import Settings
from signalling.sockets.ice import turn_credentials
from tests.helpers.call_pages import (
    MEDIA_MS,
    Watched,
    assert_remote_video_plays,
    book_soon,
    clerk_console,
    open_all_day,
    waiting_citizen,
)
from tests.helpers.constants import ROOT
from tests.helpers.services import REQUIRE_SERVICES, free_port

SECRET = "turn-test-secret-0123456789abcdef"
REALM = "buergerbuero.test"

# Every RTCPeerConnection a page makes, for the test to read its stats (an init script:
# the app's own code is untouched).
RECORD_PEERS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__peers.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""

# The selected path of the newest peer connection that has one: the types of its two
# ends ("relay" when through TURN), and the connection's policy.
SELECTED_PATH = """
async () => {
  for (const pc of [...window.__peers].reverse()) {
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type !== "transport" || !report.selectedCandidatePairId) continue;
      const pair = stats.get(report.selectedCandidatePairId);
      if (!pair || pair.state !== "succeeded") continue;
      return {
        local: stats.get(pair.localCandidateId).candidateType,
        remote: stats.get(pair.remoteCandidateId).candidateType,
        policy: pc.getConfiguration().iceTransportPolicy,
      };
    }
  }
  return null;
}
"""

# Gather with one TURN server and a given credential: how many relay candidates come.
RELAY_CANDIDATES = """
async ({url, username, credential}) => {
  const pc = new RTCPeerConnection({
    iceServers: [{urls: url, username, credential}], iceTransportPolicy: "relay"});
  pc.createDataChannel("probe");
  const relays = [];
  pc.onicecandidate = (e) => { if (e.candidate) relays.push(e.candidate.type); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
    setTimeout(done, 8000);
  });
  pc.close();
  return relays.filter((type) => type === "relay").length;
}
"""


@dataclass(frozen=True)
class Turn:
    url: str
    secret: str


def turnserver() -> str:
    path = shutil.which("turnserver")
    if path is None:
        message = "coturn is not installed (apt-get install coturn)"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


SHIPPED_CONFIG = ROOT / "deploy" / "turnserver.conf"


@pytest.fixture
def turn_config() -> str:
    """ "test": relays between loopback peers (all there is in the namespace);
    "shipped": deploy/turnserver.conf, which refuses to relay into local networks."""
    return "test"


@pytest.fixture
def turn(tmp_path: Path, turn_config: str) -> Iterator[Turn]:
    """coturn on loopback, started as a town would (use-auth-secret), on free ports."""
    port = free_port()
    relay = free_port()
    log = tmp_path / "turn.log"
    if turn_config == "shipped":
        config = ["-c", str(SHIPPED_CONFIG)]
    else:
        config = ["-n", "--use-auth-secret", "--fingerprint", "--allow-loopback-peers"]
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [
            turnserver(),
            *config,
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--min-port={relay}",
            f"--max-port={relay + 40}",
            f"--static-auth-secret={SECRET}",
            f"--realm={REALM}",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            f"--userdb={tmp_path / 'turndb'}",
            f"--pidfile={tmp_path / 'turn.pid'}",
            f"--log-file={log}",
            "--simple-log",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while "Total General servers" not in (log.read_text() if log.exists() else ""):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"coturn did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Turn(f"turn:127.0.0.1:{port}?transport=udp", SECRET)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def app_secret() -> str:
    """The secret the app mints credentials with (coturn's, unless a test says not)."""
    return SECRET


@pytest.fixture
def settings(settings: Settings, turn: Turn, app_secret: str) -> Settings:
    return settings.model_copy(
        update={
            "turn_urls": [turn.url],
            "turn_secret": SecretStr(app_secret),
            "ice_relay_only": True,
        }
    )


async def selected_path(page: Page) -> dict[str, str] | None:
    path: dict[str, str] | None = await page.evaluate(SELECTED_PATH)
    return path


@dataclass
class RecordedCall:
    """A citizen and a clerk whose pages record their peer connections; the clerk
    has just taken the citizen."""

    appointment: Any
    citizen: Watched
    clerk: Watched
    contexts: tuple[BrowserContext, BrowserContext]

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


async def call_taken(app: web.Application, server: str, browser: Browser) -> RecordedCall:
    desk = app[APPOINTMENTS]
    clerk_id = await open_all_day(app)
    appointment = await book_soon(desk)
    citizen_context, citizen = await waiting_citizen(
        browser, server, desk, appointment, RECORD_PEERS
    )
    clerk_context, clerk = await clerk_console(browser, server, app, clerk_id, RECORD_PEERS)
    await clerk.page.get_by_role("button", name="Erika Mustermann aufrufen").click()
    await expect(citizen.page.get_by_role("heading", name="Videogespräch")).to_be_visible()
    return RecordedCall(appointment, citizen, clerk, (citizen_context, clerk_context))


async def assert_no_path(call: RecordedCall) -> None:
    """A while later, neither side has a path: the call never connected."""
    await call.citizen.page.wait_for_timeout(6000)
    for side in (call.citizen.page, call.clerk.page):
        assert await side.locator("#stage").get_attribute("data-call-state") == "connecting"
        assert await selected_path(side) is None


async def test_a_relay_only_call_and_its_capture_go_through_coturn(
    app: web.Application, server: str, browser: Browser
) -> None:
    call = await call_taken(app, server, browser)
    page, console = call.citizen.page, call.clerk.page

    # The call: video both ways, and both ends of the path are coturn's relays.
    await assert_remote_video_plays(page)
    await assert_remote_video_plays(console)
    for side in (page, console):
        assert await selected_path(side) == {"local": "relay", "remote": "relay", "policy": "relay"}

    # The identity check: the citizen's capture connection reaches the server's own
    # peer through the same coturn (the browser may not use anything else).
    await console.get_by_role("tab", name="Identitätsprüfung").click()
    panel = console.locator("#verification")
    await panel.get_by_role("radio", name="Personalausweis").check()
    await panel.get_by_role("button", name="Prüfung starten").click()
    await page.get_by_role("button", name="Einverstanden").click()
    await expect(page.locator("#verification-status")).to_have_text(
        "Die Kamera ist für die Aufnahme verbunden.", timeout=MEDIA_MS
    )
    capture_path = await selected_path(page)  # the newest connection: the capture's
    assert capture_path is not None and capture_path["local"] == "relay", capture_path
    assert capture_path["policy"] == "relay"
    workers = app[CAPTURES].workers
    assert workers.holds(call.appointment.id)
    deadline = asyncio.get_running_loop().time() + MEDIA_MS / 1000
    while (await workers.frames()).get(call.appointment.id, 0) == 0:
        assert asyncio.get_running_loop().time() < deadline, "no frame reached the server"
        await asyncio.sleep(0.1)

    assert call.citizen.problems == [] and call.clerk.problems == []
    await call.close()


@pytest.mark.parametrize("app_secret", ["not-the-secret-coturn-was-given-0123"])
async def test_with_a_wrong_secret_a_relay_only_call_does_not_connect(
    app: web.Application, server: str, browser: Browser
) -> None:
    call = await call_taken(app, server, browser)
    await assert_no_path(call)  # coturn refuses the allocation (401): no relay at all
    await call.close()


async def test_coturn_relays_for_a_fresh_credential_only(
    turn: Turn, server: str, browser: Browser
) -> None:
    """The credential scheme as coturn checks it: a fresh one gets a relay, one past
    its expiry or signed with another secret does not."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(server)  # any page of ours: a secure context on loopback
    now = int(time.time())
    cases = {
        "fresh": turn_credentials(SECRET, "a-probe", now + 600),
        "expired": turn_credentials(SECRET, "a-probe", now - 60),
        "other secret": turn_credentials("another-secret-0123456789abcdef", "a-probe", now + 600),
    }
    relays = {
        case: await page.evaluate(
            RELAY_CANDIDATES, {"url": turn.url, "username": user, "credential": password}
        )
        for case, (user, password) in cases.items()
    }
    assert relays["fresh"] >= 1 and relays["expired"] == 0 and relays["other secret"] == 0, relays
    await context.close()


@pytest.mark.parametrize("turn_config", ["shipped"])
async def test_the_shipped_coturn_configuration_relays_nothing_into_local_networks(
    app: web.Application, server: str, browser: Browser, turn: Turn
) -> None:
    """deploy/turnserver.conf: the credential is good (a relay is allocated), but both
    browsers sit on loopback, a range it never relays to, so the call cannot connect.
    A town's internal addresses are refused the same way."""
    probe = await browser.new_context()
    probe_page = await probe.new_page()
    await probe_page.goto(server)
    user, password = turn_credentials(SECRET, "a-probe", int(time.time()) + 600)
    relays = await probe_page.evaluate(
        RELAY_CANDIDATES, {"url": turn.url, "username": user, "credential": password}
    )
    assert relays >= 1
    await probe.close()

    call = await call_taken(app, server, browser)
    await assert_no_path(call)
    await call.close()
