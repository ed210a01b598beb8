"""Without a mouse, and on a phone's screen, in real Chromium (the fake camera).

Keyboard only: a citizen books and enters the waiting room with Tab, Space and Enter,
and always sees where the focus is. Phone (390 x 844, touch): booking, the
appointment and the waiting room fit the width (nothing scrolls sideways) and pass
axe.
"""

from __future__ import annotations

from aiohttp import web
from playwright.async_api import Browser, Page, ViewportSize, expect
from sqlalchemy import select

from office.models import Appointment
from office.tokens import Audience
from signalling.keys import APPOINTMENTS
from tests.helpers.browser import accessibility_violations
from tests.helpers.call_pages import (
    assert_remote_video_plays,
    book_soon,
    clerk_console,
    open_all_day,
)

PHONE: ViewportSize = {"width": 390, "height": 844}
MAX_TABS = 60  # a page that needs more to reach its main action is not usable by keyboard


async def tab_to(page: Page, name: str) -> None:
    """Press Tab until the focused element's name contains ``name``; its focus must
    show (an outline or a shadow)."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.getAttribute('aria-label') || (e.labels && e.labels[0]"
            " && e.labels[0].textContent) || e.textContent || '').trim(); }"
        )
        if name in focused:
            shown = await page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; }"
            )
            assert shown, f"no visible focus on {name!r}"
            return
    raise AssertionError(f"{name!r} not reached with {MAX_TABS} presses of Tab")


async def test_a_citizen_books_and_enters_the_waiting_room_by_keyboard_alone(
    app: web.Application, server: str, browser: Browser
) -> None:
    await open_all_day(app)
    page = await browser.new_page()
    await page.goto(server + "/")
    await tab_to(page, "Auswählen: Meldebescheinigung")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/buchen/meldebescheinigung")

    await tab_to(page, "Vor- und Nachname")  # the first time is chosen already
    await page.keyboard.type("Erika Mustermann")
    await tab_to(page, "E-Mail-Adresse")
    await page.keyboard.type("erika@example.org")
    await tab_to(page, "Ich bin damit einverstanden")
    await page.keyboard.press("Space")
    await tab_to(page, "Termin verbindlich buchen")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/buchung/bestaetigt")

    desk = app[APPOINTMENTS]
    async with desk.office.sessions() as session:
        [appointment] = (await session.scalars(select(Appointment))).all()
    await page.goto(f"{server}/t/{desk.office.issue_token(appointment, Audience.JOIN_LINK)}")
    await page.wait_for_url("**/termin")
    await tab_to(page, "Warteraum betreten")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/termin/warteraum")
    await tab_to(page, "Kamera und Mikrofon starten")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Weiter zum Warteraum")).to_be_enabled()
    await tab_to(page, "Weiter zum Warteraum")
    await page.keyboard.press("Enter")
    # The page says where it went: the focus is on the waiting room's heading.
    await expect(page.get_by_role("heading", name="Warteraum", exact=True)).to_be_focused()
    await expect(page.locator("#queue-status")).to_contain_text("Sie sind")


async def test_booking_and_the_waiting_room_fit_a_phone(
    app: web.Application, server: str, browser: Browser
) -> None:
    clerk_id = await open_all_day(app)
    desk = app[APPOINTMENTS]
    appointment = await book_soon(desk)
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    for path in ("/", "/buchen/meldebescheinigung"):
        await page.goto(server + path)
        await assert_fits_the_width(page)
    await page.goto(f"{server}/t/{desk.office.issue_token(appointment, Audience.JOIN_LINK)}")
    await page.wait_for_url("**/termin")
    await assert_fits_the_width(page)
    await page.get_by_role("link", name="Warteraum betreten").tap()
    await page.get_by_role("button", name="Kamera und Mikrofon starten").tap()
    await page.get_by_role("button", name="Weiter zum Warteraum").tap()
    await expect(page.get_by_role("heading", name="Warteraum", exact=True)).to_be_visible()
    await expect(page.locator("#queue-status")).to_contain_text("Sie sind")
    await assert_fits_the_width(page)

    # The call on the phone: the clerk's video plays and nothing scrolls sideways.
    clerk_context, clerk = await clerk_console(browser, server, app, clerk_id)
    await clerk.page.get_by_role("button", name="Nächste Person aufrufen").click()
    await expect(page.get_by_role("heading", name="Videogespräch")).to_be_visible()
    await assert_remote_video_plays(page)
    await assert_fits_the_width(page)
    await clerk_context.close()
    await context.close()


async def assert_fits_the_width(page: Page) -> None:
    widths = await page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, screen: innerWidth})"
    )
    assert widths["page"] <= widths["screen"], (page.url, widths)
    assert await accessibility_violations(page) == [], page.url
