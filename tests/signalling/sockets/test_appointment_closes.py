"""The waiting room follows the appointment: a citizen who cancels, moves or deletes
their appointment (by page or API), or who misses it, is out of the queue at once and
their open page is told; a clerk is never handed such an appointment, even when the
news did not reach the waiting room; and while the call runs, the appointment cannot
be changed from the link. On memory and on the real Redis (with a second node)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from office.appointments import Appointments
from office.models import Appointment, AppointmentStatus
from office.staff import Staff
from office.tokens import Audience
from rooms.store import RoomStore
from signalling.sockets.keys import LOBBY
from tests.helpers.booking import add_clerk, book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT, at
from tests.helpers.pages import csrf_of
from tests.helpers.peers import Peer, citizen_peer, clerk_peer, joined, store_ids, url_of

BOTH = pytest.mark.parametrize("backend", ["memory", "redis"])


async def open_link(client: TestClient[Any, Any], desk: Appointments, appointment: Any) -> None:
    """Open the mailed link in the test client: it now holds the appointment's cookie."""
    token = desk.office.issue_token(appointment, Audience.JOIN_LINK)
    opened = await client.get(f"/t/{token}", allow_redirects=False)
    assert opened.status == 303


async def post_form(client: TestClient[Any, Any], path: str, **fields: str) -> Any:
    page = await client.get(path)
    assert page.status == 200, await page.text()
    return await client.post(
        path, data={"csrf": csrf_of(await page.text()), **fields}, allow_redirects=False
    )


async def cancel_by_api(client: TestClient[Any, Any], desk: Appointments, appointment: Any) -> None:
    token = desk.office.issue_token(appointment, Audience.JOIN_LINK)
    response = await client.post("/api/v1/appointments/cancel", json={"token": token})
    assert response.status == 200, await response.text()


async def cancel_by_page(
    client: TestClient[Any, Any], desk: Appointments, appointment: Any
) -> None:
    await open_link(client, desk, appointment)
    response = await post_form(client, "/termin/absagen")
    assert response.status == 200, await response.text()


async def delete_by_page(
    client: TestClient[Any, Any], desk: Appointments, appointment: Any
) -> None:
    await open_link(client, desk, appointment)
    response = await post_form(client, "/termin/daten-loeschen")
    assert response.status == 200, await response.text()


async def move_by_page(client: TestClient[Any, Any], desk: Appointments, appointment: Any) -> None:
    await open_link(client, desk, appointment)
    tomorrow = (await desk.slots(appointment.service_id, at(10, 0).date().replace(day=2)))[0]
    response = await post_form(
        client, "/termin/verschieben", starts_at=tomorrow.starts_at.isoformat()
    )
    assert response.status == 303, await response.text()


async def queued_citizen(
    base: str, desk: Appointments, clock: Clock, name: str = "Erika E."
) -> tuple[Any, Peer]:
    appointment = await book_at(desk, SLOT, email=f"{name[0].lower()}@example.org", name=name)
    clock.set(at(10, 20))
    citizen = await citizen_peer(base, desk, appointment)
    await joined(citizen)
    return appointment, citizen


@BOTH
@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (cancel_by_api, "cancelled"),
        (cancel_by_page, "cancelled"),
        (delete_by_page, "data_deleted"),
        (move_by_page, "rescheduled"),
    ],
)
async def test_leaving_by_link_takes_the_citizen_out_of_the_waiting_room(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    store: RoomStore,
    action: Any,
    reason: str,
) -> None:
    appointment, citizen = await queued_citizen(base, desk, clock)
    anna = await clerk_peer(base, staff, clerk)
    await anna.until("queue_updated", lambda q: len(q["waiting"]) == 1)

    await action(client, desk, appointment)

    assert await citizen.next("appointment_closed") == {"reason": reason}
    await anna.until("queue_updated", lambda q: q["waiting"] == [])
    assert await store_ids(store) == []
    taken = await anna.call("queue_next")
    assert taken["ok"] is False and taken["error"]["code"] == "queue_empty"
    assert "call_assigned" not in citizen.events


@BOTH
async def test_a_missed_appointment_tells_the_open_page(
    client: TestClient[Any, Any], base: str, desk: Appointments, clerk: int, clock: Clock
) -> None:
    appointment = await book_at(desk, SLOT)
    citizen = await citizen_peer(base, desk, appointment)  # the page is open, not checked in
    clock.set(at(10, 46))
    assert await client.app[LOBBY].mark_no_shows() == [appointment.id]
    assert await citizen.next("appointment_closed") == {"reason": "no_show"}


