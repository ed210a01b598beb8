"""The one place that sends socket.io events.

Messages for a person go to a socket.io room (``appt:<id>`` for the citizen's
sockets, ``clerk:<id>`` for the clerk's), and a call's relayed messages to a room of
the call's side (``call:<call id>:citizen|clerk|guest``, see ``managers.py``), so with
several nodes the Redis manager carries them to whichever node holds the socket.
What a node pushes to its own sockets (the lobby's updates, a connect's first state)
skips the manager.
"""

from __future__ import annotations

from typing import Any

from common.outgoing import Outgoing
from signalling.sockets.managers import NAMESPACE_OF, Side, call_room, split_call_room
from signalling.sockets.packets import ProtocolServer
from signalling.sockets.protocol import CITIZEN_NS, CLERK_NS, DASHBOARD_NS, CallEnded

DASHBOARDS = "dashboard"


def citizen_room(appointment_id: str) -> str:
    return f"appt:{appointment_id}"


def clerk_room(clerk_id: int) -> str:
    return f"clerk:{clerk_id}"


class Notifier:
    def __init__(self, sio: ProtocolServer) -> None:
        self.sio = sio

    # -- to whichever node holds the sockets ------------------------------------------

    async def citizen(self, appointment_id: str, event: Outgoing) -> None:
        """To every socket of the appointment's citizen."""
        await self.sio.emit(
            event.name, event.payload(), to=citizen_room(appointment_id), namespace=CITIZEN_NS
        )

    async def clerk(self, clerk_id: int, event: Outgoing) -> None:
        """To every socket of the clerk."""
        await self.sio.emit(
            event.name, event.payload(), to=clerk_room(clerk_id), namespace=CLERK_NS
        )

    def call_of(self, sid: str, side: Side) -> str | None:
        """The call this node's socket is in, if any."""
        room = self.sio.manager.call_room_of(sid, NAMESPACE_OF[side])
        return None if room is None else split_call_room(room)[0]

    async def to_member(self, sid: str, side: Side, to: Side, event: Outgoing) -> bool:
        """From a socket in a call to the sockets of another member of that call
        (``managers.py``); False when the socket is in no call."""
        call_id = self.call_of(sid, side)
        if call_id is None:
            return False
        await self.in_call(call_id, to, event)
        return True

    async def in_call(self, call_id: str, side: Side, event: Outgoing) -> None:
        """To the sockets of one member of the call. When they are all on this node,
        the message does not leave it; a member who is not there hears nothing."""
        await self.sio.emit(
            event.name,
            event.payload(),
            to=call_room(call_id, side),
            namespace=NAMESPACE_OF[side],
            ignore_queue=self.sio.manager.only_here(call_id, side),
        )

    async def dashboards(self, event: Outgoing) -> None:
        await self.sio.emit(event.name, event.payload(), to=DASHBOARDS, namespace=DASHBOARD_NS)

    # -- to sockets of this node ------------------------------------------------------

    async def socket(self, sid: str, namespace: str, event: Outgoing) -> None:
        await self.sio.push((sid,), namespace, event.name, event.payload())

    async def sockets(self, sids: set[str], namespace: str, event: Outgoing) -> None:
        await self.sio.push(list(sids), namespace, event.name, event.payload())

    async def close(self, sid: str, namespace: str) -> None:
        await self.sio.disconnect(sid, namespace=namespace, ignore_queue=True)

    # -- rooms -------------------------------------------------------------------------

    async def enter_citizen_room(self, sid: str, appointment_id: str) -> None:
        await self.sio.enter_room(sid, citizen_room(appointment_id), namespace=CITIZEN_NS)

    async def enter_clerk_room(self, sid: str, clerk_id: int) -> None:
        await self.sio.enter_room(sid, clerk_room(clerk_id), namespace=CLERK_NS)

    async def enter_call(self, sid: str, call_id: str, side: Side) -> None:
        """A socket that connects during its person's call joins it; every node hears
        of it before the socket's page or the other side does."""
        await self.sio.enter_room(sid, call_room(call_id, side), namespace=NAMESPACE_OF[side])
        await self.sio.manager.tell_here(call_id, side)

    def join_call_here(self, call_id: str, appointment_id: str, clerk_id: int) -> dict[str, Any]:
        """This node's sockets of the two people join the call; which sides it holds."""
        manager = self.sio.manager
        held: dict[str, Any] = manager.join_here(
            call_id, citizen_room(appointment_id), clerk_room(clerk_id)
        )
        return held

    async def call_members(self, call_id: str, answers: list[Any], complete: bool) -> None:
        """Every node hears which nodes hold the call's sockets."""
        await self.sio.manager.tell_members(call_id, answers, complete)

    async def close_side(self, call_id: str, side: Side) -> None:
        """That member's sockets, on every node, leave the call's room."""
        await self.sio.close_room(call_room(call_id, side), namespace=NAMESPACE_OF[side])

    async def call_over(self, call_id: str) -> None:
        """No socket on any node stays in the call's rooms; a guest is told first."""
        await self.in_call(call_id, "guest", CallEnded("call_over"))
        for side in NAMESPACE_OF:
            await self.close_side(call_id, side)

    async def enter_dashboards(self, sid: str) -> None:
        await self.sio.enter_room(sid, DASHBOARDS, namespace=DASHBOARD_NS)
