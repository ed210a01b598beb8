"""After a verified call, in real headless Chromium: the clerk opens a case for a
Meldebescheinigung and sends the invoice; the citizen's status page shows it with
its GiroCode; the clerk marks it paid and posted, and the status page follows.

Run it in a loopback-only network namespace, as tests/browser/webrtc's conftest explains.
"""

from __future__ import annotations

import re

from aiohttp import web
from playwright.async_api import Browser, Page, expect

from signalling.keys import APPOINTMENTS, CASES, INVOICES
from tests.helpers.booking import verify
from tests.helpers.browser import accessibility_violations
from tests.helpers.call_pages import (
    WAIT_MS,
    book_soon,
    clerk_console,
    new_page,
    open_all_day,
    waiting_citizen,
)


async def assert_accessible(page: Page, where: str) -> None:
    assert await accessibility_violations(page) == [], where


async def test_a_certificate_is_invoiced_paid_and_posted_and_the_citizen_follows(
    app: web.Application, server: str, browser: Browser
) -> None:
    desk = app[APPOINTMENTS]
    clerk_id = await open_all_day(app)
    appointment = await book_soon(desk)  # Meldebescheinigung, 10.00 EUR
    await verify(desk, appointment.id)  # the identity check (its own browser test)

    citizen_context, citizen = await waiting_citizen(browser, server, desk, appointment)
    page = citizen.page

    clerk_context, clerk = await clerk_console(browser, server, app, clerk_id)
    console = clerk.page
    await console.get_by_role("button", name="Erika Mustermann aufrufen").click()
    await expect(page.get_by_role("heading", name="Videogespräch")).to_be_visible()

    # The clerk opens the case, in its tab: the appointment's service is preselected.
    await console.get_by_role("tab", name="Vorgänge").click()
    panel = console.locator("#cases")
    await expect(panel.get_by_label("Leistung")).to_have_value("meldebescheinigung")
    await panel.get_by_role("button", name="Vorgang eröffnen").click()
    item = panel.locator("#case-list li")
    await expect(item).to_have_count(1)
    await expect(item).to_have_attribute("data-state", "open")
    [case] = await app[CASES].of_appointment(appointment.id)
    name = f"Meldebescheinigung ({case.reference})"

    await item.get_by_role("button", name=f"{name}: Identität verifiziert").click()
    await expect(item).to_have_attribute("data-state", "verified")
    await item.get_by_label(f"{name}: Zahlungsart").select_option("invoice_email")
    await item.get_by_role("button", name=f"{name}: Zahlung anfordern").click()
    await expect(item).to_have_attribute("data-state", "payment_pending")
    invoice = await app[INVOICES].invoice_of(case.id)
    assert invoice is not None and invoice.amount_cents == 1000
    await expect(console.locator("#cases-status")).to_contain_text(invoice.number)
    await assert_accessible(console, "clerk's case panel")

    # The citizen's status page: the invoice and its GiroCode.
    status = (await new_page(citizen_context)).page
    await status.goto(f"{server}/termin/status")
    section = status.locator("section[data-case-state]").first
    await expect(section).to_have_attribute("data-case-state", "payment_pending")
    await expect(section).to_contain_text(f"Rechnung {invoice.number}")
    code = section.get_by_role("img", name=re.compile("GiroCode"))
    await expect(code).to_be_visible()
    assert await code.evaluate("(img) => img.complete && img.naturalWidth > 100")
    await expect(section).to_contain_text(invoice.payment_reference)
    await assert_accessible(status, "status page, payment due")

    # The clerk marks it paid, then posted.
    await item.get_by_role("button", name=f"{name}: Zahlung erhalten").click()
    await expect(item).to_have_attribute("data-state", "paid")
    await item.get_by_role("button", name=f"{name}: Bearbeiten").click()
    await expect(item).to_have_attribute("data-state", "in_fulfilment")
    await item.get_by_role("button", name=f"{name}: Versandt (heute)").click()
    await expect(item).to_have_attribute("data-state", "posted")

    # The status page follows: posted, and nothing left to pay.
    await status.reload()
    await expect(section).to_have_attribute("data-case-state", "posted")
    steps = section.locator(".bb-timeline__step")
    await expect(steps.last).to_contain_text("Per Post an Sie versandt")
    await expect(steps).to_have_count(6, timeout=WAIT_MS)
    await expect(section.get_by_role("img", name=re.compile("GiroCode"))).to_have_count(0)
    await assert_accessible(status, "status page, posted")

    assert citizen.problems == [] and clerk.problems == []
    await citizen_context.close()
    await clerk_context.close()
