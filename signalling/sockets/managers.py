"""socket.io's client managers, with what a call needs beyond python-socketio's rooms.

A call's relayed messages (WebRTC descriptions and candidates, chat) go to rooms of
the call itself, one per side: ``call:<call id>:citizen`` in the citizen namespace and
``call:<call id>:clerk`` in the clerk namespace. A socket is in such a room only while
its person is in that call, so a relayed message reaches nobody outside the call it
was sent in, however late its sender heard that the call ended: after the end it goes
to a room nobody is in any more, never to the clerk's next call. And the sender's side
of the route is a lookup in this process (:meth:`CallRooms.call_room_of`), so relaying
reads nothing from the room store.

When a call starts, every socket of the citizen's room (``appt:<id>``) and of the
clerk's (``clerk:<id>``) enters the call's room, on whichever node it is: what Node's
socket.io calls ``socketsJoin``, which python-socketio lacks. With Redis the join
travels on the manager's own channel, as an emit to a namespace no client can reach
(:data:`CONTROL_NS`), so every node acts on it in the order of everything else the
manager carries: the sockets are in the room before any message for it reaches their
node. The end is socket.io's own ``close_room``, ordered the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import socketio

from signalling.sockets.protocol import CITIZEN_NS, CLERK_NS

Side = Literal["citizen", "clerk"]
NAMESPACE_OF: dict[Side, str] = {"citizen": CITIZEN_NS, "clerk": CLERK_NS}
CALL_PREFIX = "call:"
CONTROL_NS = "/_rooms"  # no handler, so the server refuses clients on it
JOIN = "sockets_join"


def call_room(call_id: str, side: Side) -> str:
    return f"{CALL_PREFIX}{call_id}:{side}"


def peer_room(room: str) -> str:
    """The room of the other side of the same call."""
    call, _, side = room.rpartition(":")
    return f"{call}:{'clerk' if side == 'citizen' else 'citizen'}"


class CallRooms:
    """Mixed into a manager: which call room each socket of this process is in, kept
    in step with socket.io's own room bookkeeping (a socket is in one call at most)."""

    get_participants: Callable[[str, Any], Iterable[tuple[str, str]]]  # socket.io's own

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._call_rooms: dict[tuple[str, str], str] = {}

    def call_room_of(self, sid: str, namespace: str) -> str | None:
        return self._call_rooms.get((namespace, sid))

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        if isinstance(room, str) and room.startswith(CALL_PREFIX):
            previous = self._call_rooms.get((namespace, sid))
            if previous is not None and previous != room:
                self.basic_leave_room(sid, namespace, previous)
            self._call_rooms[(namespace, sid)] = room
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        if room is not None and self._call_rooms.get((namespace, sid)) == room:
            del self._call_rooms[(namespace, sid)]
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]

    def join_here(self, room: str, into: str, namespace: str) -> None:
        """Every socket of ``room`` on this node enters ``into`` too."""
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            self.basic_enter_room(sid, namespace, into, eio_sid=eio_sid)


class LocalManager(CallRooms, socketio.AsyncManager):  # type: ignore[misc]  # untyped
    """One node alone: a join is done here and now."""

    async def sockets_join(self, room: str, into: str, namespace: str) -> None:
        self.join_here(room, into, namespace)


class RedisManager(CallRooms, socketio.AsyncRedisManager):  # type: ignore[misc]  # untyped
    """Several nodes: a join goes to every node (this one first) on the manager's
    channel, in order with the emits and room closes around it."""

    async def sockets_join(self, room: str, into: str, namespace: str) -> None:
        join = {"room": room, "into": into, "namespace": namespace}
        await self.emit(JOIN, join, namespace=CONTROL_NS)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        # python-socketio hands every emit to this method, this node's own and those
        # of the others, before it reaches a socket: the joins are taken out here.
        if message.get("namespace") != CONTROL_NS:
            await super()._handle_emit(message)
        elif message.get("event") == JOIN:
            join = message["data"][0]
            self.join_here(str(join["room"]), str(join["into"]), str(join["namespace"]))
