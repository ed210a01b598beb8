"""The citizen's status page: their cases as a timeline, and nobody else's."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.cases import Cases, CaseState, PaymentMethod
from office.models import VerificationRecord
from office.tokens import Audience
from office.verification import Outcome
from signalling.keys import CASES
from tests.conftest import deliver_mail
from tests.realtime import book_at
from tests.support import Clock, SmtpServer, body

SLOT = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
CLERK = "clerk:1"


def cookie(desk: Appointments, appointment: Any) -> dict[str, str]:
    token = desk.issue_token(appointment, Audience.APPOINTMENT_SESSION)
    return {"Cookie": f"bb_termin={token}"}


async def verified(desk: Appointments, appointment_id: str) -> None:
    async with desk.sessions() as session, session.begin():
        session.add(
            VerificationRecord(
                id=str(uuid.uuid4()),
                appointment_id=appointment_id,
                outcome=Outcome.VERIFIED,
                started_at=desk.now(),
                otp_attempts=0,
            )
        )


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
    await verified(desk, erika.id)
    for case in (certificate, conduct):
        await cases.transition(case.id, CaseState.VERIFIED, CLERK)
        await cases.transition(
            case.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_EMAIL
        )
    await cases.record_payment(certificate.id, "clerk", "cash-1", certificate.fee_cents, CLERK)
    await cases.transition(certificate.id, CaseState.IN_FULFILMENT, CLERK)
    await cases.transition(certificate.id, CaseState.POSTED, CLERK, posted_on=date(2026, 6, 2))

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
    token = desk.issue_token(erika, Audience.JOIN_LINK)
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
    await verified(desk, erika.id)
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
