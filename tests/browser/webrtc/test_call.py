"""A whole video appointment in real headless Chromium: device check, waiting room,
the clerk takes the citizen, both see each other's video, the citizen reloads and the
call resumes, the clerk ends it. Every view passes axe-core's WCAG 2.1 AA rules.

WebRTC needs only loopback here. Run it in a network namespace that has nothing else
(shared/TESTING.md), so no candidate ever names the machine's real interfaces:

    unshare --net sh -c \
        'ip link set lo up && exec .venv/bin/pytest -q tests/browser/webrtc/test_call.py'

It passes outside one too; Chromium is started with --allow-loopback-in-peer-connection.
The server runs in-process on the real clock, with its public URL set to its own
address: the Socket.IO origin check compares the two.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from playwright.async_api import Browser, expect

from office.tokens import Audience
from signalling.keys import APPOINTMENTS, STAFF
from tests.helpers.call_pages import (
    LAPTOP,
    WAIT_MS,
    assert_accessible,
    assert_fits,
    assert_remote_video_plays,
    book_soon,
    citizen_with_cookie,
    clerk_console,
    new_page,
    open_all_day,
)

# -- the fake camera (the app, server and browser come from conftest.py) ---------------


# -- what the test looks at ----------------------------------------------------------


# -- the appointment -----------------------------------------------------------------


async def test_citizen_and_clerk_hold_a_video_appointment(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    clerk_id = await open_all_day(app)
    appointment = await book_soon(desk)

    # The citizen opens the mailed link and enters the waiting room.
    citizen_context = await browser.new_context()
    citizen = await new_page(citizen_context)
    page = citizen.page
    await page.goto(f"{server}/t/{desk.office.issue_token(appointment, Audience.JOIN_LINK)}")
    await page.wait_for_url("**/termin", timeout=WAIT_MS)
    await page.get_by_role("link", name="Warteraum betreten").click()
    await page.wait_for_url("**/termin/warteraum", timeout=WAIT_MS)

    # 1. Device check: the camera preview runs, then on to the waiting room.
    await page.get_by_role("button", name="Kamera und Mikrofon starten").click()
    await expect(page.get_by_text("Kamera und Mikrofon funktionieren.")).to_be_visible()
    await page.wait_for_function(
        "() => document.getElementById('preview').videoWidth > 0", timeout=WAIT_MS
    )
    await assert_accessible(page, "device check")
    await page.get_by_role("button", name="Weiter zum Warteraum").click()

    # 2. Waiting: first in line (no clerk on duty yet, so no estimate).
    await expect(page.locator("#queue-status")).to_contain_text("Position 1")
    await expect(page.get_by_role("heading", name="Warteraum")).to_be_focused()
    await assert_accessible(page, "waiting room")

    # The clerk logs in and sees the citizen waiting.
    clerk_context, clerk = await clerk_console(browser, server, app, clerk_id)
    console = clerk.page
    take = console.get_by_role("button", name="Erika Mustermann aufrufen")
    await expect(take).to_be_visible()
    await expect(console.locator("#queue-rows tr")).to_have_attribute("data-light", "green")
    if (
        appointment.starts_at.astimezone(desk.office.town.tz).date()
        == datetime.now(desk.office.town.tz).date()
    ):
        # (Booked for just after midnight, it is on tomorrow's list.)
        await expect(console.locator("#day-rows")).to_contain_text(appointment.reference)
    await expect(console.get_by_role("radio", name="Verfügbar")).to_be_checked()
    await expect(page.locator("#queue-status")).to_contain_text("Sie sind als Nächstes")
    await assert_accessible(console, "clerk console")

    # 3. The clerk takes the citizen: both see and hear each other.
    await take.click()
    await expect(
        console.get_by_role("heading", name="Gespräch mit Erika Mustermann")
    ).to_be_visible()
    await expect(page.get_by_role("heading", name="Videogespräch")).to_be_focused()
    assert (await page.title()).startswith("Sie sind an der Reihe")
    await assert_remote_video_plays(page)
    await assert_remote_video_plays(console)
    await assert_accessible(page, "citizen's call view")
    await assert_accessible(console, "clerk's call view")

    # On a 1366 x 768 laptop the call fits the screen: the video on the left, the
    # active tab beside it, and the page itself does not scroll.
    await console.set_viewport_size(LAPTOP)
    await assert_fits(console, "#remote-video")
    await assert_fits(console, "#panel-person")
    assert (
        await console.get_by_role("tab", name="Person & Anliegen").get_attribute("aria-selected")
        == "true"
    )

    # The chat goes both ways; the clerk's Chat tab counts the news until opened.
    await page.get_by_label("Ihre Nachricht").fill("Guten Tag!")
    await page.get_by_role("button", name="Senden").click()
    chat_tab = console.get_by_role("tab", name="Chat")
    await expect(chat_tab).to_contain_text("1 neu")
    await chat_tab.click()
    await expect(console.locator("#chat-log")).to_contain_text("Guten Tag!")
    await expect(chat_tab).not_to_contain_text("neu")
    await assert_fits(console, "#panel-chat")

    # The clerk mutes: the citizen is told in words, over the clerk's video.
    await console.get_by_role("button", name="Mikrofon aus").click()
    await expect(console.locator("#own-media")).to_have_text("Ihr Mikrofon ist aus.")
    await expect(page.locator("#peer-media")).to_have_text(
        "Die Sachbearbeitung ist stummgeschaltet."
    )
    await console.keyboard.press("Alt+M")  # and back on
    await expect(page.locator("#peer-media")).to_be_hidden()

    # 4. The citizen reloads mid-call: no device check, straight back into the call,
    # and the chat so far is there again (on the console too, after a reload).
    await page.reload()
    await expect(page.get_by_role("heading", name="Videogespräch")).to_be_visible()
    await expect(page.locator("#chat-log")).to_contain_text("Guten Tag!")
    await assert_remote_video_plays(page)
    await assert_remote_video_plays(console)
    await console.reload()
    await console.get_by_role("tab", name="Chat").click()
    await expect(console.locator("#chat-log")).to_contain_text("Guten Tag!")
    await assert_remote_video_plays(console)

    # 5. The clerk ends the call; the citizen learns what happens next.
    await console.get_by_role("button", name="Gespräch beenden").click()
    await expect(page.get_by_text("Das Dokument schickt Ihnen die Stadt per Post.")).to_be_visible()
    await expect(console.get_by_role("radio", name="Nachbearbeitung")).to_be_checked()
    await assert_accessible(page, "after the call")
    assert (await desk.get(appointment.id)).status == "completed"

    assert citizen.problems == [] and clerk.problems == []
    await citizen_context.close()
    await clerk_context.close()


async def test_clerk_reloads_sends_back_and_the_citizen_leaves_in_english(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    clerk_id = await open_all_day(app)
    appointment = await book_soon(desk)

    citizen_context, citizen = await citizen_with_cookie(browser, server, desk, appointment)
    page = citizen.page
    await page.goto(f"{server}/termin/warteraum?lang=en")
    await page.get_by_role("button", name="Start camera and microphone").click()
    await page.get_by_role("button", name="Continue to the waiting room").click()
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1")

    clerk_context, clerk = await clerk_console(browser, server, app, clerk_id)
    console = clerk.page
    await console.get_by_role("button", name="Nächste Person aufrufen").click()
    await assert_remote_video_plays(page)
    await assert_remote_video_plays(console)

    # The clerk reloads: the citizen is told and the call comes back by itself.
    await console.reload()
    await expect(
        console.get_by_role("heading", name="Gespräch mit Erika Mustermann")
    ).to_be_visible()
    await assert_remote_video_plays(console)
    await assert_remote_video_plays(page)

    # Back to the waiting room, at the front; the clerk calls again.
    await console.get_by_role("button", name="Zurück in den Warteraum").click()
    await expect(page.locator("#queue-note")).to_contain_text("sent you back")
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1")
    await expect(console.get_by_role("radio", name="Nachbearbeitung")).to_be_checked()
    await expect(console.get_by_role("button", name="Nächste Person aufrufen")).to_be_enabled()
    await console.keyboard.press("Alt+N")  # the next person, by keyboard
    await assert_remote_video_plays(page)

    # The citizen leaves the call (and confirms it).
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Leave the call").click()
    await expect(page.get_by_text("The town will send you the document by post.")).to_be_visible()
    await expect(console.get_by_text("Die Person hat das Gespräch verlassen.")).to_be_visible()
    await expect(console.get_by_role("radio", name="Nachbearbeitung")).to_be_checked()
    await assert_accessible(page, "after the call, in English")

    assert citizen.problems == [] and clerk.problems == []
    await citizen_context.close()
    await clerk_context.close()


DENY_MEDIA = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""


async def test_device_check_explains_a_blocked_camera(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    await open_all_day(app)
    appointment = await book_soon(desk)
    context = await browser.new_context()
    token = desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)
    await context.add_cookies([{"name": "bb_termin", "value": token, "url": server}])
    await context.add_init_script(DENY_MEDIA)  # as if the user had clicked "Block"
    watched = await new_page(context)
    page = watched.page
    await page.goto(f"{server}/termin/warteraum")

    await page.get_by_role("button", name="Kamera und Mikrofon starten").click()
    await expect(page.get_by_role("alert")).to_contain_text("Kamera und Mikrofon sind blockiert")
    await expect(page.get_by_text("Safari auf iPhone und iPad")).to_be_visible()
    await expect(page.get_by_role("button", name="Weiter zum Warteraum")).to_be_disabled()
    await assert_accessible(page, "device check, camera blocked")
    assert watched.problems == []
    await context.close()


async def test_dashboard_is_for_admins_only(
    app: web.Application, server: str, browser: Browser
) -> None:
    from office.models import Role

    clerk_id = await open_all_day(app)
    admin = await app[STAFF].create("ada", "Ada Admin", "correct horse battery", role=Role.ADMIN)
    context = await browser.new_context()
    watched = await new_page(context)
    page = watched.page

    await page.goto(f"{server}/dashboard")
    assert page.url.endswith("/anmelden")

    clerk_session = await app[STAFF].open_session(clerk_id)
    await context.add_cookies([{"name": "bb_staff", "value": clerk_session, "url": server}])
    response = await page.goto(f"{server}/dashboard")
    assert response is not None and response.status == 403

    admin_session = await app[STAFF].open_session(admin.id)
    await context.add_cookies([{"name": "bb_staff", "value": admin_session, "url": server}])
    await page.goto(f"{server}/sachbearbeitung")
    await page.get_by_role("link", name="Zum Dashboard").click()
    await page.wait_for_url("**/dashboard", timeout=WAIT_MS)
    await expect(page.locator("#queue-rows")).to_contain_text("Meldebescheinigung")
    await assert_accessible(page, "dashboard")
    assert watched.problems == []
    await context.close()
