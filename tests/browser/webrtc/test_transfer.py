"""A clerk hands the citizen to a colleague with a note, in real Chromium: the citizen
is told and waits first in line; the colleague sees the note in the waiting list and
in the call, and the two of them see and hear each other."""

from __future__ import annotations

from aiohttp import web
from playwright.async_api import Browser, expect

from signalling.keys import APPOINTMENTS, STAFF
from tests.helpers.call_pages import (
    ALL_WEEK,
    assert_accessible,
    assert_remote_video_plays,
    book_soon,
    clerk_console,
    open_all_day,
    waiting_citizen,
)

NOTE = "Möchte noch wissen, wie die Ummeldung ihrer Tochter geht."


async def test_a_clerk_hands_the_citizen_to_a_colleague_with_a_note(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    anna_id = await open_all_day(app)
    bert = await app[STAFF].create(
        "bert",
        "Bert B.",
        "correct horse battery",
        skills=["meldewesen"],
        hours=ALL_WEEK,
    )
    appointment = await book_soon(desk)
    citizen_context, citizen = await waiting_citizen(browser, server, desk, appointment)
    page = citizen.page
    anna_context, anna = await clerk_console(browser, server, app, anna_id)
    await anna.page.get_by_role("button", name="Nächste Person aufrufen").click()
    await assert_remote_video_plays(page)

    console = anna.page
    await console.get_by_label("Zuständigkeit").select_option("meldewesen")  # second opinion
    await console.get_by_label("Übergabenotiz", exact=False).fill(NOTE)
    await console.get_by_role("button", name="Weitergeben").click()
    await expect(console.get_by_text("Die Person ist weitergegeben")).to_be_visible()
    await expect(page.locator("#queue-note")).to_contain_text("Kollegin oder einen Kollegen")
    await expect(page.locator("#queue-status")).to_contain_text("Position 1")

    bert_context, bert_console = await clerk_console(browser, server, app, bert.id)
    colleague = bert_console.page
    await expect(colleague.locator("#queue-rows")).to_contain_text(f"Übergabe von Anna A.: {NOTE}")
    await colleague.get_by_role("button", name="Erika Mustermann aufrufen").click()
    await expect(colleague.locator("#citizen-handover")).to_have_text(
        f"Übergabe von Anna A.: {NOTE}"
    )
    await assert_remote_video_plays(page)
    await assert_remote_video_plays(colleague)
    await assert_accessible(colleague, "the colleague's call, with the note")

    assert citizen.problems == [] and anna.problems == [] and bert_console.problems == []
    for context in (citizen_context, anna_context, bert_context):
        await context.close()
