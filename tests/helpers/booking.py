"""Appointments booked straight through the office, clerks added, and the cookies a
citizen's link and a clerk's login would have left in the browser (and the CSRF token
the waiting-room page gives its scripts)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from office.appointments import Appointments
from office.booking_request import parse_booking
from office.models import Appointment, VerificationRecord
from office.staff import Staff
from office.tokens import Audience
from office.verification import Outcome
from tests.helpers.constants import WEEKDAYS_7_TO_19


async def book_at(
    desk: Appointments,
    starts_at: datetime,
    service: str = "meldebescheinigung",
    email: str = "erika@example.org",
    name: str = "Erika Mustermann",
    phone: str | None = None,
) -> Appointment:
    form = {
        "service_id": service,
        "starts_at": starts_at.isoformat(),
        "name": name,
        "email": email,
        "consent": True,
    }
    booked = await desk.book(parse_booking(form if phone is None else {**form, "phone": phone}))
    return booked.appointment


def citizen_cookie(desk: Appointments, appointment: Appointment) -> str:
    return f"bb_termin={desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)}"


async def staff_cookie(staff: Staff, clerk_id: int) -> str:
    return f"bb_staff={await staff.open_session(clerk_id)}"


async def add_clerk(staff: Staff, username: str, *skills: str) -> int:
    """Another clerk on duty Monday to Saturday 07:00-19:00, with the given skills."""
    created = await staff.create(
        username, username.title(), "correct horse battery", skills=skills, hours=WEEKDAYS_7_TO_19
    )
    return created.id


async def verify(desk: Appointments, appointment_id: str) -> None:
    """The identity check's outcome as the checklist would leave it (tested elsewhere)."""
    async with desk.office.sessions() as session, session.begin():
        session.add(
            VerificationRecord(
                id=str(uuid.uuid4()),
                appointment_id=appointment_id,
                outcome=Outcome.VERIFIED,
                started_at=desk.office.now(),
                finished_at=desk.office.now(),
                otp_attempts=0,
            )
        )


async def csrf_for(
    client: TestClient[Any, Any], cookie: str, attribute: str = "data-upload-csrf"
) -> tuple[str, str]:
    """The CSRF token the waiting-room page carries in ``attribute``, and its cookie."""
    page = await client.get("/termin/warteraum", headers={"Cookie": cookie})
    assert page.status == 200
    found = re.search(attribute + r'="([0-9a-f]+)"', await page.text())
    assert found is not None, attribute
    return found.group(1), page.cookies["bb_csrf"].value
