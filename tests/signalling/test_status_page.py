"""The citizen's status page: their cases as a timeline, and nobody else's."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from typing import Any

import cv2
import numpy as np
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from office.appointments import Appointments
from office.case_views import PaymentMethod
from office.cases import Cases, CaseState
from office.invoices import InvoiceDelivery
from office.models import AuditEntry
from office.tokens import Audience
from signalling.keys import CASES, INVOICES
from tests.helpers.booking import book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.mail import SmtpServer, body, deliver_mail

CLERK = "clerk:1"


def cookie(desk: Appointments, appointment: Any) -> dict[str, str]:
    token = desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)
    return {"Cookie": f"bb_termin={token}"}


def timeline(html: str, reference: str) -> list[str]:
    """The states shown in the timeline of the case with this reference."""
    section = html.split(f'id="case-{reference}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-state="([a-z_]+)"', section)


async def test_the_citizen_follows_their_cases_like_a_parcel(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> None:
    cases: Cases = client.app[CASES]
    erika = await book_at(desk, SLOT)
    max_ = await book_at(desk, SLOT + timedelta(hours=1), "beratung", "max@example.org", "Max M.")
    clock.set(SLOT)
    certificate = await cases.open(erika.id, "meldebescheinigung", clerk)
    conduct = await cases.open(erika.id, "fuehrungszeugnis", clerk)
    await verify(desk, erika.id)
    for case in (certificate, conduct):
        await cases.transition(case.id, CaseState.VERIFIED, CLERK)
        await cases.transition(
            case.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_EMAIL
        )
    await cases.record_payment(certificate.id, "clerk", "cash-1", certificate.fee_cents, CLERK)
    await cases.transition(certificate.id, CaseState.IN_FULFILMENT, CLERK)
    await cases.transition(certificate.id, CaseState.POSTED, CLERK, posted_on=date(2026, 6, 1))

    page = await client.get("/termin/status", headers=cookie(desk, erika))
    assert page.status == 200
    html = await page.text()
    assert timeline(html, certificate.reference) == [
        "open", "verified", "payment_pending", "paid", "in_fulfilment", "posted"
    ]  # fmt: skip
    assert "Per Post an Sie versandt" in html and "Meldebescheinigung" in html
    assert timeline(html, conduct.reference) == ["open", "verified", "payment_pending"]
    assert "Zahlung angefordert" in html

    # Another citizen sees none of it; without the cookie there is no page.
    theirs = await (await client.get("/termin/status", headers=cookie(desk, max_))).text()
    assert certificate.reference not in theirs and conduct.reference not in theirs
    assert "noch keine Vorgänge" in theirs
    client.session.cookie_jar.clear()
    assert (await client.get("/termin/status")).status == 404


async def test_the_mailed_link_can_lead_straight_to_the_status_page(
    client: TestClient[Any, Any], desk: Appointments, clerk: int
) -> None:
    erika = await book_at(desk, SLOT)
    token = desk.office.issue_token(erika, Audience.JOIN_LINK)
    opened = await client.get(f"/t/{token}?next=status", allow_redirects=False)
    assert opened.status in (302, 303)
    assert opened.headers["Location"] == "/termin/status"


async def test_the_citizen_is_mailed_when_a_case_reaches_a_state_they_wait_for(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock, smtp: SmtpServer
) -> None:
    cases: Cases = client.app[CASES]
    erika = await book_at(desk, SLOT)
    clock.set(SLOT)
    await deliver_mail(client)
    before = len(smtp.inbox.to("erika@example.org"))  # the booking's confirmation
    conduct = await cases.open(erika.id, "fuehrungszeugnis", clerk)
    await verify(desk, erika.id)
    await cases.transition(conduct.id, CaseState.VERIFIED, CLERK)
    await cases.transition(
        conduct.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_POST
    )
    await deliver_mail(client)
    assert len(smtp.inbox.to("erika@example.org")) == before  # nothing they wait for yet

    await cases.record_payment(conduct.id, "bank", "E1", conduct.fee_cents, "bank")
    await cases.transition(conduct.id, CaseState.IN_FULFILMENT, CLERK)
    await cases.transition(conduct.id, CaseState.FORWARDED, CLERK, bzr_reference="BZR-9")
    await deliver_mail(client)
    mails = smtp.inbox.of_kind(f"Ihr Anliegen {conduct.reference}")
    assert [str(m["Subject"]).split(": ", 1)[1] for m in mails] == [
        "Bezahlt – vielen Dank.",
        "An das Bundesamt für Justiz übermittelt.",
    ]
    text = body(mails[1])
    assert "Bundesamt für Justiz per Post" in text and "Führungszeugnis" in text
    assert "BZR-9" not in text  # the register's file number is for the office
    link = re.search(r"https?://\S+/t/(\S+)\?next=status", text)
    assert link, text
    opened = await client.get(f"/t/{link.group(1)}?next=status", allow_redirects=True)
    assert opened.status == 200 and conduct.reference in await opened.text()


async def test_an_invoice_shows_with_its_girocode_until_paid_and_only_to_its_citizen(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> None:
    cases: Cases = client.app[CASES]
    erika = await book_at(desk, SLOT)
    max_ = await book_at(desk, SLOT + timedelta(hours=1), "beratung", "max@example.org", "Max M.")
    clock.set(SLOT)
    case = await cases.open(erika.id, "meldebescheinigung", clerk)
    await verify(desk, erika.id)
    await cases.transition(
        case.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_EMAIL
    )
    invoice = await client.app[INVOICES].issue(
        case.id, InvoiceDelivery.EMAIL, "Erika Mustermann", (), "erika@example.org", CLERK
    )

    html = await (await client.get("/termin/status", headers=cookie(desk, erika))).text()
    assert invoice.number in html and "Rechnung herunterladen" in html
    # The GiroCode on the page asks the banking app for the open amount and reference.
    found = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="GiroCode', html)
    assert found, html
    pixels = cv2.imdecode(np.frombuffer(base64.b64decode(found.group(1)), np.uint8), 0)
    assert pixels is not None
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(pixels)
    fields = text.split("\n")
    assert fields[:3] == ["BCD", "002", "1"] and fields[3] == "SCT"
    assert fields[7] == "EUR10.00" and fields[9] == invoice.payment_reference
    # The same transfer as text, for banking on this device: as the code says it.
    shown = dict(re.findall(r"<dt>([^<]+)</dt><dd data-copy>([^<]+)</dd>", html))
    assert shown == {
        "Empfänger": fields[5],
        "IBAN": " ".join(fields[6][i : i + 4] for i in range(0, len(fields[6]), 4)),
        "BIC": fields[4],
        "Betrag": "10,00 €",
        "Verwendungszweck": invoice.payment_reference,
    }, shown

    pdf = await client.get(f"/termin/status/{case.id}/rechnung.pdf", headers=cookie(desk, erika))
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    async with desk.office.sessions() as session:  # it carries a name and address: audited
        viewed = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.subject).where(
                    AuditEntry.action == "invoice.viewed"
                )
            )
        ).all()
    assert viewed == [("citizen", f"invoice:{invoice.id}")]
    # Another citizen gets neither the invoice nor a hint that it exists.
    theirs = await client.get(f"/termin/status/{case.id}/rechnung.pdf", headers=cookie(desk, max_))
    assert theirs.status == 404

    await cases.record_payment(case.id, "bank", "E1", case.fee_cents, "bank")
    paid = await (await client.get("/termin/status", headers=cookie(desk, erika))).text()
    assert "GiroCode" not in paid and invoice.number in paid
    assert "<dd data-copy>" not in paid and "Überweisung" not in paid
    assert timeline(paid, case.reference)[-1] == "paid"
