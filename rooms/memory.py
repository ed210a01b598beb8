"""Live state in process memory: the embedded default, for one process.

Atomicity comes from asyncio itself: no method awaits between reading state and
writing what depends on it.
"""

from __future__ import annotations

import heapq
import uuid
from bisect import bisect_left
from collections.abc import Collection, Iterable
from dataclasses import replace

from rooms.errors import ClerkBusy, NotWaiting, QueueEmpty, SkillMissing
from rooms.state import Ahead, Call, ClerkPresence, Handover, Ticket

Order = tuple[int, float, float, str]


class _Queue:
    """One skill's waiting tickets, kept in queue order as they come and go (a binary
    search and a move of pointers), so that listing the queue needs no sort and a
    ticket's place no pass over it. The minutes sit in a list of their own: what is
    ahead of a ticket is one slice to sum."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.tickets: list[Ticket] = []
        self.minutes: list[int] = []

    def add(self, ticket: Ticket) -> None:
        order = ticket.order()
        at = bisect_left(self.orders, order)
        self.orders.insert(at, order)
        self.tickets.insert(at, ticket)
        self.minutes.insert(at, ticket.duration_minutes)

    def remove(self, ticket: Ticket) -> None:
        at = bisect_left(self.orders, ticket.order())
        if at < len(self.orders) and self.tickets[at] == ticket:
            del self.orders[at], self.tickets[at], self.minutes[at]

    def ahead(self, ticket: Ticket) -> Ahead:
        at = bisect_left(self.orders, ticket.order())
        return Ahead(at, sum(self.minutes[:at]))


class MemoryStore:
    def __init__(self) -> None:
        self._waiting: dict[str, Ticket] = {}
        self._queues: dict[str, _Queue] = {}
        self._calls: dict[str, Call] = {}
        self._by_appointment: dict[str, str] = {}
        self._by_clerk: dict[int, str] = {}
        self._clerks: dict[int, ClerkPresence] = {}
        self._epoch = uuid.uuid4().hex
        self._version = 0

    async def check_in(self, ticket: Ticket) -> Ticket:
        if (existing := self._waiting.get(ticket.appointment_id)) is not None:
            return existing
        if (call := self._call_of_appointment(ticket.appointment_id)) is not None:
            return call.ticket
        self._enqueue(ticket)
        return ticket

    def _enqueue(self, ticket: Ticket) -> None:
        self._waiting[ticket.appointment_id] = ticket
        self._queues.setdefault(ticket.skill, _Queue()).add(ticket)
        self._version += 1

    def _dequeue(self, appointment_id: str) -> Ticket | None:
        ticket = self._waiting.pop(appointment_id, None)
        if ticket is not None:
            self._queues[ticket.skill].remove(ticket)
            self._version += 1
        return ticket

    async def leave(self, appointment_id: str) -> bool:
        return self._dequeue(appointment_id) is not None

    async def waiting_ticket(self, appointment_id: str) -> Ticket | None:
        return self._waiting.get(appointment_id)

    async def ahead(self, appointment_id: str) -> Ahead | None:
        ticket = self._waiting.get(appointment_id)
        return None if ticket is None else self._queues[ticket.skill].ahead(ticket)

    def _chosen(self, skills: Collection[str] | None) -> list[_Queue]:
        if skills is None:
            return list(self._queues.values())
        return [q for skill, q in self._queues.items() if skill in skills]

    async def waiting(self, skills: Collection[str] | None = None) -> list[Ticket]:
        queues = [q for q in self._chosen(skills) if q.tickets]
        if len(queues) == 1:
            return list(queues[0].tickets)
        # Orders are unique (they end with the appointment), so no ticket is compared.
        merged: Iterable[tuple[Order, Ticket]] = heapq.merge(
            *(zip(q.orders, q.tickets, strict=True) for q in queues)
        )
        return [ticket for _, ticket in merged]

    def _call_of_appointment(self, appointment_id: str) -> Call | None:
        call_id = self._by_appointment.get(appointment_id)
        return None if call_id is None else self._calls.get(call_id)

    def _call_of_clerk(self, clerk_id: int) -> Call | None:
        call_id = self._by_clerk.get(clerk_id)
        return None if call_id is None else self._calls.get(call_id)

    def _add_call(self, call: Call) -> None:
        self._version += 1
        self._calls[call.call_id] = call
        self._by_appointment[call.appointment_id] = call.call_id
        self._by_clerk[call.clerk_id] = call.call_id

    def _pop_call(self, call_id: str) -> Call | None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            self._version += 1
            if self._by_appointment.get(call.appointment_id) == call_id:
                del self._by_appointment[call.appointment_id]
            if self._by_clerk.get(call.clerk_id) == call_id:
                del self._by_clerk[call.clerk_id]
        return call

    def _open(self, clerk_id: int, ticket: Ticket, call_id: str, now: float) -> Call:
        self._dequeue(ticket.appointment_id)
        call = Call(call_id, ticket.appointment_id, clerk_id, replace(ticket, front=False), now)
        self._add_call(call)
        return call

    async def claim_next(
        self, clerk_id: int, skills: Collection[str], call_id: str, now: float
    ) -> Call:
        if self._call_of_clerk(clerk_id) is not None:
            raise ClerkBusy()
        heads = [q.tickets[0] for q in self._chosen(skills) if q.tickets]
        if not heads:
            raise QueueEmpty()
        return self._open(clerk_id, min(heads, key=Ticket.order), call_id, now)

    async def claim(
        self, clerk_id: int, appointment_id: str, skills: Collection[str], call_id: str, now: float
    ) -> Call:
        if self._call_of_clerk(clerk_id) is not None:
            raise ClerkBusy()
        ticket = self._waiting.get(appointment_id)
        if ticket is None:
            raise NotWaiting()
        if ticket.skill not in skills:
            raise SkillMissing()
        return self._open(clerk_id, ticket, call_id, now)

    async def clerk_serving(self, appointment_id: str) -> int | None:
        call = self._call_of_appointment(appointment_id)
        return None if call is None else call.clerk_id

    async def appointment_served_by(self, clerk_id: int) -> str | None:
        call = self._call_of_clerk(clerk_id)
        return None if call is None else call.appointment_id

    async def clerk(self, clerk_id: int) -> ClerkPresence | None:
        return self._clerks.get(clerk_id)

    async def call(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    async def call_of_appointment(self, appointment_id: str) -> Call | None:
        return self._call_of_appointment(appointment_id)

    async def call_of_clerk(self, clerk_id: int) -> Call | None:
        return self._call_of_clerk(clerk_id)

    async def calls(self) -> list[Call]:
        return sorted(self._calls.values(), key=lambda c: c.started_at)

    async def end_call(self, call_id: str) -> Call | None:
        return self._pop_call(call_id)

    async def requeue(
        self, call_id: str, *, skill: str | None = None, handover: Handover | None = None
    ) -> Ticket | None:
        call = self._pop_call(call_id)
        if call is None:
            return None
        ticket = replace(call.ticket, front=True)
        if skill is not None:
            ticket = replace(ticket, skill=skill, handover=handover)
        self._enqueue(ticket)
        return ticket

    async def restore_call(self, call: Call) -> Call:
        existing = self._calls.get(call.call_id)
        if existing is not None:
            return existing
        self._dequeue(call.appointment_id)
        self._add_call(call)
        return call

    async def set_clerk(self, presence: ClerkPresence) -> None:
        if self._clerks.get(presence.clerk_id) != presence:
            self._version += 1
        self._clerks[presence.clerk_id] = presence

    async def remove_clerk(self, clerk_id: int) -> None:
        if self._clerks.pop(clerk_id, None) is not None:
            self._version += 1

    async def clerks(self) -> list[ClerkPresence]:
        return sorted(self._clerks.values(), key=lambda p: p.clerk_id)

    async def epoch(self) -> str:
        return self._epoch

    async def version(self) -> int:
        return self._version

    async def close(self) -> None:
        return None

    def flush(self) -> None:
        """Lose all state, as a restarted Redis would (for tests of the rebuild)."""
        self._waiting.clear()
        self._queues.clear()
        self._calls.clear()
        self._by_appointment.clear()
        self._by_clerk.clear()
        self._clerks.clear()
        self._epoch = uuid.uuid4().hex
        self._version += 1
