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


async def test_a_clerk_hands_the_citizen_to_a_colleague_by_name(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    anna_id = await open_all_day(app)
    carl = await app[STAFF].create(
        "carl", "Carl C.", "correct horse battery", skills=["meldewesen"], hours=ALL_WEEK
    )
    bert = await app[STAFF].create(
        "bert", "Bert B.", "correct horse battery", skills=["meldewesen"], hours=ALL_WEEK
    )
    appointment = await book_soon(desk)
    citizen_context, citizen = await waiting_citizen(browser, server, desk, appointment)
    bert_context, bert_console = await clerk_console(browser, server, app, bert.id)
    carl_context, carl_console = await clerk_console(browser, server, app, carl.id)
    anna_context, anna = await clerk_console(browser, server, app, anna_id)
    await expect(bert_console.page.locator("#queue-rows")).to_contain_text("Erika Mustermann")
    console = anna.page
    await console.get_by_role("button", name="Nächste Person aufrufen").click()
    await assert_remote_video_plays(citizen.page)

    await console.get_by_label("An wen").focus()  # the list of colleagues on duty
    await expect(console.get_by_label("An wen").locator("option")).to_have_text(
        ["Wer mit der Zuständigkeit zuerst frei ist", "Bert B.", "Carl C."]
    )
    await console.get_by_label("An wen").select_option(label="Bert B.")
    await expect(console.get_by_label("Zuständigkeit")).to_be_disabled()
    await console.get_by_label("Übergabenotiz", exact=False).fill(NOTE)
    await console.get_by_role("button", name="Weitergeben").click()
    await expect(console.get_by_text("Die Person ist weitergegeben")).to_be_visible()

    # Bert has her, with the note; Carl, of the same skill, does not.
    colleague = bert_console.page
    await expect(colleague.locator("#queue-rows")).to_contain_text(f"Übergabe von Anna A.: {NOTE}")
    # Carl's list has heard of her (counted as waiting for someone else), and lists her not.
    await expect(carl_console.page.get_by_text("1 weitere Person wartet")).to_be_visible()
    await expect(carl_console.page.locator("#queue-rows")).not_to_contain_text("Erika Mustermann")
    await colleague.get_by_role("button", name="Erika Mustermann aufrufen").click()
    await assert_remote_video_plays(citizen.page)
    await assert_remote_video_plays(colleague)

    problems = citizen.problems + anna.problems + bert_console.problems + carl_console.problems
    assert problems == []
    for context in (citizen_context, anna_context, bert_context, carl_context):
        await context.close()
