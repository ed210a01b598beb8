"""A deactivated clerk is thrown out of an open console: the admin's click ends her
sessions, the server closes her socket, and the console goes to the login."""

from __future__ import annotations

from aiohttp import web
from playwright.async_api import Browser

from office.models import Role
from signalling.keys import STAFF
from tests.helpers.browser import accessibility_violations
from tests.helpers.call_pages import WAIT_MS, open_all_day


async def test_a_deactivated_clerk_is_thrown_out_of_an_open_console(
    app: web.Application, server: str, browser: Browser
) -> None:
    staff = app[STAFF]
    clerk_id = await open_all_day(app)
    admin = await staff.create("ada", "Ada Admin", "correct horse battery", role=Role.ADMIN)

    console = await browser.new_context()
    token = await staff.open_session(clerk_id)
    await console.add_cookies([{"name": "bb_staff", "value": token, "url": server}])
    clerk_page = await console.new_page()
    await clerk_page.goto(server + "/sachbearbeitung")
    await clerk_page.wait_for_selector("#state-status:not(:empty)", timeout=WAIT_MS)

    context = await browser.new_context()
    token = await staff.open_session(admin.id)
    await context.add_cookies([{"name": "bb_staff", "value": token, "url": server}])
    page = await context.new_page()
    await page.goto(f"{server}/verwaltung/personal/{clerk_id}")
    assert await accessibility_violations(page) == [], page.url
    await page.click("#deactivate")
    await page.wait_for_selector("text=Das Konto ist deaktiviert", timeout=WAIT_MS)

    await clerk_page.wait_for_url("**/anmelden", timeout=WAIT_MS)
    await clerk_page.goto(server + "/sachbearbeitung")
    assert clerk_page.url.endswith("/anmelden")  # the session is gone, not only the socket
    await console.close()
    await context.close()
