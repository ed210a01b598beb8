"""An interpreter joins a call by the clerk's link, in real Chromium: three browsers
see each other (a mesh of three), also after the clerk's console reloads; the guest
cannot open an ID capture, and when the clerk removes them their page says so and
the link is spent."""

from __future__ import annotations

import re

import numpy as np
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from office.verification import Verifications
from signalling.keys import APPOINTMENTS, STAFF, VAULT
from tests.helpers.call_pages import (
    MEDIA_MS,
    assert_accessible,
    assert_remote_video_plays,
    book_soon,
    clerk_console,
    new_context,
    new_page,
    open_all_day,
    waiting_citizen,
)
from tests.helpers.constants import SECRET


async def assert_plays(page: Page, video: str) -> None:
    """Frames arrive in that <video> and its time runs."""
    await page.wait_for_function(
        "id => { const v = document.getElementById(id);"
        " return v.videoWidth > 0 && v.currentTime > 0.3; }",
        arg=video,
        timeout=MEDIA_MS,
    )


async def test_an_interpreter_joins_by_link_sees_both_and_no_capture(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    anna_id = await open_all_day(app)
    appointment = await book_soon(desk)
    citizen_context, citizen = await waiting_citizen(browser, server, desk, appointment)
    anna_context, anna = await clerk_console(browser, server, app, anna_id)
    console = anna.page
    await console.get_by_role("button", name="Nächste Person aufrufen").click()
    await assert_remote_video_plays(citizen.page)

    await console.get_by_label("Dolmetscherin oder Dolmetscher").check()
    await console.get_by_role("button", name="Einladungslink erstellen").click()
    link_field = console.get_by_label("Einladungslink", exact=False)
    await expect(link_field).to_have_value(re.compile(f"^{re.escape(server)}/gast/"))
    link = await link_field.input_value()
    await expect(console.locator("#guest-status")).to_contain_text("Geben Sie den Link weiter")

    guest_context = await new_context(browser)
    guest = await new_page(guest_context)
    await guest.page.goto(link)
    await expect(guest.page.get_by_role("heading", level=1)).to_have_text(
        "Einladung zu einem Videotermin"
    )
    await assert_accessible(guest.page, "the invitation page")
    await guest.page.get_by_role("button", name="Dem Gespräch beitreten").click()
    await guest.page.get_by_role("button", name="Kamera und Mikrofon starten und beitreten").click()
    for tile in ("#clerk-tile", "#citizen-tile"):
        await expect(guest.page.locator(tile)).to_have_attribute(
            "data-call-state", "connected", timeout=MEDIA_MS
        )
    await assert_plays(guest.page, "clerk-video")
    await assert_plays(guest.page, "citizen-video")
    await expect(guest.page.locator("#call-status")).to_have_text("Verbunden.")
    await assert_accessible(guest.page, "the guest's call")

    # Both others see the guest, and are told who it is.
    for page in (citizen.page, console):
        await expect(page.locator("#guest-tile")).to_be_visible()
        await assert_plays(page, "guest-video")
    await expect(citizen.page.locator("#guest-note")).to_contain_text("Dolmetscher")
    # Their own call goes on: the citizen still sees the clerk.
    await assert_remote_video_plays(citizen.page)

    # The guest mutes: both others read it.
    await guest.page.get_by_role("button", name="Mikrofon aus").click()
    for page in (citizen.page, console):
        await expect(page.locator("#guest-media")).to_contain_text("stummgeschaltet")

    # The clerk's console reloads: her connections to both come back.
    await console.reload()
    await expect(console.locator("#guest-tile")).to_be_visible(timeout=MEDIA_MS)
    await assert_plays(console, "guest-video")
    await assert_remote_video_plays(console)
    await expect(guest.page.locator("#clerk-tile")).to_have_attribute(
        "data-call-state", "connected", timeout=MEDIA_MS
    )
    await assert_plays(guest.page, "clerk-video")

    # A capture of this appointment's check, and its link as the console gets it:
    # the clerk opens it, the guest's browser is refused.
    checks = Verifications(desk.office, SECRET)
    started = await checks.start(appointment.id, anna_id, "id_card")
    await checks.consent(started.verification_id)
    card = np.full((447, 708, 3), 200, dtype=np.uint8)
    stored = await app[VAULT].store(started.verification_id, "front", card)
    token = await app[VAULT].link(stored.capture_id, await app[STAFF].get(anna_id))
    capture_url = f"{server}/erfassungen/{token}"
    assert (await guest.page.request.get(capture_url)).status == 403
    opened = await console.request.get(capture_url)
    assert opened.status == 200 and opened.headers["content-type"] == "image/jpeg"

    # The clerk takes the guest out: their page says so, the others' tiles go.
    console.once("dialog", lambda dialog: dialog.accept())
    await console.get_by_role("button", name="Weitere Person aus dem Gespräch entfernen").click()
    await expect(guest.page.get_by_text("hat Sie aus dem Gespräch genommen")).to_be_visible()
    for page in (citizen.page, console):
        await expect(page.locator("#guest-tile")).to_be_hidden()
    await guest.page.goto(f"{server}/gast")
    await expect(guest.page.get_by_role("heading", level=1)).to_have_text(
        "Dieser Einladungslink gilt nicht"
    )
    await guest.page.goto(link)  # spent
    await expect(guest.page.get_by_role("heading", level=1)).to_have_text(
        "Dieser Einladungslink gilt nicht"
    )
    await assert_remote_video_plays(citizen.page)  # the call itself goes on

    assert citizen.problems == [] and anna.problems == [] and guest.problems == []
    for context in (citizen_context, anna_context, guest_context):
        await context.close()
