"""The device check's connection check in real Chromium (static/js/connection_check.js):
ICE candidates gathered with the town's STUN/TURN server (a real coturn on loopback),
a timed download and upload from our own server, advice in words in a live region,
and never a wait for it: "Weiter zum Warteraum" is free as soon as the camera runs.

A slow line is made by the kernel (tests/helpers/throttle.py), which needs this
folder's network namespace, as every WebRTC test here does.
"""

from __future__ import annotations

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from signalling.keys import APPOINTMENTS
from signalling.settings import Settings
from tests.helpers.call_pages import (
    MEDIA_MS,
    Watched,
    assert_accessible,
    book_soon,
    citizen_with_cookie,
    open_all_day,
)
from tests.helpers.coturn import SECRET, Turn
from tests.helpers.services import free_port
from tests.helpers.throttle import tcp_port, throttled

# Long enough for the slowest check below (ICE gathering gives up after 6 s, a
# transfer after 10 s), and for a busy 2-core machine.
CHECK_MS = 30_000


@pytest.fixture
def stun_reachable() -> bool:
    return True


@pytest.fixture
def settings(settings: Settings, turn: Turn, stun_reachable: bool) -> Settings:
    """The town's coturn for STUN and TURN; or, for "unreachable", a STUN server on a
    port where nothing answers (a network that blocks it looks the same)."""
    stun = turn.stun_url if stun_reachable else f"stun:127.0.0.1:{free_port()}"
    turn_urls = [turn.url] if stun_reachable else []
    return settings.model_copy(
        update={"stun_urls": [stun], "turn_urls": turn_urls, "turn_secret": SecretStr(SECRET)}
    )


async def device_check(
    app: web.Application, server: str, browser: Browser, language: str = "de"
) -> Watched:
    """A citizen on the device check, the connection check not started yet."""
    await open_all_day(app)
    desk = app[APPOINTMENTS]
    _context, citizen = await citizen_with_cookie(browser, server, desk, await book_soon(desk))
    await citizen.page.goto(f"{server}/termin/warteraum?lang={language}")
    return citizen


async def level(page: Page) -> str | None:
    return await page.locator("#connection-check").get_attribute("data-level")


@pytest.mark.parametrize("language", ["de", "en"])
async def test_a_good_line_is_told_it_carries_video(
    app: web.Application, server: str, browser: Browser, language: str
) -> None:
    citizen = await device_check(app, server, browser, language)
    page = citizen.page
    start = "Start camera and microphone" if language == "en" else "Kamera und Mikrofon starten"
    await page.get_by_role("button", name=start).click()
    status = page.locator("#connection-check-result")
    await expect(status).to_have_attribute("role", "status")
    good = {
        "de": "Ihre Verbindung reicht für Video.",
        "en": "Your connection is good enough for video.",
    }[language]
    await expect(status).to_contain_text(good, timeout=CHECK_MS)
    assert await level(page) == "good"
    # A figure, in the page's language: "Gemessen: Empfangen etwa 1.234 Mbit/s, ...".
    await expect(status).to_contain_text("Mbit/s")
    again = "Check the connection again" if language == "en" else "Verbindung erneut prüfen"
    await expect(page.get_by_role("button", name=again)).to_be_visible()
    await assert_accessible(page, f"device check with its advice ({language})")
    assert citizen.problems == []


async def test_a_slow_line_is_told_to_expect_sound_only_and_may_join(
    app: web.Application, server: str, browser: Browser, port: int
) -> None:
    citizen = await device_check(app, server, browser)
    page = citizen.page
    # 300 kbit/s both ways to and from our server, from here on (the page has loaded).
    with throttled(tcp_port(port), kbit=300):
        await page.get_by_role("button", name="Kamera und Mikrofon starten").click()
        await expect(page.get_by_role("button", name="Weiter zum Warteraum")).to_be_enabled(
            timeout=MEDIA_MS
        )
        status = page.locator("#connection-check-result")
        await expect(status).to_contain_text(
            "Ihre Verbindung ist schwach: Wir schalten bei Bedarf auf nur Ton um.", timeout=CHECK_MS
        )
    assert await level(page) == "weak"
    await expect(status).to_contain_text("Sie können trotzdem in den Warteraum.")
    await page.get_by_role("button", name="Weiter zum Warteraum").click()
    await expect(page.locator("#queue-status")).to_contain_text("Position 1")
    assert citizen.problems == []


@pytest.mark.parametrize("stun_reachable", [False])
async def test_an_unreachable_stun_server_is_said_and_never_holds_the_citizen_back(
    app: web.Application, server: str, browser: Browser
) -> None:
    citizen = await device_check(app, server, browser)
    page = citizen.page
    await page.get_by_role("button", name="Kamera und Mikrofon starten").click()
    # The camera check is done while the connection check still waits for STUN.
    join = page.get_by_role("button", name="Weiter zum Warteraum")
    await expect(join).to_be_enabled(timeout=MEDIA_MS)
    assert await level(page) == "running"
    status = page.locator("#connection-check-result")
    await expect(status).to_contain_text(
        "Unser Verbindungsserver antwortet Ihrem Netz nicht", timeout=CHECK_MS
    )
    await expect(status).to_contain_text("Sie können trotzdem in den Warteraum.")
    assert await level(page) == "blocked"

    # Checked again, and on to the waiting room before it ends: the check stops.
    await page.get_by_role("button", name="Verbindung erneut prüfen").click()
    assert await level(page) == "running"
    await join.click()
    await expect(page.locator("#queue-status")).to_contain_text("Position 1")
    assert await level(page) == "stopped"
    assert citizen.problems == []


async def test_the_advice_follows_the_figures(
    app: web.Application, server: str, browser: Browser
) -> None:
    """BB.connectionAdvice, the verdict alone, at the edges of its thresholds."""
    citizen = await device_check(app, server, browser)
    advice = await citizen.page.evaluate(
        """() => [
          {ice: "ok", down: 1000, up: 500},
          {ice: "none", down: 20000, up: 499},
          {ice: "ok", down: 999, up: 5000},
          {ice: "blocked", down: 20000, up: 5000},
          {ice: "blocked", down: 200, up: 100},
          {ice: "unknown", down: null, up: null},
        ].map((result) => BB.connectionAdvice(result))"""
    )
    assert advice == [
        {"level": "good", "keys": ["check_good"], "joinAnyway": False},
        {"level": "weak", "keys": ["check_weak"], "joinAnyway": True},
        {"level": "weak", "keys": ["check_weak"], "joinAnyway": True},
        {"level": "blocked", "keys": ["check_blocked"], "joinAnyway": True},
        {"level": "blocked", "keys": ["check_blocked", "check_weak"], "joinAnyway": True},
        {"level": "unmeasured", "keys": ["check_unmeasured"], "joinAnyway": True},
    ]
