"""The walk-in in real Chromium: offered on the home page once a clerk with the skill is
on duty, and from there straight into the waiting room and a call."""

from __future__ import annotations

from aiohttp import web
from playwright.async_api import Browser, expect

from signalling.keys import STAFF
from tests.helpers.call_pages import (
    ALL_WEEK,
    assert_remote_video_plays,
    clerk_console,
    open_all_day,
)


async def test_a_walk_in_goes_from_the_home_page_into_a_call(
    app: web.Application, server: str, browser: Browser
) -> None:
    await open_all_day(app)  # the office's hours today
    advice = await app[STAFF].create(
        "carla", "Carla C.", "correct horse battery", skills=["beratung"], hours=ALL_WEEK
    )
    page = await browser.new_page()
    await page.goto(server + "/")
    walk_in = page.get_by_role("link", name="Jetzt beraten lassen: Allgemeine Beratung")
    await expect(walk_in).to_have_count(0)  # nobody for it on duty yet
    clerk_context, clerk = await clerk_console(browser, server, app, advice.id)
    await expect(clerk.page.get_by_role("radio", name="Verfügbar")).to_be_checked()
    await page.reload()
    await walk_in.click()
    await page.get_by_label("Vor- und Nachname").fill("Willi Walk")
    await page.get_by_label("E-Mail-Adresse").fill("willi@example.org")
    await page.get_by_label("Ich bin damit einverstanden", exact=False).check()
    await page.get_by_role("button", name="Jetzt in den Warteraum").click()
    await page.wait_for_url("**/termin/warteraum")
    await page.get_by_role("button", name="Kamera und Mikrofon starten").click()
    await page.get_by_role("button", name="Weiter zum Warteraum").click()
    await expect(page.locator("#queue-status")).to_contain_text("Sie sind")
    await clerk.page.get_by_role("button", name="Willi Walk aufrufen").click()
    await assert_remote_video_plays(page)
    await clerk_context.close()
