"""What the clerk console and the dashboard are shown, built from the live state and
the town's catalogue: plain functions, so the lobby only decides when to push."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from office.catalogue import Town
from office.visits import DayEntry
from rooms import waiting as rules
from rooms.state import Call, ClerkPresence, Ticket
from signalling.sockets.protocol import ClerkQueue, DashboardUpdated, DayUpdated


def service_name(town: Town, service_id: str) -> str:
    service = town.service(service_id)
    return service.name if service else service_id


def clerk_queue(
    town: Town,
    first: list[Ticket],
    total: int,
    others: int,
    names: Mapping[str, tuple[str, str]],
) -> ClerkQueue:
    """The first rows of the clerk's waiting list (names and references from
    ``names``), how many wait in all, and how many wait for services she does not
    serve (a number only: who they are is not hers to see)."""
    entries = []
    for ticket in first[: rules.CONSOLE_ROWS]:
        name, reference = names.get(ticket.appointment_id, ("", ""))
        entries.append(
            {
                "appointment_id": ticket.appointment_id,
                "name": name,
                "reference": reference,
                "service_id": ticket.service_id,
                "service_name": service_name(town, ticket.service_id),
                "appointment_at": ticket.appointment_at,
                "checked_in_at": ticket.checked_in_at,
                "returned": ticket.front,
                "handover": ticket.handover.to_dict() if ticket.handover else None,
            }
        )
    return ClerkQueue(entries, total, others, rules.YELLOW_AFTER, rules.RED_AFTER)


def dashboard(
    town: Town, waiting: list[Ticket], clerks: Iterable[ClerkPresence], calls: Iterable[Call]
) -> DashboardUpdated:
    queues = []
    for service in town.services:
        tickets = [t for t in waiting if t.service_id == service.id]
        queues.append(
            {
                "service_id": service.id,
                "service_name": service.name,
                "waiting": len(tickets),
                "longest_waiting_since": min((t.checked_in_at for t in tickets), default=None),
            }
        )
    return DashboardUpdated(
        queues,
        # Clerks' states only: no per-clerk figures (staff councils forbid them).
        [{"name": c.name, "state": c.state.value} for c in clerks],
        [{"service_id": c.ticket.service_id, "started_at": c.started_at} for c in calls],
    )


def day_list(town: Town, entries: Iterable[DayEntry]) -> DayUpdated:
    return DayUpdated(
        [
            {
                "appointment_id": e.appointment_id,
                "reference": e.reference,
                "service_id": e.service_id,
                "service_name": service_name(town, e.service_id),
                "starts_at": e.starts_at.timestamp(),
                "status": e.status,
                "name": e.name,
            }
            for e in entries
        ]
    )
