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
import time

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from signalling.keys import CAPTURES
from signalling.settings import Settings
from signalling.sockets.ice import turn_credentials
from tests.helpers.call_pages import (
    MEDIA_MS,
    RecordedCall,
    assert_remote_video_plays,
    call_taken,
)
from tests.helpers.coturn import SECRET, Turn

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
