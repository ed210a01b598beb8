"""The clerk's case pages in real Chromium pass axe-core's WCAG 2.1 AA rules, a page
with a refused step included."""

from __future__ import annotations

from aiohttp import web
from playwright.async_api import Browser

from signalling.keys import APPOINTMENTS, CASES, STAFF
from tests.helpers.booking import book_at, verify
from tests.helpers.browser import accessibility_violations
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT, WEEKDAYS_7_TO_19

LIST = "/sachbearbeitung/vorgaenge"


async def test_the_list_and_the_case_page_are_accessible(
    server: str,
    browser: Browser,
    app: web.Application,
    clock: Clock,
) -> None:
    # The app's own desks: the client fixture would serve the same app a second time.
    desk, staff = app[APPOINTMENTS], app[STAFF]
    clerk = (
        await staff.create(
            "anna",
            "Anna A.",
            "correct horse battery",
            skills=["meldewesen"],
            hours=WEEKDAYS_7_TO_19,
        )
    ).id
    booked = await book_at(desk, SLOT)
    clock.set(SLOT)
    await verify(desk, booked.id)
    case = await app[CASES].open(booked.id, "meldebescheinigung", clerk)
    context = await browser.new_context()
    token = await staff.open_session(clerk)
    await context.add_cookies([{"name": "bb_staff", "value": token, "url": server}])
    page = await context.new_page()
    await page.goto(server + LIST)
    assert await page.locator("#case-table tbody tr").count() == 1
    assert await accessibility_violations(page) == [], page.url
    await page.click(f"text={case.reference}")
    await page.wait_for_url(f"**/{case.id}")
    assert await accessibility_violations(page) == [], page.url
    # The page with a refused step: the message, the field marked, still accessible.
    await page.select_option("#request_payment-method", "invoice_post")
    await page.fill("#request_payment-address", "Musterweg 1")
    await page.click("#form-request_payment button[type=submit]")
    await page.wait_for_selector("#request_payment-address-error")
    assert await accessibility_violations(page) == [], page.url
    await context.close()
