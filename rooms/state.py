"""What lives in the rooms: tickets in waiting rooms, clerks' presence, calls.

All values are plain, frozen and serialisable, so the memory and the Redis store
hold exactly the same things. Times are UNIX seconds (float, UTC).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, NamedTuple


class ClerkState(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    AFTER_CALL = "after_call"  # wrap-up work after a call
    IN_CALL = "in_call"


def stored_moment(moment: float) -> float:
    """A time as every store keeps it: to the millisecond (Redis's Lua keeps 14
    significant digits), so a time read back compares equal to one made afresh."""
    return round(moment, 3)


@dataclass(frozen=True)
class Handover:
    """A clerk's note for the colleague who takes the citizen after a transfer."""

    note: str
    by: str  # the handing clerk's name

    def to_dict(self) -> dict[str, str]:
        return {"note": self.note, "by": self.by}


@dataclass(frozen=True)
class Ticket:
    """A citizen's place in the waiting room. Identity is the appointment."""

    appointment_id: str
    service_id: str
    skill: str
    duration_minutes: int
    appointment_at: float  # when the appointment is booked for
    checked_in_at: float  # first check-in; a reconnect keeps it
    front: bool = False  # sent back by a clerk who dropped out: goes first
    handover: Handover | None = None  # handed to another skill by a clerk, with a note

    def order(self) -> tuple[int, float, float, str]:
        """Queue order: returned citizens first, then appointment time, then check-in."""
        return (
            0 if self.front else 1,
            self.appointment_at,
            self.checked_in_at,
            self.appointment_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        return cls(
            appointment_id=str(data["appointment_id"]),
            service_id=str(data["service_id"]),
            skill=str(data["skill"]),
            duration_minutes=int(data["duration_minutes"]),
            appointment_at=float(data["appointment_at"]),
            checked_in_at=float(data["checked_in_at"]),
            front=str(data.get("front", False)) in ("True", "true", "1"),
            handover=_handover(data.get("handover")),
        )


def _handover(data: Any) -> Handover | None:
    # Redis's cjson gives a table, or nothing (JSON null decodes to a sentinel there).
    if not isinstance(data, dict) or "note" not in data:
        return None
    return Handover(str(data["note"]), str(data.get("by", "")))


class Ahead(NamedTuple):
    """Who waits before a ticket in its skill's queue."""

    tickets: int
    minutes: int  # their appointments' durations together


@dataclass(frozen=True)
class ClerkPresence:
    clerk_id: int
    name: str
    skills: frozenset[str]
    state: ClerkState
    since: float

    def with_state(self, state: ClerkState, since: float) -> ClerkPresence:
        return replace(self, state=state, since=since)

    def to_dict(self) -> dict[str, str]:
        return {
            "clerk_id": str(self.clerk_id),
            "name": self.name,
            "skills": ",".join(sorted(self.skills)),
            "state": self.state.value,
            "since": repr(self.since),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClerkPresence:
        skills = str(data.get("skills", ""))
        return cls(
            clerk_id=int(data["clerk_id"]),
            name=str(data["name"]),
            skills=frozenset(s for s in skills.split(",") if s),
            state=ClerkState(str(data["state"])),
            since=float(data["since"]),
        )


@dataclass(frozen=True)
class Call:
    """A 1:1 call between a clerk and the citizen of one appointment."""

    call_id: str
    appointment_id: str
    clerk_id: int
    ticket: Ticket
    started_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "appointment_id": self.appointment_id,
            "clerk_id": self.clerk_id,
            "ticket": self.ticket.to_dict(),
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        return cls(
            call_id=str(data["call_id"]),
            appointment_id=str(data["appointment_id"]),
            clerk_id=int(data["clerk_id"]),
            ticket=Ticket.from_dict(data["ticket"]),
            started_at=float(data["started_at"]),
        )