@BOTH
async def test_a_clerk_never_gets_an_appointment_the_waiting_room_did_not_hear_of(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    store: RoomStore,
) -> None:
    """The news of a cancellation is lost (the change is made behind the desk's back,
    as a node dying between commit and hook would leave it): taking the citizen checks
    the appointment itself, drops the place and takes the next one."""
    await add_clerk(staff, "bert", "meldewesen")  # a second seat at 10:30
    moved = await book_at(desk, SLOT, email="m@example.org", name="Mona M.")
    stays = await book_at(desk, at(10, 40), email="s@example.org", name="Sara S.")
    gone, _ = await queued_citizen(base, desk, clock, "Gerd G.")
    mona = await citizen_peer(base, desk, moved)
    await joined(mona)
    clock.set(at(10, 26))
    await joined(await citizen_peer(base, desk, stays))
    async with desk.office.sessions() as session, session.begin():
        await session.execute(
            update(Appointment)
            .where(Appointment.id == gone.id)
            .values(status=AppointmentStatus.CANCELLED)
        )
        await session.execute(
            update(Appointment)
            .where(Appointment.id == moved.id)
            .values(starts_at=at(11, 30), ends_at=at(11, 40), checked_in_at=None)
        )
    assert set(await store_ids(store)) == {gone.id, moved.id, stays.id}

    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_next")
    assert taken["ok"] is True, taken
    assert taken["data"]["citizen"]["appointment_id"] == stays.id
    assert await store_ids(store) == []
    assert "call_assigned" not in mona.events


@BOTH
async def test_taking_a_citizen_by_name_checks_the_appointment_too(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    store: RoomStore,
) -> None:
    gone, gerd = await queued_citizen(base, desk, clock, "Gerd G.")
    async with desk.office.sessions() as session, session.begin():
        await session.execute(
            update(Appointment)
            .where(Appointment.id == gone.id)
            .values(personal_data_deleted_at=at(10, 21), name=None, email=None)
        )
    anna = await clerk_peer(base, staff, clerk)
    refused = await anna.call("queue_take", {"appointment_id": gone.id})
    assert refused["ok"] is False and refused["error"]["code"] == "not_waiting"
    assert await store_ids(store) == []
    assert "call_assigned" not in gerd.events


@BOTH
async def test_while_the_call_runs_the_link_cannot_change_the_appointment(
    client: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    store: RoomStore,
) -> None:
    appointment, citizen = await queued_citizen(base, desk, clock)
    anna = await clerk_peer(base, staff, clerk)
    assert (await anna.call("queue_next"))["ok"] is True
    await citizen.next("call_assigned")

    token = desk.office.issue_token(appointment, Audience.JOIN_LINK)
    refused = await client.post("/api/v1/appointments/cancel", json={"token": token})
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "appointment_in_progress"
    await open_link(client, desk, appointment)
    for path in ("/termin/absagen", "/termin/daten-loeschen"):
        page = await post_form(client, path)
        assert page.status == 409 and "Gespräch läuft gerade" in await page.text()
    assert (await desk.get(appointment.id)).status == AppointmentStatus.BOOKED
    assert (await desk.get(appointment.id)).name == "Erika E."

    # Sent back to the waiting room, the citizen may cancel again.
    assert (await anna.call("call_requeue"))["ok"] is True
    await citizen.next("returned_to_queue")
    await cancel_by_api(client, desk, appointment)
    assert await citizen.next("appointment_closed") == {"reason": "cancelled"}
    assert await store_ids(store) == []


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_cancel_on_one_node_reaches_the_citizen_on_another(
    node_b: TestClient[Any, Any],
    base: str,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    store: RoomStore,
) -> None:
    appointment, citizen = await queued_citizen(base, desk, clock)  # node A
    await cancel_by_api(node_b, desk, appointment)  # node B
    assert await citizen.next("appointment_closed") == {"reason": "cancelled"}
    assert await store_ids(store) == []
    anna = await clerk_peer(url_of(node_b), staff, clerk)
    taken = await anna.call("queue_next")
    assert taken["error"]["code"] == "queue_empty"
