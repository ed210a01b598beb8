"""Feedback after the call: once per held appointment, anonymous, checked input.
On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from office.appointments import Appointments
from office.models import Appointment, AppointmentStatus, Feedback
from office.tokens import Audience
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.pages import csrf_of

CLOSED = "Eine Rückmeldung ist nach dem Gespräch einmal möglich."


async def give(
    client: TestClient[Any, Any], desk: Appointments, appointment: Appointment, **form: str
) -> tuple[int, str]:
    token = desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)
    headers = {"Cookie": f"bb_termin={token}"}
    page = await client.get("/termin/rueckmeldung", headers=headers)
    assert page.status == 200
    data = {"csrf": csrf_of(await page.text()), **form}
    answer = await client.post("/termin/rueckmeldung", data=data, headers=headers)
    return answer.status, await answer.text()


async def stored(desk: Appointments) -> list[tuple[str, str, int, str | None]]:
    async with desk.office.sessions() as session:
        rows = await session.execute(
            select(Feedback.month, Feedback.service_id, Feedback.rating, Feedback.comment)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def held(desk: Appointments, appointment: Appointment) -> None:
    async with desk.office.sessions() as session, session.begin():
        await session.execute(
            update(Appointment)
            .where(Appointment.id == appointment.id)
            .values(status=AppointmentStatus.COMPLETED)
        )


async def test_a_held_appointment_gives_feedback_once_and_nothing_ties_it_to_the_citizen(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> None:
    appointment = await book_at(desk, SLOT)
    clock.set(SLOT)

    status, page = await give(client, desk, appointment, rating="4")  # before the call
    assert status == 409 and CLOSED in page
    assert await stored(desk) == []

    await held(desk, appointment)
    for wrong, message in [
        ({"rating": "6"}, "Bitte wählen Sie eine Bewertung von 1 bis 5."),
        ({"rating": ""}, "Bitte wählen Sie eine Bewertung von 1 bis 5."),
        ({"rating": "3", "comment": "x" * 1001}, "Bitte schreiben Sie höchstens 1000 Zeichen."),
    ]:
        status, page = await give(client, desk, appointment, **wrong)
        assert status == 400 and message in page, wrong
    assert await stored(desk) == []

    status, page = await give(client, desk, appointment, rating="4", comment="  Schnell, danke ")
    assert status == 200 and "Vielen Dank für Ihre Rückmeldung." in page
    assert await stored(desk) == [("2026-06", "meldebescheinigung", 4, "Schnell, danke")]
    columns = {column.name for column in Feedback.__table__.columns}
    assert columns == {"id", "month", "service_id", "rating", "comment"}  # nothing personal

    status, page = await give(client, desk, appointment, rating="1")  # once only
    assert status == 409 and CLOSED in page
    async with desk.office.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Feedback)) == 1
