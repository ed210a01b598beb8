"""The whole booking path over HTTP, on SQLite and PostgreSQL, with a real SMTP server."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient

from office.models import Appointment
from tests.helpers.mail import SmtpServer, body, deliver_mail, join_link
from tests.helpers.pages import csrf_of, slots_of

DAY = date(2026, 6, 1)  # the clock's Monday


async def book(
    client: TestClient[Any, Any], service: str = "meldebescheinigung", **fields: str
) -> Any:
    page = await client.get(f"/buchen/{service}?tag={DAY.isoformat()}")
    html = await page.text()
    form = {
        "csrf": csrf_of(html),
        "starts_at": slots_of(html)[0],
        "tag": DAY.isoformat(),
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "consent": "on",
        **fields,
    }
    return await client.post(f"/buchen/{service}", data=form, allow_redirects=False)


async def test_booking_mail_link_and_cancel(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    page = await client.get(f"/buchen/meldebescheinigung?tag={DAY.isoformat()}")
    assert page.status == 200
    first_slot = slots_of(await page.text())[0]
    # Now is 08:00 local (CEST): the early hours are over; the afternoon virtual
    # hours start at 12:30 local, 10:30 UTC.
    assert first_slot == "2026-06-01T10:30:00+00:00"

    response = await book(client)
    assert response.status == 303
    assert response.headers["Location"] == "/buchung/bestaetigt"
    confirmation = await client.get("/buchung/bestaetigt")
    text = await confirmation.text()
    assert "Ihr Termin ist gebucht" in text and "Meldebescheinigung" in text
    assert "12:30 Uhr" in text  # shown in Europe/Berlin

    await deliver_mail(client)
    [mail] = smtp.inbox.to("erika@example.org")
    assert "Meldebescheinigung" in mail["Subject"]
    [ics] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = ics.get_content()
    assert "DTSTART:20260601T103000Z" in calendar and "METHOD:PUBLISH" in calendar

    # The booked slot is gone for everyone else (one clerk: capacity one).
    page = await client.get(f"/buchen/meldebescheinigung?tag={DAY.isoformat()}")
    assert first_slot not in slots_of(await page.text())

    # The link opens the appointment page and leaves the token out of the URL.
    link = join_link(mail)
    opened = await client.get(link, allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/termin"
    appointment_page = await client.get("/termin")
    assert "Erika Mustermann" in await appointment_page.text()

    cancel_page = await client.get("/termin/absagen")
    cancelled = await client.post(
        "/termin/absagen", data={"csrf": csrf_of(await cancel_page.text())}
    )
    assert cancelled.status == 200
    assert "abgesagt" in await cancelled.text()

    # The slot is free again, and the old link no longer opens anything.
    page = await client.get(f"/buchen/meldebescheinigung?tag={DAY.isoformat()}")
    assert first_slot in slots_of(await page.text())
    reopened = await client.get(link)
    assert reopened.status == 404
    assert "Erika" not in await reopened.text()

    await deliver_mail(client)
    assert len(smtp.inbox.of_kind("Abgesagt")) == 1


async def test_html_in_name_comes_back_escaped(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    response = await book(client, name="<script>alert(1)</script> Müller")
    assert response.status == 303
    await deliver_mail(client)
    [mail] = smtp.inbox.to("erika@example.org")
    await client.get(join_link(mail))
    html = await (await client.get("/termin")).text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Müller" in html


async def test_invalid_fields_are_reported_and_nothing_is_booked(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    response = await book(client, name="x" * 101, email="not-an-address", consent="")
    assert response.status == 400
    html = await response.text()
    assert "höchstens 100 Zeichen" in html
    assert "gültige E-Mail-Adresse" in html
    assert "stimmen Sie der Verarbeitung" in html
    assert 'aria-invalid="true"' in html
    async with _sessions(client) as session:
        assert (await session.scalars(_all_appointments())).all() == []
    await deliver_mail(client)
    assert smtp.inbox.messages == []


async def test_missing_or_wrong_csrf_token_is_refused(
    client: TestClient[Any, Any], clerk: int
) -> None:
    page = await client.get(f"/buchen/meldebescheinigung?tag={DAY.isoformat()}")
    html = await page.text()
    form = {
        "starts_at": slots_of(html)[0],
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "consent": "on",
    }
    for token in (None, "0" * 64):
        data = dict(form) if token is None else {**form, "csrf": token}
        response = await client.post("/buchen/meldebescheinigung", data=data, allow_redirects=False)
        assert response.status == 403
        assert "Sicherheitsprüfung" in await response.text()
    async with _sessions(client) as session:
        assert (await session.scalars(_all_appointments())).all() == []


async def test_cross_site_origin_is_refused(client: TestClient[Any, Any], clerk: int) -> None:
    page = await client.get(f"/buchen/meldebescheinigung?tag={DAY.isoformat()}")
    html = await page.text()
    response = await client.post(
        "/buchen/meldebescheinigung",
        data={
            "csrf": csrf_of(html),
            "starts_at": slots_of(html)[0],
            "name": "Erika M",
            "email": "erika@example.org",
            "consent": "on",
        },
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_honeypot_books_nothing(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    response = await book(client, website="http://spam.example")
    assert response.status == 400
    async with _sessions(client) as session:
        assert (await session.scalars(_all_appointments())).all() == []


async def test_rate_limit_on_booking(client: TestClient[Any, Any], clerk: int) -> None:
    statuses = []
    for _ in range(12):
        response = await book(client, name="", consent="")  # invalid: books nothing
        statuses.append(response.status)
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]


def _sessions(client: TestClient[Any, Any]) -> Any:
    from signalling.keys import SESSIONS

    return client.app[SESSIONS]()


def _all_appointments() -> Any:
    from sqlalchemy import select

    return select(Appointment)


async def test_english_pages_and_mail_describe_the_service_in_english(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    home = await (await client.get("/?lang=en")).text()
    assert "A certificate of your current registered address." in home
    assert "Bescheinigung über Ihre aktuelle Anschrift." not in home
    form = await (await client.get(f"/buchen/meldebescheinigung?tag={DAY.isoformat()}")).text()
    assert "ID card or passport" in form and "Personalausweis oder Reisepass" not in form

    assert (await book(client)).status == 303  # in English: the language cookie
    await deliver_mail(client)
    [mail] = smtp.inbox.to("erika@example.org")
    assert "ID card or passport" in body(mail) and "Personalausweis" not in body(mail)
