"""The personal join link over HTTP: every way a link can go bad, and what a good one does."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from office.appointments import Appointments, Booked
from office.booking_request import BookingRequest
from office.models import Appointment, AppointmentStatus, BookedUnit
from office.tokens import Audience
from signalling.cookies import APPOINTMENT as COOKIE
from signalling.keys import SESSIONS
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.mail import SmtpServer, body, deliver_mail, join_link
from tests.helpers.pages import csrf_of, slots_of

DAY = date(2026, 6, 1)  # the clock's Monday
LATER_SLOT = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)  # 13:00 local
NAME = "Erika Mustermann"
EMAIL = "erika@example.org"
PHONE = "+49 711 1234567"
SERVICE = "meldebescheinigung"
SERVICE_NAME = "Meldebescheinigung"
RETENTION_DAYS = 7  # the Settings default the conftest uses
INVALID_TITLE = "Dieser Link funktioniert nicht"
WAITING_ROOM = "Warteraum betreten"
PATH_PRIVATE_REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
}


def token_of(link: str) -> str:
    assert link.startswith("/t/")
    return link.removeprefix("/t/")


def tampered(link: str, part: int) -> str:
    """The link with one character in the middle of one JWT part (1 payload, 2 signature)."""
    pieces = token_of(link).split(".")
    assert len(pieces) == 3
    text = pieces[part]
    middle = len(text) // 2
    pieces[part] = text[:middle] + ("B" if text[middle] == "A" else "A") + text[middle + 1 :]
    changed = "/t/" + ".".join(pieces)
    assert changed != link and len(changed) == len(link)
    return changed


async def book(
    client: TestClient[Any, Any], desk: Appointments, smtp: SmtpServer, starts_at: datetime = SLOT
) -> tuple[Booked, str]:
    """Book through the desk and return the booking with the link from its mail."""
    booked = await desk.book(BookingRequest(SERVICE, starts_at, NAME, EMAIL, PHONE, "de"))
    await deliver_mail(client)
    return booked, latest_link(smtp)


def latest_link(smtp: SmtpServer) -> str:
    confirmations = [m for m in smtp.inbox.to(EMAIL) if "Ihr Videotermin" in str(m["Subject"])]
    assert confirmations, "no confirmation mail"
    return join_link(confirmations[-1])


async def stored(client: TestClient[Any, Any], appointment_id: str) -> Appointment:
    async with client.app[SESSIONS]() as session:
        appointment: Appointment | None = await session.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment


async def units_of(client: TestClient[Any, Any], appointment_id: str) -> list[datetime]:
    async with client.app[SESSIONS]() as session:
        rows = await session.scalars(
            select(BookedUnit.unit_start).where(BookedUnit.appointment_id == appointment_id)
        )
        return sorted(rows.all())


def session_cookie(response: ClientResponse) -> str | None:
    """The raw Set-Cookie header for the appointment cookie, if the response sets one."""
    headers = [h for h in response.headers.getall("Set-Cookie", []) if h.startswith(f"{COOKIE}=")]
    assert len(headers) <= 1
    return headers[0] if headers else None


async def assert_invalid_link_page(
    client: TestClient[Any, Any], path: str, booked: Booked, reference_page: str
) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 404
    html = await response.text()
    assert INVALID_TITLE in html
    for revealing in (NAME, "Erika", "Mustermann", SERVICE_NAME, booked.appointment.reference):
        assert revealing not in html, f"the invalid-link page reveals {revealing!r}"
    # Exactly the page a made-up token gets: nothing tells the cases apart.
    assert html == reference_page
    # No session is granted: the cookie is at most cleared.
    cookie = session_cookie(response)
    assert cookie is None or cookie.startswith(f'{COOKIE}="";') or cookie.startswith(f"{COOKIE}=;")


async def invalid_reference_page(client: TestClient[Any, Any]) -> str:
    response = await client.get("/t/not-a-token", allow_redirects=False)
    assert response.status == 404
    return await response.text()


SPOILED = [
    "signature-tampered",
    "payload-tampered",
    "expired",
    "cancelled",
    "superseded-by-reschedule",
    "session-token-as-link",
    "receipt-token-as-link",
]


@pytest.mark.parametrize("spoil", SPOILED)
async def test_spoiled_link_shows_the_same_neutral_404_page(
    client: TestClient[Any, Any],
    clerk: int,
    desk: Appointments,
    smtp: SmtpServer,
    clock: Clock,
    spoil: str,
) -> None:
    booked, link = await book(client, desk, smtp)
    appointment = booked.appointment
    reference_page = await invalid_reference_page(client)
    assert INVALID_TITLE in reference_page

    path = link
    if spoil == "signature-tampered":
        path = tampered(link, part=2)
    elif spoil == "payload-tampered":
        path = tampered(link, part=1)
    elif spoil == "expired":
        clock.set(appointment.ends_at + timedelta(days=RETENTION_DAYS, seconds=1))
    elif spoil == "cancelled":
        await desk.cancel(appointment.id)
    elif spoil == "superseded-by-reschedule":
        await desk.reschedule(appointment.id, LATER_SLOT)
    elif spoil == "session-token-as-link":
        path = "/t/" + desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)
    elif spoil == "receipt-token-as-link":
        path = "/t/" + desk.office.issue_token(appointment, Audience.BOOKING_RECEIPT)

    await assert_invalid_link_page(client, path, booked, reference_page)
    # The invalid link did not open a session either.
    after = await client.get("/termin", allow_redirects=False)
    assert after.status == 404
    assert NAME not in await after.text()


async def test_link_works_until_the_data_is_due_for_deletion(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer, clock: Clock
) -> None:
    booked, link = await book(client, desk, smtp)
    expiry = booked.appointment.ends_at + timedelta(days=RETENTION_DAYS)
    clock.set(expiry - timedelta(seconds=1))
    still = await client.get(link, allow_redirects=False)
    assert still.status == 303
    clock.set(expiry + timedelta(seconds=1))
    reference_page = await invalid_reference_page(client)
    await assert_invalid_link_page(client, link, booked, reference_page)


async def test_superseded_link_fails_and_the_newly_mailed_link_works(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer
) -> None:
    booked, old_link = await book(client, desk, smtp)
    moved = await desk.reschedule(booked.appointment.id, LATER_SLOT)
    await deliver_mail(client)
    new_link = latest_link(smtp)
    assert new_link != old_link

    reference_page = await invalid_reference_page(client)
    await assert_invalid_link_page(client, old_link, booked, reference_page)
    opened = await client.get(new_link, allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/termin"
    page = await client.get("/termin")
    html = await page.text()
    assert NAME in html and moved.appointment.reference in html
    assert "13:00" in html


async def test_session_cookie_cannot_be_forged_from_a_join_link(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer
) -> None:
    """The audiences also keep the mailed token from working as the session cookie."""
    _, link = await book(client, desk, smtp)
    client.session.cookie_jar.update_cookies({COOKIE: token_of(link)})
    response = await client.get("/termin", allow_redirects=False)
    assert response.status == 404
    html = await response.text()
    assert INVALID_TITLE in html and NAME not in html


async def test_valid_link_sets_httponly_cookie_and_redirects_without_token(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer
) -> None:
    booked, link = await book(client, desk, smtp)
    token = token_of(link)

    response = await client.get(link, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/termin"
    # The token is in this URL: no policy that would send the path to another site.
    assert response.headers["Referrer-Policy"] in PATH_PRIVATE_REFERRER_POLICIES
    cookie = session_cookie(response)
    assert cookie is not None
    attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    value = response.cookies[COOKIE].value
    assert value and value != token  # a session token of its own, not the mailed one

    page = await client.get("/termin")
    assert page.status == 200
    assert page.url.path == "/termin" and token not in str(page.url)
    html = await page.text()
    assert NAME in html and SERVICE_NAME in html and booked.appointment.reference in html
    assert token not in html


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (datetime(2026, 6, 1, 6, 0, tzinfo=UTC), "before"),
        (datetime(2026, 6, 1, 10, 14, 59, tzinfo=UTC), "before"),
        (datetime(2026, 6, 1, 10, 15, tzinfo=UTC), "open"),
        (datetime(2026, 6, 1, 10, 44, 59, tzinfo=UTC), "open"),
        (datetime(2026, 6, 1, 10, 45, tzinfo=UTC), "over"),
    ],
)
async def test_waiting_room_button_follows_the_checkin_window(
    client: TestClient[Any, Any],
    clerk: int,
    desk: Appointments,
    smtp: SmtpServer,
    clock: Clock,
    now: datetime,
    state: str,
) -> None:
    _, link = await book(client, desk, smtp)
    assert (await client.get(link, allow_redirects=False)).status == 303
    clock.set(now)
    page = await client.get("/termin")
    assert page.status == 200
    html = await page.text()
    assert WAITING_ROOM in html
    active = re.search(
        r'<a [^>]*href="/termin/warteraum"[^>]*>\s*<span class="kern-label">Warteraum betreten',
        html,
    )
    disabled = re.search(
        r"<button [^>]*\bdisabled\b[^>]*>\s*<span class=\"kern-label\">Warteraum betreten", html
    )
    if state == "open":
        assert active is not None and disabled is None
    else:
        assert disabled is not None and active is None
        assert 'href="/termin/warteraum"' not in html
    if state == "before":
        assert "Der Warteraum öffnet 15 Minuten vor Ihrem Termin" in html


async def test_delete_link_erases_personal_data_and_cancels_future_appointment(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer, clock: Clock
) -> None:
    booked, link = await book(client, desk, smtp)
    appointment_id = booked.appointment.id
    assert len(await units_of(client, appointment_id)) == 2  # 10 minutes of 5-minute units

    opened = await client.get(f"{link}?next=loeschen", allow_redirects=False)
    assert opened.status == 303
    assert opened.headers["Location"] == "/termin/daten-loeschen"
    confirm = await client.get("/termin/daten-loeschen")
    assert confirm.status == 200
    html = await confirm.text()
    assert booked.appointment.reference in html and 'action="/termin/daten-loeschen"' in html

    clock.advance(minutes=5)
    deleted = await client.post("/termin/daten-loeschen", data={"csrf": csrf_of(html)})
    assert deleted.status == 200
    assert "Ihre Daten sind gelöscht" in await deleted.text()

    row = await stored(client, appointment_id)
    assert (row.name, row.email, row.phone) == (None, None, None)
    assert row.personal_data_deleted_at == clock()
    assert row.status == AppointmentStatus.CANCELLED
    assert row.cancelled_at == clock()
    assert await units_of(client, appointment_id) == []
    assert SLOT in [s.starts_at for s in await desk.slots(SERVICE, DAY)]

    reference_page = await invalid_reference_page(client)
    await assert_invalid_link_page(client, link, booked, reference_page)
    again = await client.get("/termin", allow_redirects=False)
    assert again.status == 404 and NAME not in await again.text()


async def test_reschedule_form_mails_new_confirmation_and_retires_old_link(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer
) -> None:
    booked, old_link = await book(client, desk, smtp)
    assert len(smtp.inbox.to(EMAIL)) == 1
    assert (await client.get(old_link, allow_redirects=False)).status == 303

    form = await client.get(f"/termin/verschieben?tag={DAY.isoformat()}")
    assert form.status == 200
    html = await form.text()
    offered = slots_of(html)
    assert LATER_SLOT.isoformat() in offered
    assert SLOT.isoformat() not in offered  # the own, booked slot is not on offer

    moved = await client.post(
        "/termin/verschieben",
        data={"csrf": csrf_of(html), "starts_at": LATER_SLOT.isoformat()},
        allow_redirects=False,
    )
    assert moved.status == 303
    assert moved.headers["Location"] == "/termin?hinweis=verschoben"
    page = await client.get(moved.headers["Location"])
    assert page.status == 200
    text = await page.text()
    assert "Ihr Termin ist verschoben" in text and "13:00" in text

    row = await stored(client, booked.appointment.id)
    assert row.starts_at == LATER_SLOT and row.status == AppointmentStatus.BOOKED
    assert await units_of(client, row.id) == [LATER_SLOT, LATER_SLOT + timedelta(minutes=5)]

    await deliver_mail(client)
    mails = smtp.inbox.to(EMAIL)
    assert len(mails) == 2
    new_mail = mails[-1]
    assert "Ihr Videotermin" in str(new_mail["Subject"])
    assert "13:00" in str(new_mail["Subject"]) and "13:00" in body(new_mail)
    assert booked.appointment.reference in body(new_mail)
    new_link = join_link(new_mail)
    assert new_link != old_link

    reference_page = await invalid_reference_page(client)
    await assert_invalid_link_page(client, old_link, booked, reference_page)
    reopened = await client.get(new_link, allow_redirects=False)
    assert reopened.status == 303 and reopened.headers["Location"] == "/termin"
    assert NAME in await (await client.get("/termin")).text()
