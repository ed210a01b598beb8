"""The one interface to live state. ``MemoryStore`` and ``RedisStore`` implement it.

Every method that checks and then changes state does so atomically: the memory store
never awaits between the read and the write, the Redis store runs one Lua script.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from rooms.state import Ahead, Call, ClerkPresence, Handover, Ticket


class RoomStore(Protocol):
    # -- waiting room --------------------------------------------------------------

    async def check_in(self, ticket: Ticket) -> Ticket:
        """Put the ticket in its queue. Already waiting: keep the stored ticket (and its
        place) and return it. In a call: return the stored ticket unchanged."""
        ...

    async def leave(self, appointment_id: str) -> bool:
        """Remove a waiting ticket; False when it was not waiting."""
        ...

    async def waiting_ticket(self, appointment_id: str) -> Ticket | None: ...

    async def ahead(self, appointment_id: str) -> Ahead | None:
        """Who waits before the ticket in its skill's queue; None when it is not
        waiting. A check-in asks this: it must not cost a listing of the queue."""
        ...

    async def waiting(self, skills: Collection[str] | None = None) -> list[Ticket]:
        """Waiting tickets in queue order, for the given skills (None: all)."""
        ...

    # -- calls -----------------------------------------------------------------------

    async def claim_next(
        self, clerk_id: int, skills: Collection[str], call_id: str, now: float
    ) -> Call:
        """Take the first waiting ticket any of the skills can serve and open a call.

        Raises QueueEmpty, or ClerkBusy when the clerk already has a call."""
        ...

    async def claim(
        self, clerk_id: int, appointment_id: str, skills: Collection[str], call_id: str, now: float
    ) -> Call:
        """Take one specific waiting ticket. Raises NotWaiting, SkillMissing, ClerkBusy."""
        ...

    async def clerk_serving(self, appointment_id: str) -> int | None:
        """The clerk in a call with the appointment's citizen; None when there is no
        such call. Relaying a citizen's message asks this (its hot path)."""
        ...

    async def appointment_served_by(self, clerk_id: int) -> str | None:
        """The appointment of the clerk's call; None when she is in none."""
        ...

    async def call(self, call_id: str) -> Call | None: ...

    async def call_of_appointment(self, appointment_id: str) -> Call | None: ...

    async def call_of_clerk(self, clerk_id: int) -> Call | None: ...

    async def calls(self) -> list[Call]: ...

    async def end_call(self, call_id: str) -> Call | None:
        """Close the call; None when it was already closed (the second caller loses)."""
        ...

    async def requeue(
        self, call_id: str, *, skill: str | None = None, handover: Handover | None = None
    ) -> Ticket | None:
        """Close the call and put its citizen back at the front of the waiting room:
        of the same skill, or of ``skill`` with the clerk's ``handover`` (a transfer)."""
        ...

    async def restore_call(self, call: Call) -> Call:
        """Put a call back after the store lost it (rebuild); keeps an existing one."""
        ...

    # -- presence --------------------------------------------------------------------

    async def set_clerk(self, presence: ClerkPresence) -> None: ...

    async def remove_clerk(self, clerk_id: int) -> None: ...

    async def clerks(self) -> list[ClerkPresence]: ...

    async def clerk(self, clerk_id: int) -> ClerkPresence | None: ...

    # -- lifecycle -------------------------------------------------------------------

    async def epoch(self) -> str:
        """An id of the store's current life. It changes when the store lost its state
        (Redis flushed or restarted), which tells every node to re-register."""
        ...

    async def version(self) -> int:
        """A counter that changes with every change of waiting rooms, calls or presence.
        Nodes poll it to know when to push updates (cheaper than a message per change,
        and it survives a lost message or a flush)."""
        ...

    async def close(self) -> None: ...
