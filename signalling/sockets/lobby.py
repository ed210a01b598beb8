"""The lobby: waiting rooms, calls and live updates, as one node sees them.

The shared truth is the room store (memory or Redis). This node adds what only it
knows: which citizens, clerks and dashboards have a socket here. From that it
pushes updates to its own sockets, re-registers them when the store lost its
state, and runs the clerk's reconnect grace period.

Messages to the other member of a call go to a socket.io room (``appt:<id>`` or
``clerk:<id>``), so they reach the right socket on whichever node holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import socketio

from office.catalogue import Town
from office.context import Closed
from office.errors import CheckinClosed, NotFound
from office.models import Appointment, Clerk
from office.visits import Visits
from rooms.errors import NotInCall, NotWaiting
from rooms.state import Call, ClerkPresence, ClerkState, Ticket, stored_moment
from rooms.store import RoomStore
from signalling.metrics import Metrics
from signalling.node_bus import Nodes
from signalling.sockets.ice import IceConfig

log = logging.getLogger(__name__)

CITIZEN_NS = "/citizen"
CLERK_NS = "/clerk"
DASHBOARD_NS = "/dashboard"
POLL_SECONDS = 0.25  # how often the store's version is checked: updates lag at most this
EPOCH_SECONDS = 2.0
HEARTBEAT_SECONDS = 20.0
NO_SHOW_SECONDS = 60.0
YELLOW_AFTER = 5 * 60  # traffic light: seconds past the appointment time
RED_AFTER = 15 * 60
CONSOLE_ROWS = 100  # the console lists the first rows; the total tells how many wait


def citizen_room(appointment_id: str) -> str:
    return f"appt:{appointment_id}"


def clerk_room(clerk_id: int) -> str:
    return f"clerk:{clerk_id}"


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
    grace: asyncio.Task[None] | None = None

    def presence(self, since: float) -> ClerkPresence:
        return ClerkPresence(self.clerk_id, self.name, self.skills, self.state, since)


class Lobby:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        store: RoomStore,
        visits: Visits,
        town: Town,
        ice: IceConfig,
        nodes: Nodes,
        *,
        metrics: Metrics,
        reconnect_grace: float,
        no_show_grace_minutes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.no_show_grace = timedelta(minutes=no_show_grace_minutes)
        self.sio = sio
        self.store = store
        self.visits = visits
        self.town = town
        self.ice = ice
        self.reconnect_grace = reconnect_grace
        self.clock = clock
        self.citizens: dict[str, CitizenLink] = {}
        self.clerks: dict[int, ClerkLink] = {}
        self.dashboards: set[str] = set()
        self.calls: dict[str, Call] = {}  # calls with a member on this node, for a rebuild
        self._names: dict[str, tuple[str, str]] = {}  # appointment -> (name, reference)
        self._dashboard_last: Any = None
        self._version: int | None = None
        self._epoch: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Set after a change made on this node: its updates go out at once, while
        # changes made on other nodes are noticed at the next poll.
        self._changed = asyncio.Event()
        self.nodes = nodes
        nodes.serve("appointment_closed", self._appointment_closed_here)
        self.metrics = metrics

    def now(self) -> float:
        return self.clock().timestamp()

    # -- citizens ------------------------------------------------------------------

    async def citizen_connected(self, sid: str, appointment: Appointment) -> dict[str, Any]:
        link = self.citizens.setdefault(
            appointment.id, CitizenLink(appointment.id, appointment.language)
        )
        link.sids.add(sid)
        link.last_sent = None  # the new socket needs the current state
        await self.sio.enter_room(sid, citizen_room(appointment.id), namespace=CITIZEN_NS)
        call = await self.store.call_of_appointment(appointment.id)
        if call is not None:
            self.calls[call.call_id] = call
            await self._emit_call_assigned(call, to_citizen=sid)
            await self.sio.emit(
                "peer_joined", {"role": "citizen"}, to=clerk_room(call.clerk_id), namespace=CLERK_NS
            )
            return {"state": "in_call"}
        ticket = await self.store.waiting_ticket(appointment.id)
        if ticket is not None:
            link.ticket = ticket
            self._version = None  # push positions at the next poll
            return {"state": "waiting"}
        return {"state": "idle"}

    async def citizen_disconnected(self, sid: str, appointment_id: str) -> None:
        link = self.citizens.get(appointment_id)
        if link is None:
            return
        link.sids.discard(sid)
        if link.sids:
            return
        del self.citizens[appointment_id]
        # The place in the queue stays: identity is the appointment, not the socket.
        route = await self.store.route(appointment_id, None)
        if route is not None and route.peer_clerk is not None:
            await self.sio.emit(
                "peer_left",
                {"role": "citizen"},
                to=clerk_room(route.peer_clerk),
                namespace=CLERK_NS,
            )

    async def queue_join(self, appointment_id: str) -> dict[str, Any]:
        appointment = await self.visits.check_in(appointment_id)
        service = self.town.service(appointment.service_id)
        if service is None or appointment.checked_in_at is None:
            raise NotFound()
        ticket = Ticket(
            appointment_id=appointment.id,
            service_id=service.id,
            skill=service.skill,
            duration_minutes=service.duration_minutes,
            appointment_at=stored_moment(appointment.starts_at.timestamp()),
            checked_in_at=stored_moment(appointment.checked_in_at.timestamp()),  # the first
        )
        stored = await self.store.check_in(ticket)
        self._changed.set()
        if stored.appointment_at != ticket.appointment_at:
            # A place kept from before the appointment was moved: it goes, and the
            # check-in for the new time takes its own.
            await self.store.leave(appointment_id)
            stored = await self.store.check_in(ticket)
        if not await self.visits.waiting_allowed(appointment_id):
            # Cancelled (or moved, deleted) after the check-in above was recorded, and
            # possibly after its closed hook ran: the place must not outlive it.
            await self.store.leave(appointment_id)
            raise CheckinClosed()
        if (link := self.citizens.get(appointment_id)) is not None:
            link.ticket = stored
            link.last_sent = None  # every socket of the citizen hears the standing
        if await self.store.call_of_appointment(appointment_id) is not None:
            return {"state": "in_call"}
        self.metrics.joins.inc()
        waiting = await self.store.waiting([stored.skill])
        return {"state": "waiting", **self._standing(stored, waiting, await self._online())}

    async def queue_leave(self, appointment_id: str) -> bool:
        if (link := self.citizens.get(appointment_id)) is not None:
            link.ticket = None
        left = await self.store.leave(appointment_id)
        self._changed.set()
        return left

    async def appointment_closed(self, appointment_id: str, why: Closed) -> None:
        """The appointment was cancelled, moved, deleted or missed (its transaction has
        committed): its place in the waiting room goes at once, and its citizen's
        open pages on every node are told why and disconnected."""
        if await self.store.leave(appointment_id):
            self._changed.set()
        await self.nodes.tell_all(
            "appointment_closed", {"appointment_id": appointment_id, "reason": why.value}
        )

    async def _appointment_closed_here(self, args: Any) -> None:
        link = self.citizens.get(str(args["appointment_id"]))
        if link is None:
            return
        link.ticket = None  # not to be put back by a rebuild
        for sid in list(link.sids):
            await self.sio.emit(
                "appointment_closed",
                {"reason": args["reason"]},
                to=sid,
                namespace=CITIZEN_NS,
                ignore_queue=True,
            )
            await self.sio.disconnect(sid, namespace=CITIZEN_NS, ignore_queue=True)

    # -- clerks --------------------------------------------------------------------

    async def clerk_connected(self, sid: str, clerk: Clerk) -> dict[str, Any]:
        link = self.clerks.get(clerk.id)
        if link is None:
            existing = await self.store.clerk(clerk.id)
            link = self.clerks[clerk.id] = ClerkLink(
                clerk.id,
                clerk.display_name,
                frozenset(s.skill for s in clerk.skills),
                existing.state if existing else ClerkState.AVAILABLE,
            )
        link.sids.add(sid)
        link.last_sent = None
        if link.grace is not None:  # back within the grace period
            link.grace.cancel()
            link.grace = None
        await self.sio.enter_room(sid, clerk_room(clerk.id), namespace=CLERK_NS)
        call = await self.store.call_of_clerk(clerk.id)
        if call is not None:
            link.state = ClerkState.IN_CALL
            self.calls[call.call_id] = call
        elif link.state == ClerkState.IN_CALL:
            link.state = ClerkState.AFTER_CALL
        await self.store.set_clerk(link.presence(self.now()))
        if call is not None:
            await self._emit_call_assigned(call, to_clerk=sid)
            await self.sio.emit(
                "peer_joined",
                {"role": "clerk"},
                to=citizen_room(call.appointment_id),
                namespace=CITIZEN_NS,
            )
        await self.push_day(clerk.id)
        return {"state": link.state.value, "in_call": call is not None}

    async def clerk_disconnected(self, sid: str, clerk_id: int) -> None:
        link = self.clerks.get(clerk_id)
        if link is None:
            return
        link.sids.discard(sid)
        if link.sids:
            return
        call = await self.store.call_of_clerk(clerk_id)
        if call is None:
            del self.clerks[clerk_id]
            await self.store.remove_clerk(clerk_id)
            return
        # In a call: the clerk has the grace period to come back (reload, network).
        await self.sio.emit(
            "peer_left",
            {"role": "clerk", "grace_seconds": self.reconnect_grace},
            to=citizen_room(call.appointment_id),
            namespace=CITIZEN_NS,
        )
        link.grace = asyncio.create_task(self._clerk_grace(link, call), name=f"grace-{clerk_id}")

    async def _clerk_grace(self, link: ClerkLink, call: Call) -> None:
        await asyncio.sleep(self.reconnect_grace)
        link.grace = None
        if link.sids or self.clerks.get(link.clerk_id) is not link:
            return
        presence = await self.store.clerk(link.clerk_id)
        if (
            presence is not None
            and presence.since > call.started_at
            and presence.state != ClerkState.IN_CALL
        ):
            return  # reconnected on another node, and moved on
        del self.clerks[link.clerk_id]
        await self.store.remove_clerk(link.clerk_id)
        ticket = await self.store.requeue(call.call_id)
        self.calls.pop(call.call_id, None)
        if ticket is not None:
            await self.visits.call_returned(call.appointment_id)
            log.info("call %s: clerk did not return; citizen back at the front", call.call_id)
            await self.sio.emit(
                "returned_to_queue",
                {"reason": "clerk_lost"},
                to=citizen_room(call.appointment_id),
                namespace=CITIZEN_NS,
            )

    async def set_clerk_state(self, clerk_id: int, state: ClerkState) -> dict[str, Any]:
        link = self.clerks[clerk_id]
        if await self.store.call_of_clerk(clerk_id) is not None:
            state = ClerkState.IN_CALL  # the call decides while it lasts
        link.state = state
        await self.store.set_clerk(link.presence(self.now()))
        self._changed.set()
        return {"state": state.value}

    async def take(self, clerk_id: int, appointment_id: str | None) -> dict[str, Any]:
        """The clerk takes the next citizen (or a given one). A place whose appointment
        was cancelled, moved or deleted meanwhile is dropped and the next one taken: the
        appointment is checked in the same step that records the call."""
        link = self.clerks[clerk_id]
        while True:
            call_id = uuid.uuid4().hex
            if appointment_id is None:
                call = await self.store.claim_next(clerk_id, link.skills, call_id, self.now())
            else:
                call = await self.store.claim(
                    clerk_id, appointment_id, link.skills, call_id, self.now()
                )
            self._changed.set()
            if await self.visits.call_started(
                call.appointment_id, clerk_id, call.ticket.appointment_at
            ):
                break
            await self.store.end_call(call.call_id)
            log.info("appointment %s no longer waits; its place is dropped", call.appointment_id)
            if appointment_id is not None:
                raise NotWaiting()
        self.calls[call.call_id] = call
        link.state = ClerkState.IN_CALL
        await self.store.set_clerk(link.presence(self.now()))
        await self._emit_call_assigned(call, to_citizen=citizen_room(call.appointment_id))
        return await self._call_for_clerk(call)

    async def finish(self, clerk_id: int, *, requeue: bool) -> dict[str, Any]:
        """The clerk ends the call, or sends the citizen back to the waiting room."""
        call = await self.store.call_of_clerk(clerk_id)
        if call is None:
            raise NotInCall()
        link = self.clerks[clerk_id]
        if requeue:
            if await self.store.requeue(call.call_id) is None:
                raise NotInCall()
            await self.visits.call_returned(call.appointment_id)
            await self.sio.emit(
                "returned_to_queue",
                {"reason": "requeued_by_clerk"},
                to=citizen_room(call.appointment_id),
                namespace=CITIZEN_NS,
            )
        else:
            if await self.store.end_call(call.call_id) is None:
                raise NotInCall()
            await self.visits.call_finished(call.appointment_id, clerk_id)
            await self.sio.emit(
                "call_ended",
                {"reason": "completed"},
                to=citizen_room(call.appointment_id),
                namespace=CITIZEN_NS,
            )
        self.calls.pop(call.call_id, None)
        self._changed.set()
        link.state = ClerkState.AFTER_CALL
        await self.store.set_clerk(link.presence(self.now()))
        await self.push_day(clerk_id)
        return {"state": link.state.value}

    async def hang_up(self, appointment_id: str) -> None:
        """The citizen leaves the call; it counts as held."""
        call = await self.store.call_of_appointment(appointment_id)
        if call is None or await self.store.end_call(call.call_id) is None:
            raise NotInCall()
        self.calls.pop(call.call_id, None)
        await self.visits.call_finished(appointment_id, call.clerk_id)
        # The clerk may sit on another node: their presence in the store is the truth.
        if (link := self.clerks.get(call.clerk_id)) is not None:
            link.state = ClerkState.AFTER_CALL
            await self.store.set_clerk(link.presence(self.now()))
            await self.push_day(call.clerk_id)
        elif (presence := await self.store.clerk(call.clerk_id)) is not None:
            await self.store.set_clerk(presence.with_state(ClerkState.AFTER_CALL, self.now()))
        await self.sio.emit(
            "call_ended",
            {"reason": "citizen_left"},
            to=clerk_room(call.clerk_id),
            namespace=CLERK_NS,
        )
        await self.sio.emit(
            "call_ended",
            {"reason": "citizen_left"},
            to=citizen_room(appointment_id),
            namespace=CITIZEN_NS,
        )

    # -- relaying ------------------------------------------------------------------

    async def relay_from_citizen(self, appointment_id: str, event: str, data: Any) -> None:
        """Send to the clerk of the citizen's call; the store says who that is."""
        route = await self.store.route(appointment_id, None)
        if route is None or route.peer_clerk is None:
            raise NotInCall()
        await self.sio.emit(event, data, to=clerk_room(route.peer_clerk), namespace=CLERK_NS)
        self.metrics.relayed.labels(event).inc()

    async def relay_from_clerk(self, clerk_id: int, event: str, data: Any) -> None:
        route = await self.store.route(None, clerk_id)
        if route is None or route.peer_appointment is None:
            raise NotInCall()
        await self.sio.emit(
            event, data, to=citizen_room(route.peer_appointment), namespace=CITIZEN_NS
        )
        self.metrics.relayed.labels(event).inc()

    # -- what each side is told ----------------------------------------------------

    async def _emit_call_assigned(
        self, call: Call, *, to_citizen: str | None = None, to_clerk: str | None = None
    ) -> None:
        if to_citizen is not None:
            clerk = self.clerks.get(call.clerk_id)
            presence = await self.store.clerk(call.clerk_id) if clerk is None else None
            name = clerk.name if clerk else presence.name if presence else ""
            await self.sio.emit(
                "call_assigned",
                {
                    "call_id": call.call_id,
                    "polite": True,  # perfect negotiation: the citizen yields on glare
                    "ice_servers": self.ice.servers(f"a-{call.appointment_id[:8]}", self.now()),
                    "ice_transport_policy": self.ice.transport_policy,
                    "clerk_name": name,
                },
                to=to_citizen,
                namespace=CITIZEN_NS,
            )
        if to_clerk is not None:
            await self.sio.emit(
                "call_assigned", await self._call_for_clerk(call), to=to_clerk, namespace=CLERK_NS
            )

    async def _call_for_clerk(self, call: Call) -> dict[str, Any]:
        name, reference = await self._name_of(call.appointment_id)
        service = self.town.service(call.ticket.service_id)
        return {
            "call_id": call.call_id,
            "polite": False,
            "ice_servers": self.ice.servers(f"c-{call.clerk_id}", self.now()),
            "ice_transport_policy": self.ice.transport_policy,
            "citizen": {
                "appointment_id": call.appointment_id,
                "name": name,
                "reference": reference,
                "service_id": call.ticket.service_id,
                "service_name": service.name if service else call.ticket.service_id,
                "verification_required": service.verification_required if service else True,
                "documents": list(service.documents) if service else [],
                "appointment_at": call.ticket.appointment_at,
            },
        }

    async def _load_names(self, appointment_ids: list[str]) -> None:
        """Fetch names and references of the given appointments not cached yet (one query)."""
        missing = [i for i in appointment_ids if i not in self._names]
        if missing:
            self._names.update(await self.visits.names(missing))

    async def _name_of(self, appointment_id: str) -> tuple[str, str]:
        await self._load_names([appointment_id])
        return self._names.get(appointment_id, ("", ""))

    async def _online(self) -> Counter[str]:
        """Clerks on duty per skill (all but those who are away)."""
        online: Counter[str] = Counter()
        for presence in await self.store.clerks():
            if presence.state != ClerkState.AWAY:
                online.update(presence.skills)
        return online

    @staticmethod
    def _standing(ticket: Ticket, queue: list[Ticket], online: Counter[str]) -> dict[str, Any]:
        """Position and estimated wait of a ticket in its (skill's) queue."""
        ahead = [t for t in queue if t.skill == ticket.skill and t.order() < ticket.order()]
        clerks = online[ticket.skill]
        minutes = sum(t.duration_minutes for t in ahead)
        return {
            "position": len(ahead) + 1,
            "estimate_minutes": math.ceil(minutes / clerks) if clerks else None,
            "clerks_online": clerks,
        }

    # -- pushing updates -------------------------------------------------------------

    async def _emit_local(self, event: str, data: Any, sids: set[str], namespace: str) -> None:
        """Emit to sockets of this node only: every node pushes to its own sockets, so
        nothing needs to travel through the Redis manager to the others."""
        for sid in list(sids):
            await self.sio.emit(event, data, to=sid, namespace=namespace, ignore_queue=True)

    async def push_updates(self) -> None:
        """Tell this node's sockets what changed for them, and nothing else."""
        waiting = await self.store.waiting()
        online = await self._online()
        by_skill: dict[str, list[Ticket]] = defaultdict(list)
        for ticket in waiting:
            by_skill[ticket.skill].append(ticket)
        standing: dict[str, dict[str, Any]] = {}
        for skill, queue in by_skill.items():
            clerks = online[skill]
            minutes = 0
            for index, ticket in enumerate(queue):
                standing[ticket.appointment_id] = {
                    "position": index + 1,
                    "estimate_minutes": math.ceil(minutes / clerks) if clerks else None,
                    "clerks_online": clerks,
                }
                minutes += ticket.duration_minutes
        live = set(standing) | {c.appointment_id for c in self.calls.values()}
        for gone in [i for i in self._names if i not in live]:
            del self._names[gone]  # personal data: kept no longer than needed
        for link in list(self.citizens.values()):
            update = standing.get(link.appointment_id)
            if update is None or update == link.last_sent:
                continue
            link.last_sent = update
            await self.sio.emit(
                "queue_updated", update, to=citizen_room(link.appointment_id), namespace=CITIZEN_NS
            )
        for clerk in list(self.clerks.values()):
            await self._push_clerk_queue(clerk, [t for t in waiting if t.skill in clerk.skills])
        if self.dashboards:
            await self._push_dashboard(waiting)

    async def _push_clerk_queue(self, link: ClerkLink, waiting: list[Ticket]) -> None:
        shown = waiting[:CONSOLE_ROWS]
        await self._load_names([t.appointment_id for t in shown])
        entries = []
        for ticket in shown:
            name, reference = self._names.get(ticket.appointment_id, ("", ""))
            service = self.town.service(ticket.service_id)
            entries.append(
                {
                    "appointment_id": ticket.appointment_id,
                    "name": name,
                    "reference": reference,
                    "service_id": ticket.service_id,
                    "service_name": service.name if service else ticket.service_id,
                    "appointment_at": ticket.appointment_at,
                    "checked_in_at": ticket.checked_in_at,
                    "returned": ticket.front,
                }
            )
        payload = {
            "waiting": entries,
            "total": len(waiting),
            "lights": {"yellow_after_seconds": YELLOW_AFTER, "red_after_seconds": RED_AFTER},
        }
        if payload == link.last_sent:
            return
        link.last_sent = payload
        await self.sio.emit(
            "queue_updated", payload, to=clerk_room(link.clerk_id), namespace=CLERK_NS
        )
        ids = frozenset(str(e["appointment_id"]) for e in entries)
        for arrived in ids - link.seen_waiting:
            entry = next(e for e in entries if e["appointment_id"] == arrived)
            await self.sio.emit(
                "citizen_arrived",
                {"appointment_id": arrived, "service_name": entry["service_name"]},
                to=clerk_room(link.clerk_id),
                namespace=CLERK_NS,
            )
        link.seen_waiting = ids

    async def _push_dashboard(self, waiting: list[Ticket]) -> None:
        queues = []
        for service in self.town.services:
            tickets = [t for t in waiting if t.service_id == service.id]
            queues.append(
                {
                    "service_id": service.id,
                    "service_name": service.name,
                    "waiting": len(tickets),
                    "longest_waiting_since": min((t.checked_in_at for t in tickets), default=None),
                }
            )
        # Clerks' states only: no per-clerk figures (staff councils forbid them).
        clerks = [{"name": c.name, "state": c.state.value} for c in await self.store.clerks()]
        calls = [
            {"service_id": c.ticket.service_id, "started_at": c.started_at}
            for c in await self.store.calls()
        ]
        snapshot = {"queues": queues, "clerks": clerks, "calls": calls}
        if snapshot != self._dashboard_last:
            self._dashboard_last = snapshot
            await self.sio.emit(
                "dashboard_updated", snapshot, to="dashboard", namespace=DASHBOARD_NS
            )

    async def dashboard_connected(self, sid: str) -> None:
        self.dashboards.add(sid)
        await self.sio.enter_room(sid, "dashboard", namespace=DASHBOARD_NS)
        self._dashboard_last = None
        self._version = None

    def dashboard_disconnected(self, sid: str) -> None:
        self.dashboards.discard(sid)

    async def push_day(self, clerk_id: int) -> None:
        """The day's appointments for the clerk console (from the database), of the
        services her skills cover."""
        link = self.clerks.get(clerk_id)
        if link is None:
            return  # no socket of hers on this node
        entries = [
            {
                "appointment_id": e.appointment_id,
                "reference": e.reference,
                "service_id": e.service_id,
                "service_name": (
                    s.name if (s := self.town.service(e.service_id)) else e.service_id
                ),
                "starts_at": e.starts_at.timestamp(),
                "status": e.status,
                "name": e.name,
            }
            for e in await self.visits.day(link.skills)
        ]
        await self.sio.emit(
            "day_updated", {"appointments": entries}, to=clerk_room(clerk_id), namespace=CLERK_NS
        )

    # -- keeping the shared state alive ----------------------------------------------

    async def rebuild(self) -> None:
        """The store lost its state (Redis flushed or restarted): put ours back."""
        log.warning("room store lost its state; re-registering this node's sockets")
        for call in list(self.calls.values()):
            await self.store.restore_call(call)
        for link in self.citizens.values():
            if (
                link.ticket is not None
                and await self.store.call_of_appointment(link.appointment_id) is None
            ):
                await self.store.check_in(link.ticket)
        for clerk in self.clerks.values():
            await self.store.set_clerk(clerk.presence(self.now()))

    async def _watch(self) -> None:
        last_epoch_check = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() - last_epoch_check >= EPOCH_SECONDS:
                    last_epoch_check = loop.time()
                    epoch = await self.store.epoch()
                    if self._epoch is not None and epoch != self._epoch:
                        await self.rebuild()
                        self._version = None
                    self._epoch = epoch
                version = await self.store.version()
                if version != self._version:
                    self._version = version
                    await self.push_updates()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lobby watch failed; retrying")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), POLL_SECONDS)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):
                for clerk in list(self.clerks.values()):
                    await self.store.set_clerk(clerk.presence(self.now()))

    async def mark_no_shows(self) -> list[str]:
        """Mark who did not come; clerks' day lists show it."""
        marked = await self.visits.mark_no_shows(self.no_show_grace)
        if marked:
            for clerk_id in list(self.clerks):
                await self.push_day(clerk_id)
        return marked

    async def _no_shows(self) -> None:
        while True:
            await asyncio.sleep(NO_SHOW_SECONDS)
            try:
                await self.mark_no_shows()
            except Exception:
                log.exception("no-show check failed")

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch(), name="lobby-watch"),
            asyncio.create_task(self._heartbeat(), name="lobby-heartbeat"),
            asyncio.create_task(self._no_shows(), name="lobby-no-shows"),
        ]

    async def stop(self) -> None:
        tasks = self._tasks + [c.grace for c in self.clerks.values() if c.grace is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
