"""Absences, closing days and special hours: the slots they take away, and the
appointments already booked on that time (moved to a colleague, or the citizen asked
to rebook by mail; never cancelled silently)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.absences import Absences
from office.appointments import Appointments
from office.errors import InvalidInput
from office.models import Absence, Appointment, AuditEntry, BookedUnit, Closure
from office.staff import Staff
from signalling.keys import ABSENCES, SESSIONS
from tests.helpers.booking import add_clerk, book_at
from tests.helpers.mail import SmtpServer, body, deliver_mail

TUESDAY = date(2026, 6, 2)
AT_13 = datetime(2026, 6, 2, 11, 0, tzinfo=UTC)  # 13:00 in Ostfildern
AT_1330 = datetime(2026, 6, 2, 11, 30, tzinfo=UTC)
ADMIN = "clerk:999"


@pytest.fixture
def absences(client: TestClient[Any, Any]) -> Absences:
    desk: Absences = client.app[ABSENCES]
    return desk


async def holder(client: TestClient[Any, Any], appointment_id: str) -> set[int]:
    async with client.app[SESSIONS]() as session:
        rows = await session.scalars(
            select(BookedUnit.clerk_id).where(BookedUnit.appointment_id == appointment_id)
        )
        return set(rows.all())


async def actions(client: TestClient[Any, Any]) -> list[str]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(AuditEntry.action))).all())


async def starts(desk: Appointments, day: date) -> set[datetime]:
    return {s.starts_at for s in await desk.slots("meldebescheinigung", day)}


async def test_an_absence_moves_what_a_colleague_can_take_and_asks_the_rest_to_rebook(
    client: TestClient[Any, Any],
    desk: Appointments,
    staff: Staff,
    absences: Absences,
    clerk: int,
    smtp: SmtpServer,
) -> None:
    bert = await add_clerk(staff, "bert", "meldewesen")
    # Booking offers the clerk with fewer skills first: Bert gets A and B, Anna gets C.
    a = await book_at(desk, AT_13, email="a@example.org")
    b = await book_at(desk, AT_1330, email="b@example.org", name="Berta B.")
    c = await book_at(desk, AT_1330, email="c@example.org")
    assert await holder(client, a.id) == {bert}
    assert await holder(client, b.id) == {bert}
    assert await holder(client, c.id) == {clerk}
    await deliver_mail(client)
    smtp.inbox.messages.clear()

    handled = await absences.add(bert, TUESDAY, TUESDAY, note="Urlaub", actor=ADMIN)

    # A goes to Anna, free at 13:00; B cannot (Anna has C at 13:30): its citizen is mailed.
    assert handled.moved == [a.id]
    assert handled.to_rebook == [b.id]
    assert await holder(client, a.id) == {clerk}
    assert [x.id for x in await absences.to_rebook()] == [b.id]
    await deliver_mail(client)
    mails = smtp.inbox.to("b@example.org")
    assert len(mails) == 1 and smtp.inbox.to("a@example.org") == []
    text = body(mails[0])
    assert "nicht abgesagt" in text and "Berta B." in text
    link = re.search(r"https://termine\.test(/t/\S+\?next=umbuchen)", text)
    assert link, "no rebooking link"
    opened = await client.get(link.group(1), allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/termin/verschieben"
    # Bert's time is gone from the slots: 13:00 and 13:30 are full (Anna holds A and C).
    free = await starts(desk, TUESDAY)
    assert AT_13 not in free and AT_1330 not in free
    assert datetime(2026, 6, 2, 11, 10, tzinfo=UTC) in free  # Anna is free at 13:10
    done = await actions(client)
    assert {"absence.added", "appointment.moved_to_colleague"} <= set(done)
    assert "appointment.rebooking_requested" in done

    # The citizen chooses a new time through the link: off the staff's list.
    moved = await desk.reschedule(b.id, datetime(2026, 6, 3, 11, 0, tzinfo=UTC))
    assert moved.appointment.rebooking_requested_at is None
    assert await absences.to_rebook() == []


async def test_a_part_day_absence_keeps_the_rest_of_the_day_bookable(
    client: TestClient[Any, Any], desk: Appointments, absences: Absences, clerk: int
) -> None:
    before = await starts(desk, TUESDAY)
    await absences.add(clerk, TUESDAY, TUESDAY, start=time(13, 0), end=time(14, 0), actor=ADMIN)
    after = await starts(desk, TUESDAY)
    gone = before - after
    assert gone and all(
        datetime(2026, 6, 2, 11, 0, tzinfo=UTC) <= s < datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
        for s in gone
    )
    assert datetime(2026, 6, 2, 12, 0, tzinfo=UTC) in after  # 14:00 again


async def test_a_closing_day_asks_every_citizen_that_day_to_rebook(
    client: TestClient[Any, Any],
    desk: Appointments,
    absences: Absences,
    clerk: int,
    smtp: SmtpServer,
) -> None:
    on_day = await book_at(desk, AT_13, email="a@example.org")
    next_day = await book_at(desk, datetime(2026, 6, 3, 11, 0, tzinfo=UTC), email="n@example.org")
    handled = await absences.close(TUESDAY, note="Betriebsausflug", actor=ADMIN)
    assert handled.to_rebook == [on_day.id] and handled.moved == []
    assert await starts(desk, TUESDAY) == set()
    assert await starts(desk, date(2026, 6, 3))  # the next day is open
    await deliver_mail(client)

    def asked(address: str) -> int:
        return len([m for m in smtp.inbox.to(address) if "neuen Termin" in str(m["Subject"])])

    assert asked("a@example.org") == 1 and asked("n@example.org") == 0
    async with client.app[SESSIONS]() as session:
        kept = await session.get(Appointment, on_day.id)
        assert kept is not None and kept.status == "booked"  # not cancelled
    assert next_day.id not in {a.id for a in await absences.to_rebook()}

    # Reopened: the day is bookable again.
    (closure,) = await absences.closures()
    await absences.reopen(closure.id, actor=ADMIN)
    assert await starts(desk, TUESDAY)


async def test_a_part_closure_only_takes_its_hours(
    desk: Appointments, absences: Absences, clerk: int
) -> None:
    await absences.close(TUESDAY, start=time(12, 30), end=time(14, 0), actor=ADMIN)
    left = await starts(desk, TUESDAY)
    afternoon = {s for s in left if s >= datetime(2026, 6, 2, 10, 0, tzinfo=UTC)}
    assert min(afternoon) == datetime(2026, 6, 2, 12, 0, tzinfo=UTC)  # 14:00
    assert datetime(2026, 6, 2, 5, 0, tzinfo=UTC) in left  # the morning hour stays open


async def test_removing_special_hours_asks_the_citizens_in_them_to_rebook(
    client: TestClient[Any, Any],
    desk: Appointments,
    absences: Absences,
    clerk: int,
) -> None:
    saturday = date(2026, 6, 6)  # the town opens Saturdays 09:00-12:00; add 14:00-15:00
    await absences.add_special_hours(saturday, time(14, 0), time(15, 0), actor=ADMIN)
    at_14 = datetime(2026, 6, 6, 12, 0, tzinfo=UTC)
    assert at_14 in await starts(desk, saturday)
    booked = await book_at(desk, at_14)
    (hours,) = await absences.special_hours()
    handled = await absences.remove_special_hours(hours.id, actor=ADMIN)
    assert handled.to_rebook == [booked.id]
    assert at_14 not in await starts(desk, saturday)


@pytest.mark.parametrize(
    ("first", "last", "start", "end"),
    [
        (TUESDAY, date(2026, 6, 1), None, None),  # ends before it begins
        (TUESDAY, TUESDAY, time(14, 0), time(13, 0)),
        (TUESDAY, date(2027, 8, 1), None, None),  # more than a year
    ],
)
async def test_a_wrong_absence_is_refused_and_changes_nothing(
    client: TestClient[Any, Any],
    desk: Appointments,
    absences: Absences,
    clerk: int,
    first: date,
    last: date,
    start: time | None,
    end: time | None,
) -> None:
    booked = await book_at(desk, AT_13)
    with pytest.raises(InvalidInput):
        await absences.add(clerk, first, last, start=start, end=end, actor=ADMIN)
    with pytest.raises(InvalidInput):
        await absences.close(TUESDAY, start=time(13, 0), actor=ADMIN)  # no end
    async with client.app[SESSIONS]() as session:
        assert await session.scalar(select(func.count()).select_from(Absence)) == 0
        assert await session.scalar(select(func.count()).select_from(Closure)) == 0
    assert await holder(client, booked.id) == {clerk}
    assert await absences.to_rebook() == []
