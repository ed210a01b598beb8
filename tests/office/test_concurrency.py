"""Twenty people race for the last place in a slot: exactly one gets it, on both backends."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments, Booked
from office.booking_request import BookingRequest
from office.errors import SlotTaken
from office.models import Appointment, BookedUnit, OutboxMail
from signalling.keys import SESSIONS
from signalling.settings import Settings
from tests.helpers.constants import SLOT
from tests.helpers.mail import SmtpServer, deliver_mail

DAY = date(2026, 6, 1)  # the clock's Monday
SERVICE = "meldebescheinigung"  # 10 minutes: two 5-minute units
RACERS = 20


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Behind a proxy, so each racer can come from an address of its own (X-Forwarded-For)
    and the per-address booking limit stays as strict as it is."""
    return settings.model_copy(update={"behind_proxy": True})


def request_of(i: int) -> BookingRequest:
    return BookingRequest(SERVICE, SLOT, f"Person Nummer {i}", f"person{i}@example.org", None, "de")


async def assert_exactly_one_booking(
    client: TestClient[Any, Any], desk: Appointments, appointment_id: str
) -> None:
    async with client.app[SESSIONS]() as session:
        appointments = (await session.scalars(select(Appointment))).all()
        assert [a.id for a in appointments] == [appointment_id]
        units = (
            await session.execute(
                select(BookedUnit.unit_start, BookedUnit.clerk_id, BookedUnit.appointment_id)
            )
        ).all()
        per_unit = (
            await session.execute(
                select(BookedUnit.unit_start, func.count()).group_by(BookedUnit.unit_start)
            )
        ).all()
        mails = (await session.scalars(select(OutboxMail))).all()
    assert sorted(u.unit_start for u in units) == [SLOT, SLOT + timedelta(minutes=5)]
    assert {u.appointment_id for u in units} == {appointment_id}
    assert len({u.clerk_id for u in units}) == 1
    assert sorted(count for _, count in per_unit) == [1, 1]
    assert [(m.kind, m.appointment_id) for m in mails] == [("confirmation", appointment_id)]
    # The slot is gone for everyone else.
    assert SLOT not in [s.starts_at for s in await desk.slots(SERVICE, DAY)]


async def test_concurrent_bookings_of_the_last_place_on_the_desk(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer
) -> None:
    [first] = [s for s in await desk.slots(SERVICE, DAY) if s.starts_at == SLOT]
    assert first.free_seats == 1

    results = await asyncio.gather(
        *(desk.book(request_of(i)) for i in range(RACERS)), return_exceptions=True
    )

    winners = [r for r in results if isinstance(r, Booked)]
    losers = [r for r in results if isinstance(r, SlotTaken)]
    others = [r for r in results if not isinstance(r, Booked | SlotTaken)]
    assert others == []
    assert len(winners) == 1 and len(losers) == RACERS - 1
    [winner] = winners
    await assert_exactly_one_booking(client, desk, winner.appointment.id)

    await deliver_mail(client)
    assert len(smtp.inbox.messages) == 1
    assert smtp.inbox.messages[0]["To"] == winner.appointment.email


async def test_concurrent_bookings_of_the_last_place_over_http(
    client: TestClient[Any, Any], clerk: int, desk: Appointments, smtp: SmtpServer
) -> None:
    async def post(i: int) -> tuple[int, dict[str, Any]]:
        response = await client.post(
            "/api/v1/appointments",
            json={
                "service_id": SERVICE,
                "starts_at": SLOT.isoformat(),
                "name": f"Person Nummer {i}",
                "email": f"person{i}@example.org",
                "consent": True,
            },
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
        )
        return response.status, await response.json()

    answers = await asyncio.gather(*(post(i) for i in range(RACERS)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (RACERS - 1)
    [created] = [data for status, data in answers if status == 201]
    assert created["status"] == "booked" and created["starts_at"] == SLOT.isoformat()
    codes = [data["error"]["code"] for status, data in answers if status == 409]
    assert codes == ["slot_taken"] * (RACERS - 1)
    await assert_exactly_one_booking(client, desk, created["id"])

    await deliver_mail(client)
    assert len(smtp.inbox.messages) == 1


async def test_the_booking_limit_still_applies_per_forwarded_address(
    client: TestClient[Any, Any], clerk: int
) -> None:
    """The proxy setting moves the limit to the forwarded address; it does not lift it."""
    statuses = []
    for _ in range(11):
        response = await client.post(
            "/api/v1/appointments",
            json={"service_id": SERVICE},  # invalid: books nothing
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        statuses.append(response.status)
    assert statuses == [400] * 10 + [429]
    other = await client.post(
        "/api/v1/appointments",
        json={"service_id": SERVICE},
        headers={"X-Forwarded-For": "203.0.113.8"},
    )
    assert other.status == 400
