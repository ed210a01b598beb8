"""Demo data for ``make run``: two clerks and an admin, and hours that include today."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import delete, select

from office.context import Office
from office.models import Clerk, Role, SpecialHours
from office.staff import Staff, WorkingTime

DEMO_ACCOUNTS = (
    # username, name, role, skills, password
    ("anna", "Anna Sachbearbeiterin", Role.CLERK, ("meldewesen", "beratung"), "demo-anna-2026"),
    (
        "bernd",
        "Bernd Sachbearbeiter",
        Role.CLERK,
        ("meldewesen", "bundeszentralregister", "beratung"),
        "demo-bernd-2026",
    ),
    ("admin", "Demo-Administration", Role.ADMIN, (), "demo-admin-2026"),
)


async def seed_demo(staff: Staff, office: Office) -> list[str]:
    """Create the demo accounts (once) and open the office all day for a week from today."""
    every_day = [WorkingTime(d, time(0, 0), time(23, 59)) for d in range(7)]
    lines = ["Demo accounts (second factor optional in demo mode):"]
    async with office.sessions() as session:
        existing = set((await session.scalars(select(Clerk.username))).all())
    for username, name, role, skills, password in DEMO_ACCOUNTS:
        if username not in existing:
            await staff.create(
                username,
                name,
                password,
                role=role,
                skills=skills,
                hours=every_day if role is Role.CLERK else (),
            )
        lines.append(f"  {role.value:<6} {username:<6} password {password}")
    today = office.now().astimezone(office.town.tz).date()
    async with office.sessions() as session, session.begin():
        await session.execute(delete(SpecialHours).where(SpecialHours.note == "demo"))
        for offset in range(7):
            session.add(
                SpecialHours(
                    day=today + timedelta(days=offset),
                    start=time(0, 0),
                    end=time(23, 59),
                    note="demo",
                )
            )
    lines.append(f"Virtual office open 00:00-23:59 from {today} for 7 days (demo special hours).")
    return lines
