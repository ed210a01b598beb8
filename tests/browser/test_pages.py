"""Every page a citizen can reach passes axe-core's WCAG 2.1 AA rules (BITV 2.0) in
real Chromium, in German and in English: those of the appointment too (with its
cookie), the error pages and the pages for staff's login."""

from __future__ import annotations

import pytest
from aiohttp import web
from playwright.async_api import Browser

from office.tokens import Audience
from signalling.keys import APPOINTMENTS
from tests.helpers.booking import book_at
from tests.helpers.browser import accessibility_violations
from tests.helpers.constants import SLOT

OPEN_PAGES = [
    "/",
    "/buchen/meldebescheinigung",
    "/jetzt/beratung",
    "/datenschutz",
    "/barrierefreiheit",
    "/leichte-sprache",
    "/anmelden",
    "/t/not-a-token",  # the neutral page for any link that does not work
    "/gibt-es-nicht",  # 404
]
APPOINTMENT_PAGES = [
    "/termin",
    "/termin/absagen",
    "/termin/daten-loeschen",
    "/termin/verschieben",
    "/termin/status",
    "/termin/rueckmeldung",
]


@pytest.mark.parametrize("language", ["de", "en"])
async def test_every_citizen_page_passes_axe(
    app: web.Application, server: str, browser: Browser, clerk: int, language: str
) -> None:
    desk = app[APPOINTMENTS]
    appointment = await book_at(desk, SLOT)
    page = await browser.new_page()
    await page.goto(f"{server}/?lang={language}")  # the language cookie
    found = {}
    for path in OPEN_PAGES:
        await page.goto(server + path)
        found[path] = await accessibility_violations(page)
    await page.goto(f"{server}/t/{desk.office.issue_token(appointment, Audience.JOIN_LINK)}")
    await page.wait_for_url("**/termin")
    for path in APPOINTMENT_PAGES:
        response = await page.goto(server + path)
        assert response is not None and response.status == 200, path
        found[path] = await accessibility_violations(page)
    assert await page.evaluate("document.documentElement.lang") == language
    assert {path: v for path, v in found.items() if v} == {}
