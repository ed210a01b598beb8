"""The pages of a video call in real Chromium: a fake camera, a booking that can be taken
at once, the citizen's waiting room and the clerk's console, and what a test checks on
them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
)
from playwright.async_api import TimeoutError as PlaywrightTimeout

from office.appointments import Appointments
from office.models import Appointment, SpecialHours
from office.staff import WorkingTime
from office.tokens import Audience
from signalling.keys import APPOINTMENTS, OFFICE, SESSIONS, STAFF
from tests.helpers.booking import book_at
from tests.helpers.browser import accessibility_violations

WAIT_MS = 10_000  # Playwright's own default is 30 s: fail sooner, and say where


MEDIA_MS = 20_000  # first frames: ICE and the decoder on a busy 2-core machine
LAPTOP: ViewportSize = {"width": 1366, "height": 768}  # the clerk's laptop


SERVICE = "meldebescheinigung"  # delivery "town": the city posts the certificate


FRAME_SIZE = (640, 480)


def write_fake_camera(path: Path, frames: int = 60) -> Path:
    """A .y4m clip for Chromium's fake camera: colour bars that move and change hue,
    so a frozen picture would show. Plain bytes (4:2:0 planes), no image library."""
    width, height = FRAME_SIZE
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(frames):
            luma_row = bytes(((x + 8 * index) // 40 % 2) * 140 + 50 for x in range(width))
            out.write(b"FRAME\n")
            out.write(luma_row * height)
            out.write(bytes([(64 + 3 * index) % 256]) * (width * height // 4))  # U
            out.write(bytes([(192 - 2 * index) % 256]) * (width * height // 4))  # V
    return path


ALL_WEEK = [WorkingTime(day, time(0), time(23, 59)) for day in range(7)]


async def open_all_day(app: web.Application) -> int:
    """A clerk who works around the clock, and virtual hours today and tomorrow
    (special hours open the office even on a Sunday or a holiday). Returns the clerk."""
    clerk = await app[STAFF].create(
        "anna", "Anna A.", "correct horse battery", skills=["meldewesen"], hours=ALL_WEEK
    )
    today = datetime.now(app[OFFICE].town.tz).date()
    async with app[SESSIONS]() as session, session.begin():
        for day in (today, today + timedelta(days=1)):
            session.add(SpecialHours(day=day, start=time(0), end=time(23, 59), note="test"))
    return clerk.id


async def book_soon(desk: Appointments) -> Appointment:
    """The first free slot whose check-in window is open now (it opens 15 minutes
    before the start)."""
    now = datetime.now(UTC)
    today = now.astimezone(desk.office.town.tz).date()
    for day in (today, today + timedelta(days=1)):
        for slot in await desk.slots(SERVICE, day):
            if slot.starts_at - now <= timedelta(minutes=14):
                return await book_at(desk, slot.starts_at, service=SERVICE)
    raise AssertionError("no slot within the check-in window")


# Every RTCPeerConnection a page makes, in window.__peers, for the test to read its
# stats: an init script (``init_script`` below), so the app's own code is untouched.
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


class Watched:
    """A page whose script errors and CSP violations fail the test."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        # An error page's own status ("Failed to load resource: ... 403") is expected.
        if "Content Security Policy" in message.text or (
            message.type == "error" and not message.text.startswith("Failed to load resource")
        ):
            self.problems.append(f"console {message.type}: {message.text}")


async def new_page(context: BrowserContext) -> Watched:
    return Watched(await context.new_page())


async def new_context(browser: Browser, init_script: str | None = None) -> BrowserContext:
    """A fresh browser profile; ``init_script`` runs in every page before the app's."""
    context = await browser.new_context()
    if init_script is not None:
        await context.add_init_script(init_script)
    return context


async def citizen_with_cookie(
    browser: Browser,
    server: str,
    desk: Appointments,
    appointment: Appointment,
    init_script: str | None = None,
) -> tuple[BrowserContext, Watched]:
    """A citizen's browser holding the appointment's session (as the mailed link
    leaves it), with one page open."""
    context = await new_context(browser, init_script)
    token = desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)
    await context.add_cookies([{"name": "bb_termin", "value": token, "url": server}])
    return context, await new_page(context)


async def waiting_citizen(
    browser: Browser,
    server: str,
    desk: Appointments,
    appointment: Appointment,
    init_script: str | None = None,
) -> tuple[BrowserContext, Watched]:
    """The citizen through the device check and first in line (German pages)."""
    context, citizen = await citizen_with_cookie(browser, server, desk, appointment, init_script)
    page = citizen.page
    await page.goto(f"{server}/termin/warteraum")
    await page.get_by_role("button", name="Kamera und Mikrofon starten").click()
    await page.get_by_role("button", name="Weiter zum Warteraum").click()
    await expect(page.locator("#queue-status")).to_contain_text("Position 1")
    return context, citizen


async def clerk_console(
    browser: Browser,
    server: str,
    app: web.Application,
    clerk_id: int,
    init_script: str | None = None,
) -> tuple[BrowserContext, Watched]:
    """The clerk logged in (a staff session cookie) with the console open."""
    context = await new_context(browser, init_script)
    session = await app[STAFF].open_session(clerk_id)
    await context.add_cookies([{"name": "bb_staff", "value": session, "url": server}])
    clerk = await new_page(context)
    await clerk.page.goto(f"{server}/sachbearbeitung")
    return context, clerk


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
    """A clerk on duty takes a citizen who has just checked in; both pages record
    their peer connections (RECORD_PEERS)."""
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


async def assert_accessible(page: Page, where: str) -> None:
    assert await accessibility_violations(page) == [], where


async def assert_fits(page: Page, selector: str) -> None:
    """The element shows, whole, within the viewport, and the page itself does not
    scroll (what a clerk on a laptop needs during a call)."""
    fits = "innerHeight >= document.documentElement.scrollHeight"
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(f"() => {fits}", timeout=WAIT_MS)
    heights = await page.evaluate(
        "() => ({inner: innerHeight, page: document.documentElement.scrollHeight,"
        " view: document.body.dataset.view, classes: document.body.className})"
    )
    assert heights["inner"] >= heights["page"], heights
    box = await page.locator(selector).bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None, selector
    assert box["width"] > 0 and box["height"] > 0, (selector, box)
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= viewport["width"], (selector, box, viewport)
    assert box["y"] + box["height"] <= viewport["height"], (selector, box, viewport)


async def assert_remote_video_plays(page: Page) -> None:
    """Frames of the other side arrive and are decoded: the remote <video> has a size,
    its time runs, and its count of decoded frames grows."""
    await expect(page.locator("#stage")).to_have_attribute(
        "data-call-state", "connected", timeout=MEDIA_MS
    )
    await page.wait_for_function(
        "() => { const v = document.getElementById('remote-video');"
        " return v.videoWidth > 0 && v.currentTime > 0; }",
        timeout=MEDIA_MS,
    )
    before: dict[str, Any] = await page.evaluate(
        "() => { const v = document.getElementById('remote-video');"
        " return {time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames}; }"
    )
    await page.wait_for_function(
        "b => { const v = document.getElementById('remote-video');"
        " return v.currentTime > b.time"
        " && v.getVideoPlaybackQuality().totalVideoFrames > b.frames; }",
        arg=before,
        timeout=WAIT_MS,
    )
    assert await page.evaluate("document.getElementById('remote-video').videoWidth") > 0
