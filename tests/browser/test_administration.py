"""Administration in real Chromium: an admin invites a clerk who enrols by the mailed
link; an absence moves one booking and sends another's citizen the rebooking mail; a
deactivated clerk's open console closes (``webrtc/test_staff_sessions``, where the
server is at its public URL as Socket.IO's origin check needs). The pages pass
axe-core's WCAG 2.1 AA rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
from aiohttp import web
from playwright.async_api import Browser, BrowserContext

from office.models import Role
from office.staff import Staff
from signalling.keys import ABSENCES, APPOINTMENTS, JOBS, STAFF
from tests.helpers.booking import add_clerk, book_at
from tests.helpers.browser import accessibility_violations
from tests.helpers.clock import Clock
from tests.helpers.mail import SmtpServer, body

AT_13 = datetime(2026, 6, 2, 11, 0, tzinfo=UTC)  # Tuesday 13:00 in Ostfildern
AT_1330 = datetime(2026, 6, 2, 11, 30, tzinfo=UTC)


async def logged_in(browser: Browser, server: str, staff: Staff, clerk_id: int) -> BrowserContext:
    context = await browser.new_context()
    token = await staff.open_session(clerk_id)
    await context.add_cookies([{"name": "bb_staff", "value": token, "url": server}])
    return context


async def admin(staff: Staff) -> int:
    return (await staff.create("root", "Ada Admin", "correct horse battery", role=Role.ADMIN)).id


async def test_an_admin_invites_a_clerk_who_enrols_by_the_mailed_link(
    server: str, browser: Browser, app: web.Application, clock: Clock, smtp: SmtpServer
) -> None:
    staff = app[STAFF]
    context = await logged_in(browser, server, staff, await admin(staff))
    page = await context.new_page()
    await page.goto(server + "/verwaltung")
    await page.click("text=Mitarbeitende")
    await page.wait_for_url("**/verwaltung/personal")
    assert await accessibility_violations(page) == [], page.url
    await page.fill("#username", "carla.neu")
    await page.fill("#email", "carla@example.org")
    await page.fill("#display_name", "Carla Neu")
    await page.check("#skill-meldewesen")
    await page.fill("#hours-1", "12:30-19:00")
    await page.click("text=Konto anlegen und einladen")
    await page.wait_for_selector("text=Der Link zum Festlegen des Passworts ist verschickt")
    assert await accessibility_violations(page) == [], page.url
    await context.close()

    await app[JOBS].mail.run()
    (mail,) = smtp.inbox.to("carla@example.org")
    link = re.search(r"https://termine\.test(/anmelden/einladung/\S+)", body(mail))
    assert link

    newcomer = await browser.new_context()
    page = await newcomer.new_page()
    await page.goto(server + link.group(1))
    assert await accessibility_violations(page) == [], page.url
    await page.fill("#password", "mein neues Passwort 1")
    await page.fill("#repeated", "mein neues Passwort 1")
    await page.click("text=Passwort speichern")
    await page.wait_for_url("**/anmelden/einrichten")
    secret = await page.inner_text("code.bb-secret")
    await page.fill("#code", pyotp.TOTP(secret).at(clock().timestamp()))
    await page.click("text=Einrichten und anmelden")
    await page.wait_for_url("**/sachbearbeitung")
    assert "Carla Neu" in await page.inner_text("main")
    await newcomer.close()


async def test_an_absence_moves_one_booking_and_lists_the_other_with_its_mail(
    server: str, browser: Browser, app: web.Application, smtp: SmtpServer
) -> None:
    staff, desk = app[STAFF], app[APPOINTMENTS]
    await add_clerk(staff, "anna", "meldewesen", "beratung")
    bert = await add_clerk(staff, "bert", "meldewesen")
    moved = await book_at(desk, AT_13, email="a@example.org")  # Bert (fewer skills)
    stuck = await book_at(desk, AT_1330, email="b@example.org", name="Berta B.")  # Bert
    await book_at(desk, AT_1330, email="c@example.org")  # Anna: 13:30 is full
    context = await logged_in(browser, server, staff, await admin(staff))
    page = await context.new_page()
    await page.goto(server + "/verwaltung/abwesenheiten")
    assert await accessibility_violations(page) == [], page.url
    await page.select_option("#absence-clerk", str(bert))
    await page.fill("#absence-first", "2026-06-02")
    await page.fill("#absence-note", "Urlaub")
    await page.click("text=Abwesenheit eintragen")
    notice = await page.wait_for_selector("text=gebuchte Termine an Kolleginnen")
    assert notice is not None
    text = await notice.inner_text()
    assert text.startswith("1 gebuchte Termine") and "1 Termine konnte niemand" in text
    assert "Urlaub" in await page.inner_text("#absences")

    await page.click("nav >> text=Umzubuchende Termine")
    row = page.locator(f"tr[data-reference='{stuck.reference}']")
    assert "Berta B." in await row.inner_text()
    assert await page.locator(f"tr[data-reference='{moved.reference}']").count() == 0
    assert await accessibility_violations(page) == [], page.url
    await context.close()

    await app[JOBS].mail.run()
    asked = [m for m in smtp.inbox.to("b@example.org") if "neuen Termin" in str(m["Subject"])]
    assert len(asked) == 1 and "?next=umbuchen" in body(asked[0])
    assert not [m for m in smtp.inbox.to("a@example.org") if "neuen Termin" in str(m["Subject"])]
    assert [a.id for a in await app[ABSENCES].to_rebook()] == [stuck.id]
