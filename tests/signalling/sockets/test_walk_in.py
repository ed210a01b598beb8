"""Walk-in ("Jetzt beraten lassen"): offered only for the town's walk-in services and
only while a clerk with the skill is on duty; it leads straight into the waiting room,
where a clerk takes the citizen. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.models import Appointment, BookedUnit
from office.staff import Staff
from tests.helpers.clock import Clock
from tests.helpers.constants import at
from tests.helpers.pages import csrf_of
from tests.helpers.peers import clerk_peer, disconnect_all, joined, new_peer
from tests.helpers.polling import eventually

NOBODY = "Gerade ist niemand für dieses Anliegen erreichbar."
FORM = {"name": "Willi Walk", "email": "willi@example.org", "consent": "on"}


async def count(desk: Appointments, table: Any) -> int:
    async with desk.office.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def submit(client: TestClient[Any, Any], **form: str) -> Any:
    # The CSRF token of any form will do (it is the browser's, not the page's).
    page = await client.get("/buchen/beratung")
    data = {"csrf": csrf_of(await page.text()), **form}
    return await client.post("/jetzt/beratung", data=data, allow_redirects=False)


async def test_a_walk_in_goes_straight_to_the_waiting_room_while_a_clerk_is_on_duty(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
) -> None:
    clock.set(at(10, 7))
    assert "Jetzt beraten lassen" not in await (await client.get("/")).text()
    assert (await client.get("/jetzt/meldebescheinigung")).status == 404  # booked only
    page = await (await client.get("/jetzt/beratung")).text()
    assert NOBODY in page and 'action="/jetzt/beratung"' not in page
    refused = await submit(client, **FORM)  # a form kept open from earlier
    assert refused.status == 409 and NOBODY in await refused.text()
    assert await count(desk, Appointment) == 0

    anna = await clerk_peer(base, staff, clerk)  # on duty, with the skill "beratung"

    async def offered() -> bool:
        return "/jetzt/beratung" in await (await client.get("/")).text()

    await eventually(offered)
    wrong = await submit(client, name="W")  # no e-mail, no consent
    assert wrong.status == 400 and "Bitte prüfen Sie Ihre Angaben" in await wrong.text()
    assert await count(desk, Appointment) == 0

    walked = await submit(client, **FORM)
    assert walked.status == 303 and walked.headers["Location"] == "/termin/warteraum"
    async with desk.office.sessions() as session:
        [appointment] = (await session.scalars(select(Appointment))).all()
    assert appointment.starts_at == at(10, 7) and appointment.service_id == "beratung"
    assert await count(desk, BookedUnit) == 0  # no clerk's time held: it is served now

    citizen = new_peer("/citizen")
    cookie = walked.cookies["bb_termin"].value
    await citizen.connect(base, f"bb_termin={cookie}")
    standing = await joined(citizen)
    assert standing["state"] == "waiting" and standing["position"] == 1
    taken = await anna.call("queue_next")
    assert taken["data"]["citizen"]["appointment_id"] == appointment.id
    await citizen.next("call_assigned")
    await disconnect_all(citizen, anna)
