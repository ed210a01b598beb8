"""An admin sets a service's bookability, fee, duration and documents in the browser:
new bookings get them, appointments booked before keep their terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.cases import Cases
from office.models import AuditEntry, Role, ServiceSetting
from office.staff import Staff
from signalling.keys import CASES, OFFICE, SESSIONS
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.mail import SmtpServer, body, deliver_mail
from tests.helpers.pages import csrf_of

PAGE = "/verwaltung/anliegen"
SERVICE = "meldebescheinigung"  # 10 minutes, fee from the town file
AT_13 = datetime(2026, 6, 2, 11, 0, tzinfo=UTC)
AT_1330 = datetime(2026, 6, 2, 11, 30, tzinfo=UTC)  # a start for 10 and 20 minutes
CHANGED = {
    "bookable": "1",
    "fee": "17,50",
    "duration_minutes": "20",
    "documents": "Personalausweis\nMietvertrag",
    "documents_en": "Identity card\nTenancy agreement",
}


async def as_admin(client: TestClient[Any, Any], staff: Staff) -> str:
    admin = await staff.create("root", "Ada Admin", "correct horse battery", role=Role.ADMIN)
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(admin.id)})
    page = await client.get(PAGE)
    assert page.status == 200
    return csrf_of(await page.text())


async def test_new_bookings_get_the_new_terms_and_old_ones_keep_theirs(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    clerk: int,
    smtp: SmtpServer,
    clock: Clock,
) -> None:
    file_service = client.app[OFFICE].service(SERVICE)
    before = await book_at(desk, AT_13, email="before@example.org")
    clock.advance(minutes=1)
    csrf = await as_admin(client, staff)
    saved = await client.post(f"{PAGE}/{SERVICE}", data={"csrf": csrf, **CHANGED})
    assert saved.status == 200 and "Gespeichert" in await saved.text()

    after = await book_at(desk, AT_1330, email="after@example.org")
    assert after.ends_at - after.starts_at == timedelta(minutes=20)
    assert before.ends_at - before.starts_at == timedelta(minutes=file_service.duration_minutes)
    cases: Cases = client.app[CASES]
    assert (await cases.open(after.id, SERVICE, clerk)).fee_cents == 1750
    assert (await cases.open(before.id, SERVICE, clerk)).fee_cents == file_service.fee_cents
    moved = await desk.reschedule(before.id, AT_13 + timedelta(days=1))
    assert moved.appointment.ends_at - moved.appointment.starts_at == timedelta(
        minutes=file_service.duration_minutes
    )
    await deliver_mail(client)
    assert "Mietvertrag" in body(smtp.inbox.to("after@example.org")[0])
    assert all("Mietvertrag" not in body(m) for m in smtp.inbox.to("before@example.org"))
    async with client.app[SESSIONS]() as session:
        changes = await session.scalar(
            select(func.count()).where(AuditEntry.action == "service.changed")
        )
    assert changes == 1

    # Back to the town file's values.
    reset = await client.post(f"{PAGE}/{SERVICE}", data={"csrf": csrf, "reset": "1"})
    assert reset.status == 200
    assert client.app[OFFICE].service(SERVICE) == file_service


async def test_a_service_switched_off_is_not_offered_but_its_appointments_stand(
    client: TestClient[Any, Any], staff: Staff, desk: Appointments, clerk: int
) -> None:
    booked = await book_at(desk, AT_13)
    csrf = await as_admin(client, staff)
    off = {**CHANGED, "fee": "0", "duration_minutes": "10"}
    del off["bookable"]
    assert (await client.post(f"{PAGE}/{SERVICE}", data={"csrf": csrf, **off})).status == 200
    assert (await client.get(f"/buchen/{SERVICE}")).status == 404
    assert f"/buchen/{SERVICE}" not in await (await client.get("/")).text()
    listed = await (await client.get("/api/v1/services")).json()
    assert SERVICE not in {s["id"] for s in listed} and listed
    assert await desk.slots(SERVICE, AT_13.date()) == []
    refused = await client.post(
        "/api/v1/appointments",
        json={
            "service_id": SERVICE,
            "starts_at": AT_1330.isoformat(),
            "name": "Erika Mustermann",
            "email": "erika@example.org",
            "consent": True,
        },
    )
    assert refused.status == 400 and (await refused.json())["error"]["code"] == "invalid_input"
    assert (await desk.get(booked.id)).status == "booked"


async def test_wrong_values_are_refused_and_change_nothing(
    client: TestClient[Any, Any], staff: Staff
) -> None:
    csrf = await as_admin(client, staff)
    before = client.app[OFFICE].service(SERVICE)
    for change, message in [
        ({"duration_minutes": "7"}, "in Schritten der Buchungseinheit"),
        ({"duration_minutes": "zehn"}, "in Minuten"),
        ({"fee": "zwölf Euro"}, "in Euro"),
        ({"documents_en": "Identity card"}, "jede deutsche"),
    ]:
        response = await client.post(f"{PAGE}/{SERVICE}", data={"csrf": csrf, **CHANGED, **change})
        assert response.status == 400, change
        assert message in await response.text(), change
    assert (await client.post(f"{PAGE}/no-such-service", data={"csrf": csrf})).status == 404
    async with client.app[SESSIONS]() as session:
        assert await session.scalar(select(func.count()).select_from(ServiceSetting)) == 0
    assert client.app[OFFICE].service(SERVICE) == before
