"""A citizen's way through the office, as the sockets drive it: joining the waiting
room, being taken by a clerk, the call and its relayed messages, its end, and the
clerk's reconnect grace.

The lobby (``lobby.Lobby``) knows who is connected to this node; the room store is the
shared truth about places and calls; the office (``office.visits``) records what
happened. Every rule about standings and clerk states is in ``rooms.waiting``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from office import reads
from office.context import Closed
from office.errors import CheckinClosed, NotFound
from office.models import Appointment, Clerk
from office.visits import Visits
from rooms import waiting as rules
from rooms.chat_log import ChatLog
from rooms.errors import ColleagueUnavailable, NoSuchMember, NotInCall, NotWaiting, UnknownSkill
from rooms.state import Call, ClerkState, Handover, Ticket, stored_moment
from rooms.store import RoomStore
from signalling.metrics import Metrics
from signalling.node_bus import Nodes
from signalling.sockets.ice import IceConfig
from signalling.sockets.links import ClerkLink
from signalling.sockets.lobby import Lobby
from signalling.sockets.managers import SIDES, Side, side_named
from signalling.sockets.notifier import Notifier
from signalling.sockets.protocol import (
    CITIZEN_NS,
    CLERK_NS,
    AppointmentClosed,
    CallEnded,
    CitizenCall,
    ClerkCall,
    PeerJoined,
    PeerLeft,
    QueueStanding,
    Relayed,
    ReturnedToQueue,
)

log = logging.getLogger(__name__)
JOIN_SECONDS = 1.0  # for every node to put a new call's sockets in its rooms


def addressee(sender: Side, to: str | None) -> Side:
    """Whom a relayed message is for: the member named, or else the other person of
    the call (a guest must name one)."""
    if to is None and sender != "guest":
        return "clerk" if sender == "citizen" else "citizen"
    if to == sender or to not in SIDES:
        raise NoSuchMember()
    return side_named(to)


class Calls:
    def __init__(
        self,
        lobby: Lobby,
        notifier: Notifier,
        store: RoomStore,
        visits: Visits,
        ice: IceConfig,
        nodes: Nodes,
        chat: ChatLog,
        *,
        metrics: Metrics,
        reconnect_grace: float,
    ) -> None:
        self.lobby = lobby
        self.notifier = notifier
        self.store = store
        self.visits = visits
        self.ice = ice
        self.nodes = nodes
        self.chat = chat
        self.metrics = metrics
        self.reconnect_grace = reconnect_grace
        nodes.serve("appointment_closed", self._appointment_closed_here)
        nodes.serve("call_join", self._call_join_here)

    # -- who is in which call ------------------------------------------------------------

    async def clerk_serving(self, appointment_id: str) -> int:
        """The clerk in the citizen's call; :class:`NotInCall` when there is none."""
        clerk_id = await self.store.clerk_serving(appointment_id)
        if clerk_id is None:
            raise NotInCall()
        return clerk_id

    async def serves(self, clerk_id: int, appointment_id: str) -> bool:
        """Whether the clerk is in a call with the appointment's citizen right now."""
        return await self.store.clerk_serving(appointment_id) == clerk_id

    async def appointment_served_by(self, clerk_id: int) -> str:
        """The appointment of the clerk's call; :class:`NotInCall` when there is none."""
        appointment_id = await self.store.appointment_served_by(clerk_id)
        if appointment_id is None:
            raise NotInCall()
        return appointment_id

    # -- citizens ------------------------------------------------------------------------

    async def citizen_connected(self, sid: str, appointment: Appointment) -> dict[str, Any]:
        link = await self.lobby.citizen_joined(sid, appointment)
        call = await self.store.call_of_appointment(appointment.id)
        if call is not None:
            self.lobby.calls[call.call_id] = call
            await self.notifier.enter_call(sid, call.call_id, "citizen")
            await self.notifier.socket(sid, CITIZEN_NS, await self._citizen_call(call))
            await self.notifier.clerk(call.clerk_id, PeerJoined("citizen"))
            await self.notifier.in_call(call.call_id, "guest", PeerJoined("citizen"))
            return {"state": "in_call"}
        return {"state": "waiting" if await self.lobby.citizen_waiting(link) else "idle"}

    async def citizen_disconnected(self, sid: str, appointment_id: str) -> None:
        if self.lobby.citizen_left(sid, appointment_id):
            clerk_id = await self.store.clerk_serving(appointment_id)
            if clerk_id is not None:
                await self.notifier.clerk(clerk_id, PeerLeft("citizen"))

    async def queue_join(self, appointment_id: str) -> dict[str, Any]:
        appointment = await self.visits.check_in(appointment_id)
        service = self.lobby.town.service(appointment.service_id)
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
        self.lobby.changed()
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
        if (link := self.lobby.citizens.get(appointment_id)) is not None:
            link.ticket = stored
            self.lobby.resend(link)  # every socket of the citizen hears the standing
        ahead = await self.store.ahead(appointment_id)  # not a listing of the queue
        if ahead is None:  # not waiting: in a call already, or gone again at once
            if await self.store.call_of_appointment(appointment_id) is not None:
                return {"state": "in_call"}
            raise CheckinClosed()
        self.metrics.joins.inc()
        online = rules.on_duty(await self.store.clerks())
        standing = rules.standing_behind(ahead, online[stored.skill])
        return {"state": "waiting", **QueueStanding.of(standing).payload()}

    async def queue_leave(self, appointment_id: str) -> bool:
        if (link := self.lobby.citizens.get(appointment_id)) is not None:
            link.ticket = None
        left = await self.store.leave(appointment_id)
        self.lobby.changed()
        return left

    async def appointment_closed(self, appointment_id: str, why: Closed) -> None:
        """The appointment was cancelled, moved, deleted or missed (its transaction has
        committed): its place in the waiting room goes at once, and its citizen's
        open pages on every node are told why and disconnected."""
        if await self.store.leave(appointment_id):
            self.lobby.changed()
        await self.nodes.tell_all(
            "appointment_closed", {"appointment_id": appointment_id, "reason": why.value}
        )

    async def _appointment_closed_here(self, args: Any) -> None:
        link = self.lobby.citizens.get(str(args["appointment_id"]))
        if link is None:
            return
        link.ticket = None  # not to be put back by a rebuild
        event = AppointmentClosed(str(args["reason"]))
        for sid in list(link.sids):
            await self.notifier.socket(sid, CITIZEN_NS, event)
            await self.notifier.close(sid, CITIZEN_NS)

    async def _completed(self, appointment_id: str, clerk_id: int) -> None:
        """Record the call as held. A ``queue_join`` of the citizen that slipped in
        between the call's end in the store and this commit found the appointment still
        servable: its place goes now (and a later one re-checks and finds it closed)."""
        await self.visits.call_finished(appointment_id, clerk_id)
        if (link := self.lobby.citizens.get(appointment_id)) is not None:
            link.ticket = None  # not to be put back by a rebuild
        if await self.store.leave(appointment_id):
            self.lobby.changed()

    async def hang_up(self, appointment_id: str) -> None:
        """The citizen leaves the call; it counts as held."""
        call = await self.store.call_of_appointment(appointment_id)
        if call is None or await self.store.end_call(call.call_id) is None:
            raise NotInCall()
        await self._over(call)
        await self._completed(appointment_id, call.clerk_id)
        # The clerk may sit on another node: their presence in the store is the truth.
        if (link := self.lobby.clerks.get(call.clerk_id)) is not None:
            await self.lobby.publish(link, ClerkState.AFTER_CALL)
            await self.lobby.push_day(call.clerk_id)
        elif (presence := await self.store.clerk(call.clerk_id)) is not None:
            await self.store.set_clerk(presence.with_state(ClerkState.AFTER_CALL, self.now()))
        await self.notifier.clerk(call.clerk_id, CallEnded("citizen_left"))
        await self.notifier.citizen(appointment_id, CallEnded("citizen_left"))

    # -- clerks --------------------------------------------------------------------------

    def now(self) -> float:
        return self.lobby.now()

    async def clerk_connected(self, sid: str, clerk: Clerk) -> dict[str, Any]:
        link = await self.lobby.clerk_joined(sid, clerk)
        if link.grace is not None:  # back within the grace period
            link.grace.cancel()
            link.grace = None
        call = await self.store.call_of_clerk(clerk.id)
        if call is not None:
            self.lobby.calls[call.call_id] = call
        await self.lobby.publish(link, rules.state_on_connect(link.state, call is not None))
        if call is not None:
            await self.notifier.enter_call(sid, call.call_id, "clerk")
            await self.notifier.socket(sid, CLERK_NS, await self._clerk_call(call))
            await self.notifier.citizen(call.appointment_id, PeerJoined("clerk"))
            await self.notifier.in_call(call.call_id, "guest", PeerJoined("clerk"))
        day = await self.lobby.push_day(clerk.id)
        # The console opened its two lists of citizens: one audit row each (office.reads).
        await reads.console_opened(
            self.visits.office,
            clerk.id,
            [s.skill for s in clerk.skills],
            [entry.appointment_id for entry in day],
        )
        return {"state": link.state.value, "in_call": call is not None}

    async def clerk_disconnected(self, sid: str, clerk_id: int) -> None:
        link = self.lobby.clerk_left(sid, clerk_id)
        if link is None:
            return
        call = await self.store.call_of_clerk(clerk_id)
        if call is None:
            await self.lobby.clerk_gone(link)
            return
        # In a call: the clerk has the grace period to come back (reload, network).
        await self.notifier.citizen(
            call.appointment_id, PeerLeft("clerk", grace_seconds=self.reconnect_grace)
        )
        link.grace = asyncio.create_task(self._clerk_grace(link, call), name=f"grace-{clerk_id}")

    async def _clerk_grace(self, link: ClerkLink, call: Call) -> None:
        await asyncio.sleep(self.reconnect_grace)
        link.grace = None
        if link.sids or self.lobby.clerks.get(link.clerk_id) is not link:
            return
        if rules.moved_on(await self.store.clerk(link.clerk_id), call):
            return  # reconnected on another node, and moved on
        await self.lobby.clerk_gone(link)
        ticket = await self.store.requeue(call.call_id)
        await self._over(call)
        if ticket is not None:
            await self.visits.call_returned(call.appointment_id)
            log.info("call %s: clerk did not return; citizen back at the front", call.call_id)
            await self.notifier.citizen(call.appointment_id, ReturnedToQueue("clerk_lost"))

    async def set_clerk_state(self, clerk_id: int, chosen: ClerkState) -> dict[str, Any]:
        in_call = await self.store.call_of_clerk(clerk_id) is not None
        link = self.lobby.clerks[clerk_id]
        await self.lobby.publish(link, rules.state_chosen(chosen, in_call))
        return {"state": link.state.value}

    async def take(self, clerk_id: int, appointment_id: str | None) -> dict[str, Any]:
        """The clerk takes the next citizen (or a given one). A place whose appointment
        was cancelled, moved or deleted meanwhile is dropped and the next one taken: the
        appointment is checked in the same step that records the call."""
        link = self.lobby.clerks[clerk_id]
        while True:
            call_id = uuid.uuid4().hex
            if appointment_id is None:
                call = await self.store.claim_next(clerk_id, link.skills, call_id, self.now())
            else:
                call = await self.store.claim(
                    clerk_id, appointment_id, link.skills, call_id, self.now()
                )
            self.lobby.changed()
            if await self.visits.call_started(
                call.appointment_id, clerk_id, call.ticket.appointment_at
            ):
                break
            await self.store.end_call(call.call_id)
            log.info("appointment %s no longer waits; its place is dropped", call.appointment_id)
            if appointment_id is not None:
                raise NotWaiting()
        self.lobby.calls[call.call_id] = call
        # Both people's sockets join the call on every node before anything of the
        # call is sent, and every node hears where they are (managers.py).
        join = {
            "call_id": call.call_id,
            "appointment_id": call.appointment_id,
            "clerk_id": clerk_id,
        }
        answers, complete = await self.nodes.ask_all("call_join", join, JOIN_SECONDS)
        await self.notifier.call_members(call.call_id, answers, complete)
        await self.lobby.publish(link, ClerkState.IN_CALL)
        await self.notifier.citizen(call.appointment_id, await self._citizen_call(call))
        assigned: dict[str, Any] = (await self._clerk_call(call)).payload()
        return assigned

    async def finish(self, clerk_id: int, *, requeue: bool) -> dict[str, Any]:
        """The clerk ends the call, or sends the citizen back to the waiting room."""
        call = await self.store.call_of_clerk(clerk_id)
        if call is None:
            raise NotInCall()
        if requeue:
            if await self.store.requeue(call.call_id) is None:
                raise NotInCall()
            await self.visits.call_returned(call.appointment_id)
            await self.notifier.citizen(call.appointment_id, ReturnedToQueue("requeued_by_clerk"))
        else:
            if await self.store.end_call(call.call_id) is None:
                raise NotInCall()
            await self._completed(call.appointment_id, clerk_id)
            await self.notifier.citizen(call.appointment_id, CallEnded("completed"))
        await self._over(call)
        return await self._after_call(clerk_id)

    async def transfer(
        self, clerk_id: int, note: str, *, skill: str | None = None, colleague: int | None = None
    ) -> dict[str, Any]:
        """Hand the citizen to whoever has ``skill`` or to one ``colleague`` on duty:
        first in that queue, with the note (and the identity check so far, which
        belongs to the appointment)."""
        if colleague is not None:
            presence = await self.store.clerk(colleague)
            if colleague == clerk_id or presence is None or presence.state == ClerkState.AWAY:
                raise ColleagueUnavailable()
            skill = rules.personal_queue(colleague)
        elif skill not in {service.skill for service in self.lobby.town.services}:
            raise UnknownSkill()
        call = await self.store.call_of_clerk(clerk_id)
        if call is None:
            raise NotInCall()
        link = self.lobby.clerks[clerk_id]
        handover = Handover(note, link.name)
        if await self.store.requeue(call.call_id, skill=str(skill), handover=handover) is None:
            raise NotInCall()
        self.lobby.changed()
        await self.visits.call_returned(call.appointment_id)
        await self._over(call)
        await self.notifier.citizen(call.appointment_id, ReturnedToQueue("transferred"))
        return await self._after_call(clerk_id)

    async def _after_call(self, clerk_id: int) -> dict[str, Any]:
        """The clerk of a call that ended here goes to wrap-up; her console's answer."""
        link = self.lobby.clerks[clerk_id]
        await self.lobby.publish(link, ClerkState.AFTER_CALL)
        await self.lobby.push_day(clerk_id)
        return {"state": link.state.value}

    # -- relaying ------------------------------------------------------------------------

    async def _call_join_here(self, args: Any) -> dict[str, Any]:
        return self.notifier.join_call_here(
            str(args["call_id"]), str(args["appointment_id"]), int(args["clerk_id"])
        )

    async def relay(self, sid: str, side: Side, event: str, data: dict[str, Any]) -> None:
        """From a socket of one member of a call to the sockets of the member it names
        (``to``), with who sent it: the call's rooms are the route, so nothing is read
        from the store (``managers.py``)."""
        to = addressee(side, data.pop("to", None))
        if not await self.notifier.to_member(sid, side, to, Relayed(event, {**data, "from": side})):
            raise NotInCall()
        self.metrics.relayed.labels(event).inc()

    async def say(self, sid: str, side: Side, message: dict[str, Any]) -> None:
        """A chat message: relayed, and kept while the call lasts for a page that
        comes back (``chat_history``)."""
        call_id = self._call_of(sid, side)
        await self.relay(sid, side, "chat_received", message)
        await self.chat.add(call_id, message)

    async def chat_history(self, sid: str, side: Side) -> list[dict[str, Any]]:
        return await self.chat.of(self._call_of(sid, side))

    def _call_of(self, sid: str, side: Side) -> str:
        call_id = self.notifier.call_of(sid, side)
        if call_id is None:
            raise NotInCall()
        return call_id

    async def _over(self, call: Call) -> None:
        """The call has ended in the store: its rooms close on every node, and its
        chat is forgotten."""
        self.lobby.calls.pop(call.call_id, None)
        await self.notifier.call_over(call.call_id)
        await self.chat.forget(call.call_id)

    # -- what each side is told of the call ----------------------------------------------

    async def clerk_name(self, clerk_id: int) -> str:
        """The clerk's name, from this node or else her presence in the store."""
        if (clerk := self.lobby.clerks.get(clerk_id)) is not None:
            return clerk.name
        presence = await self.store.clerk(clerk_id)
        return presence.name if presence else ""

    async def _citizen_call(self, call: Call) -> CitizenCall:
        return CitizenCall(
            call.call_id,
            self.ice.servers(f"a-{call.appointment_id[:8]}", self.now()),
            self.ice.transport_policy,
            await self.clerk_name(call.clerk_id),
        )

    async def _clerk_call(self, call: Call) -> ClerkCall:
        name, reference = await self.lobby.name_of(call.appointment_id)
        service = self.lobby.town.service(call.ticket.service_id)
        return ClerkCall(
            call.call_id,
            self.ice.servers(f"c-{call.clerk_id}", self.now()),
            self.ice.transport_policy,
            {
                "appointment_id": call.appointment_id,
                "name": name,
                "reference": reference,
                "service_id": call.ticket.service_id,
                "service_name": service.name if service else call.ticket.service_id,
                "verification_required": service.verification_required if service else True,
                "documents": list(service.documents) if service else [],
                "appointment_at": call.ticket.appointment_at,
                "phone": await self.visits.phone(call.appointment_id),
                "handover": call.ticket.handover.to_dict() if call.ticket.handover else None,
            },
        )
