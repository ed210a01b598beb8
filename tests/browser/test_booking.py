"""End to end in real headless Chromium: a citizen books, opens the mailed link,
and every page on the way passes axe-core's WCAG 2.1 AA rules (BITV 2.0)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from playwright.async_api import Browser, Page

from office.tokens import Audience
from signalling.keys import APPOINTMENTS, TOWN
from tests.helpers.booking import book_at
from tests.helpers.browser import accessibility_violations
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.mail import SmtpServer, join_link
from tests.helpers.polling import eventually


async def assert_accessible(page: Page) -> None:
    assert await accessibility_violations(page) == [], page.url


async def test_citizen_books_and_opens_the_link(
    app: web.Application, server: str, browser: Browser, clerk: int, smtp: SmtpServer
) -> None:
    from signalling.keys import JOBS

    page = await browser.new_page()
    await page.goto(server + "/")
    await assert_accessible(page)

    await page.get_by_role("link", name="Auswählen: Meldebescheinigung").click()
    await page.wait_for_url("**/buchen/meldebescheinigung")
    await assert_accessible(page)
    assert await page.get_by_role("radio").first.is_checked()

    await page.get_by_label("Vor- und Nachname").fill("Erika Mustermann")
    await page.get_by_label("E-Mail-Adresse").fill("erika@example.org")
    await page.get_by_label("Ich bin damit einverstanden", exact=False).check()
    await page.get_by_role("button", name="Termin verbindlich buchen").click()
    await page.wait_for_url("**/buchung/bestaetigt")
    await assert_accessible(page)
    assert await page.get_by_role("heading", name="Ihr Termin ist gebucht").is_visible()

    await app[JOBS].mail.run()
    await eventually(lambda: smtp.inbox.to("erika@example.org"))
    [mail] = smtp.inbox.to("erika@example.org")

    await page.goto(server + join_link(mail))
    await page.wait_for_url("**/termin")
    assert "/t/" not in page.url
    assert await page.get_by_text("Erika Mustermann").is_visible()
    await assert_accessible(page)

    await page.goto(server + "/termin?lang=en")
    assert await page.get_by_role("heading", name="Your video appointment").is_visible()
    await assert_accessible(page)


async def test_invalid_form_is_accessible_and_says_what_is_wrong(
    server: str, browser: Browser, clerk: int
) -> None:
    page = await browser.new_page()
    await page.goto(server + "/buchen/meldebescheinigung")
    await page.get_by_role("button", name="Termin verbindlich buchen").click()
    await page.wait_for_load_state()
    assert await page.get_by_text("Bitte geben Sie Ihren Namen an.").is_visible()
    assert await page.get_by_label("Vor- und Nachname").get_attribute("aria-invalid") == "true"
    await assert_accessible(page)


async def test_staff_login_page_is_accessible(server: str, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(server + "/anmelden")
    await assert_accessible(page)


async def test_the_waiting_room_button_frees_itself_when_check_in_opens(
    app: web.Application, server: str, browser: Browser, clerk: int, clock: Clock
) -> None:
    desk = app[APPOINTMENTS]
    appointment = await book_at(desk, SLOT)
    opens = SLOT - timedelta(minutes=app[TOWN].booking.checkin_before_minutes)
    clock.set(opens - timedelta(seconds=3))
    page = await browser.new_page()
    await page.goto(f"{server}/t/{desk.office.issue_token(appointment, Audience.JOIN_LINK)}")
    await page.wait_for_url("**/termin")
    assert await page.get_by_role("button", name="Warteraum betreten").is_disabled()
    await assert_accessible(page)

    clock.set(opens)  # the server's window opens as the page's count runs out
    link = page.get_by_role("link", name="Warteraum betreten")
    await link.wait_for(timeout=10_000)
    assert await page.get_by_text("Der Warteraum ist jetzt geöffnet.").is_visible()
    await assert_accessible(page)
    await link.click()
    await page.wait_for_url("**/termin/warteraum")
    assert await page.get_by_role("heading", name="Kamera und Mikrofon prüfen").is_visible()


async def test_the_feedback_page_is_accessible_and_says_what_is_wrong(
    app: web.Application, server: str, browser: Browser, clerk: int
) -> None:
    desk = app[APPOINTMENTS]
    appointment = await book_at(desk, SLOT)
    page = await browser.new_page()
    await page.goto(f"{server}/t/{desk.office.issue_token(appointment, Audience.JOIN_LINK)}")
    await page.wait_for_url("**/termin")
    await page.goto(f"{server}/termin/rueckmeldung?lang=en")
    await assert_accessible(page)
    assert await page.get_by_role("radio", name="5 – very satisfied").is_visible()
    await page.get_by_role("radio", name="5 – very satisfied").check()
    await page.get_by_label("Anything else you would like to tell us? (optional)").fill("Fine")
    await page.get_by_role("button", name="Send feedback").click()
    await page.wait_for_load_state()
    # The call has not taken place: refused, in the page's language, and accessible.
    assert await page.get_by_text("Feedback can be given once, after the call.").is_visible()
    await assert_accessible(page)
