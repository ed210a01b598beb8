"""Who of a call or the waiting room has sockets on this node: a citizen's or a
clerk's link, kept by the lobby (``lobby.py``) while any socket of theirs is open."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from rooms.state import ClerkPresence, ClerkState, Ticket


@dataclass
class CitizenLink:
    appointment_id: str
    language: str
    sids: set[str] = field(default_factory=set)
    ticket: Ticket | None = None  # kept to re-register after the store lost it
    last_sent: Any = None


@dataclass
class ClerkLink:
    clerk_id: int
    name: str
    skills: frozenset[str]
    state: ClerkState = ClerkState.AVAILABLE
    sids: set[str] = field(default_factory=set)
    last_sent: Any = None
    seen_waiting: frozenset[str] = frozenset()
    grace: asyncio.Task[None] | None = None  # her reconnect grace period (calls.Calls)

    def presence(self, since: float) -> ClerkPresence:
        return ClerkPresence(self.clerk_id, self.name, self.skills, self.state, since)
