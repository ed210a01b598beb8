"""Benchmark: free-slot search latency and booking throughput, SQLite vs PostgreSQL.

Run: ``.venv/bin/python bench/booking.py [--postgres URL] [--bookings N]``. It builds
its own database (a temp SQLite file; a fresh PostgreSQL database it drops after),
ten clerks with mixed skills, and measures through the domain layer the app uses:

- slot search: ``Appointments.slots(service, day)`` on days with growing bookings;
- booking throughput: sequential, and with 16 concurrent bookers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from office.appointments import Appointments
from office.booking_request import parse_booking
from office.catalogue import load_town
from office.context import Office
from office.db import create_engine, session_factory
from office.errors import SlotTaken
from office.mail import MailSettings
from office.migrate import upgrade
from office.staff import Staff, WorkingTime
from office.tokens import Signer

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # a Monday, before the office opens
SKILLS = (["meldewesen", "beratung"], ["meldewesen", "bundeszentralregister"], ["meldewesen"])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(label: str, url: str, bookings: int) -> None:
    engine = (
        create_engine(url, pool_size=20, max_overflow=0)
        if "postgres" in url
        else create_engine(url)
    )
    await upgrade(engine)
    sessions = session_factory(engine)
    town = load_town()
    desk = Appointments(
        Office(
            town,
            sessions,
            Signer("b" * 40, lambda: NOW),
            MailSettings("bench@example.org", "https://bench.example", 7),
            now=lambda: NOW,
        )
    )
    staff = Staff(sessions, require_second_factor=False, now=lambda: NOW)
    hours = [WorkingTime(d, clock_time(6, 0), clock_time(20, 0)) for d in range(6)]
    for i in range(10):
        await staff.create(
            f"clerk{i}", f"Clerk {i}", "benchmark-password", skills=SKILLS[i % 3], hours=hours
        )

    days = [
        date(2026, 6, 1) + timedelta(days=d)
        for d in range(12)
        if (date(2026, 6, 1) + timedelta(days=d)).weekday() < 5
    ]

    async def book_one(day: date, n: int) -> bool:
        slots = await desk.slots("meldebescheinigung", day)
        if not slots:
            return False
        slot = slots[n % len(slots)]
        try:
            await desk.book(
                parse_booking(
                    {
                        "service_id": "meldebescheinigung",
                        "starts_at": slot.starts_at.isoformat(),
                        "name": f"Person {n}",
                        "email": f"p{n}@example.org",
                        "consent": True,
                    }
                )
            )
        except SlotTaken:
            return False
        return True

    # Sequential bookings.
    started = time.perf_counter()
    done = 0
    for n in range(bookings):
        done += await book_one(days[n % len(days)], n)
    sequential = done / (time.perf_counter() - started)

    # Concurrent bookings: 16 bookers at once, all aiming at the same few days.
    async def booker(k: int) -> int:
        ok = 0
        for n in range(bookings // 16):
            ok += await book_one(days[(k + n) % 3], k * 1000 + n)
        return ok

    started = time.perf_counter()
    results = await asyncio.gather(*(booker(k) for k in range(16)))
    concurrent = sum(results) / (time.perf_counter() - started)

    # Slot search on the now busy days.
    latencies: list[float] = []
    for _ in range(5):
        for day in days:
            t0 = time.perf_counter()
            await desk.slots("meldebescheinigung", day)
            latencies.append((time.perf_counter() - t0) * 1000)
    await engine.dispose()
    print(
        f"{label:<10} slot search p50 {statistics.median(latencies):6.1f} ms  "
        f"p90 {percentile(latencies, 90):6.1f} ms  |  bookings/s sequential {sequential:6.1f}  "
        f"16 concurrent {concurrent:6.1f}  ({done + sum(results)} booked)"
    )


async def with_postgres(admin_url: str, work: Callable[[str], Awaitable[None]]) -> None:
    name = f"bb_bench_{uuid.uuid4().hex[:8]}"
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        await work(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    finally:
        connection = await asyncpg.connect(dsn)
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bookings", type=int, default=320)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        await measure("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.bookings)
    await with_postgres(args.postgres, lambda url: measure("PostgreSQL", url, args.bookings))


if __name__ == "__main__":
    asyncio.run(main())
