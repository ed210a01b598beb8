"""The one place that sends socket.io events.

Messages for a member of a call go to a socket.io room (``appt:<id>`` for the
citizen's sockets, ``clerk:<id>`` for the clerk's), so with several nodes the Redis
manager carries them to whichever node holds the socket. What a node pushes to its
own sockets (the lobby's updates, a connect's first state) skips the manager.
"""

from __future__ import annotations

from common.outgoing import Outgoing
from signalling.sockets.packets import ProtocolServer
from signalling.sockets.protocol import CITIZEN_NS, CLERK_NS, DASHBOARD_NS

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

    async def enter_dashboards(self, sid: str) -> None:
        await self.sio.enter_room(sid, DASHBOARDS, namespace=DASHBOARD_NS)
