"""The demo of ``make run``: accounts, hours that include today, bookings from now on,
and an appointment whose waiting room is open at once, printed when the server is up.

A newcomer should reach a call within a minute of ``make run``: with the town's own
rules (book 30 minutes ahead, check in from 15 minutes before) the first call would
be 20-45 minutes away. So in demo mode the lead time is nought, waiting rooms open an
hour before, and a demo appointment is booked for the next free slot, whose check-in
window is then already open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from aiohttp import web
from sqlalchemy import delete, select

from office.appointments import Appointments, Booked
from office.booking_request import BookingRequest
from office.catalogue import Service, Town
from office.context import Office
from office.errors import SlotTaken, SlotUnavailable
from office.models import Clerk, Role, SpecialHours
from office.staff import Staff, WorkingTime
from signalling.keys import APPOINTMENTS, OFFICE, SETTINGS, STAFF


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    role: Role
    skills: tuple[str, ...]
    password: str


DEMO_ACCOUNTS = (
    DemoAccount(
        "anna", "Anna Sachbearbeiterin", Role.CLERK, ("meldewesen", "beratung"), "demo-anna-2026"
    ),
    DemoAccount(
        "bernd",
        "Bernd Sachbearbeiter",
        Role.CLERK,
        ("meldewesen", "bundeszentralregister", "beratung"),
        "demo-bernd-2026",
    ),
    DemoAccount("admin", "Demo-Administration", Role.ADMIN, (), "demo-admin-2026"),
)
DEMO_SERVICE = "meldebescheinigung"  # one that both demo clerks serve, with an ID check
DEMO_CITIZEN = ("Erika Mustermann", "erika.mustermann@example.org")
DEMO_DAYS = 7
DEMO_GUIDE = web.AppKey("demo_guide", list[str])


def demo_town(town: Town) -> Town:
    """The town's file with bookings possible from now on, and waiting rooms open an
    hour ahead: the next free slot may be the day's first (the demo's hours end at
    23:59 each day), and its waiting room must be open all the same."""
    rules = town.booking.model_copy(update={"lead_minutes": 0, "checkin_before_minutes": 60})
    return town.model_copy(update={"booking": rules})


async def seed_demo(staff: Staff, office: Office) -> list[str]:
    """Create the demo accounts (once) and open the office all day for a week from today."""
    every_day = [WorkingTime(d, time(0, 0), time(23, 59)) for d in range(7)]
    lines = ["Demo accounts (second factor optional in demo mode):"]
    async with office.sessions() as session:
        existing = set((await session.scalars(select(Clerk.username))).all())
    for account in DEMO_ACCOUNTS:
        if account.username not in existing:
            await staff.create(
                account.username,
                account.name,
                account.password,
                role=account.role,
                skills=account.skills,
                hours=every_day if account.role is Role.CLERK else (),
            )
        skills = f"  skills: {', '.join(account.skills)}" if account.skills else ""
        lines.append(
            f"  {account.role.value:<6} {account.username:<6} password {account.password:<16}"
            f"{skills}".rstrip()
        )
    today = office.now().astimezone(office.town.tz).date()
    async with office.sessions() as session, session.begin():
        await session.execute(delete(SpecialHours).where(SpecialHours.note == "demo"))
        for offset in range(DEMO_DAYS):
            session.add(
                SpecialHours(
                    day=today + timedelta(days=offset),
                    start=time(0, 0),
                    end=time(23, 59),
                    note="demo",
                )
            )
    lines.append(
        f"Virtual office open 00:00-23:59 from {today} for {DEMO_DAYS} days (demo special "
        "hours); appointments can be booked from now on."
    )
    return lines


def demo_service(town: Town) -> Service:
    """The demo appointment's service: one a demo clerk serves."""
    skills = {skill for account in DEMO_ACCOUNTS for skill in account.skills}
    service = town.service(DEMO_SERVICE)
    if service is not None:
        return service
    return next(s for s in town.services if s.skill in skills)


async def demo_appointment(appointments: Appointments, office: Office) -> Booked | None:
    """Book the next free slot for the demo citizen (None when the week is full)."""
    service = demo_service(office.town)
    today = office.now().astimezone(office.town.tz).date()
    name, email = DEMO_CITIZEN
    for offset in range(DEMO_DAYS):
        for slot in await appointments.slots(service.id, today + timedelta(days=offset)):
            request = BookingRequest(service.id, slot.starts_at, name, email, None, "de")
            try:
                return await appointments.book(request)
            except (SlotTaken, SlotUnavailable):
                # The first slot began while we booked it (a start at the minute the
                # server starts): the next one.
                continue
    return None


async def prepare_demo(app: web.Application) -> None:
    """At start-up of a demo server: the accounts, the hours and a demo appointment;
    what to try is kept for :func:`announce`."""
    office, settings = app[OFFICE], app[SETTINGS]
    lines = await seed_demo(app[STAFF], office)
    base = settings.public_url.rstrip("/")
    guide = ["", f"Staff login: {base}/anmelden", *lines, ""]
    booked = await demo_appointment(app[APPOINTMENTS], office)
    if booked is None:
        guide.append("No free slot this week for a demo appointment: book one at " + base)
    else:
        starts = booked.appointment.starts_at.astimezone(office.town.tz)
        service = demo_service(office.town)
        guide += [
            f"A demo appointment ({service.name}, {starts:%H:%M}), waiting room open now:",
            f"  {office.links(booked.appointment).join}",
            "Open it, join the waiting room, then log in as anna in another browser (or a",
            "private window) and take the call. Mails: " + f"{base}/dev/outbox",
        ]
    app[DEMO_GUIDE] = guide


def announce(app: web.Application, _running: str) -> None:
    """Print the demo guide once the server listens (aiohttp's ``run_app`` calls this
    after its sites have started, in place of its own message)."""
    for line in app.get(DEMO_GUIDE, []):
        print(line, flush=True)
