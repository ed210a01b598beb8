"""Helpers for Socket.IO tests: real ``socketio.AsyncClient``s against the real app."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from datetime import datetime
from typing import Any

import socketio

from office.appointments import Appointments
from office.booking_request import parse_booking
from office.models import Appointment
from office.staff import Staff
from office.tokens import Audience


class Peer:
    """A socket.io client on one namespace that records every event it receives."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._arrived = asyncio.Event()

        @self.client.on("*", namespace=namespace)  # type: ignore[untyped-decorator]
        async def record(event: str, data: Any = None) -> None:
            self.events[event].append(data)
            self._arrived.set()

    async def connect(self, base_url: str, cookie: str, version: int = 1) -> None:
        await self.client.connect(
            base_url,
            headers={"Cookie": cookie},
            auth={"v": version},
            namespaces=[self.namespace],
            transports=["websocket"],
            wait_timeout=5,
        )

    async def call(self, event: str, data: Any = None, within: float = 5) -> Any:
        return await self.client.call(event, data, namespace=self.namespace, timeout=within)

    async def next(self, event: str, within: float = 5.0, count: int = 1) -> Any:
        """Wait until ``count`` events of this name have arrived; return the last."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.events[event]) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} within {within} s; got {dict(self.events)}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.events[event][count - 1]

    async def disconnect(self) -> None:
        await self.client.disconnect()


async def book_at(
    desk: Appointments,
    starts_at: datetime,
    service: str = "meldebescheinigung",
    email: str = "erika@example.org",
    name: str = "Erika Mustermann",
) -> Appointment:
    booked = await desk.book(
        parse_booking(
            {
                "service_id": service,
                "starts_at": starts_at.isoformat(),
                "name": name,
                "email": email,
                "consent": True,
            }
        )
    )
    return booked.appointment


def citizen_cookie(desk: Appointments, appointment: Appointment) -> str:
    return f"bb_termin={desk.office.issue_token(appointment, Audience.APPOINTMENT_SESSION)}"


async def staff_cookie(staff: Staff, clerk_id: int) -> str:
    return f"bb_staff={await staff.open_session(clerk_id)}"


async def connected_pair(
    base: str, desk: Appointments, staff: Staff, clerk_id: int, appointment: Appointment
) -> tuple[Peer, Peer]:
    """The appointment's citizen and the clerk, both connected, not yet in a call."""
    citizen, clerk = Peer("/citizen"), Peer("/clerk")
    await citizen.connect(base, citizen_cookie(desk, appointment))
    await clerk.connect(base, await staff_cookie(staff, clerk_id))
    return citizen, clerk


async def start_call(citizen: Peer, clerk: Peer) -> None:
    """The citizen joins the queue and the clerk calls them: a call between the two."""
    assert (await citizen.call("queue_join"))["ok"] is True
    assert (await clerk.call("queue_next"))["ok"] is True
