"""socket.io's client managers, with what a call needs beyond python-socketio's rooms.

A call's relayed messages (WebRTC descriptions and candidates, chat) go to rooms of
the call itself, one per side: ``call:<call id>:citizen`` in the citizen namespace and
``call:<call id>:clerk`` in the clerk namespace, and ``call:<call id>:guest`` in the
guest namespace for an interpreter or companion. A socket is in such a room only while
its person is in that call, so a relayed message reaches nobody outside the call it
was sent in, however late its sender heard that the call ended: after the end it goes
to a room nobody is in any more, never to the clerk's next call. The sender's side of
the route is a lookup in this process (:meth:`CallRooms.call_room_of`), so relaying
reads nothing from the room store.

When a call starts, every node puts the sockets it holds of the citizen's room
(``appt:<id>``) and of the clerk's (``clerk:<id>``) into the call's rooms, and says
whether it had any (``Calls`` asks every node and waits for all of them before
anything of the call is sent). The answers go to every node as the call's *members*:
which nodes hold a socket of each side. A node that holds every socket of the other
side itself hands a relayed message to its own sockets and publishes nothing; else
the message goes through Redis as any emit. A socket that connects during the call
(a reload, or a guest arriving) is announced to every node (*here*) before its page
or the other sides hear of it;
until a node has the members of a call, it publishes. The members and the
announcements travel as emits to a namespace no client can reach
(:data:`CONTROL_NS`), taken out before delivery. The end of a call is socket.io's own
``close_room`` on every node, which also forgets the call's members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import socketio

from signalling.sockets.protocol import CITIZEN_NS, CLERK_NS, GUEST_NS

Side = Literal["citizen", "clerk", "guest"]
SIDES: tuple[Side, ...] = ("citizen", "clerk", "guest")
NAMESPACE_OF: dict[Side, str] = {"citizen": CITIZEN_NS, "clerk": CLERK_NS, "guest": GUEST_NS}
CALL_PREFIX = "call:"
CONTROL_NS = "/_rooms"  # no handler, so the server refuses clients on it
MEMBERS = "call_members"
HERE = "call_member_here"


def call_room(call_id: str, side: Side) -> str:
    return f"{CALL_PREFIX}{call_id}:{side}"


def side_named(name: object) -> Side:
    """A side from a name heard from another node (or a room's name)."""
    return "citizen" if name == "citizen" else "guest" if name == "guest" else "clerk"


def split_call_room(room: str) -> tuple[str, Side]:
    """The call and the side of a call room."""
    call, _, side = room[len(CALL_PREFIX) :].rpartition(":")
    return call, side_named(side)


@dataclass
class Members:
    """The nodes that hold sockets of a call, per side, as this node has heard."""

    nodes: dict[Side, set[str]] = field(default_factory=lambda: {s: set() for s in SIDES})
    complete: bool = False  # every node answered at the call's start


class CallRooms:
    """Mixed into a manager: which call room each socket of this process is in, kept
    in step with socket.io's own room bookkeeping (a socket is in one call at most),
    and which nodes hold the sockets of each call."""

    get_participants: Callable[[str, Any], Iterable[tuple[str, str]]]  # socket.io's own

    def __init__(self, *args: Any, node_id: str = "local", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.node_id = node_id
        self._call_rooms: dict[tuple[str, str], str] = {}
        self._members: dict[str, Members] = {}

    def call_room_of(self, sid: str, namespace: str) -> str | None:
        return self._call_rooms.get((namespace, sid))

    def only_here(self, call_id: str, side: Side) -> bool:
        """Whether every socket of that side of the call is on this node, as far as
        every node has told (False while this node does not know)."""
        members = self._members.get(call_id)
        return members is not None and members.complete and members.nodes[side] <= {self.node_id}

    def join_here(self, call_id: str, appointment_room: str, clerk_room: str) -> dict[str, Any]:
        """The sockets of the two people on this node enter the call's rooms; which
        sides this node holds."""
        held: dict[str, Any] = {"node": self.node_id}
        rooms: tuple[tuple[Side, str], ...] = (("citizen", appointment_room), ("clerk", clerk_room))
        for side, room in rooms:
            namespace = NAMESPACE_OF[side]
            sockets = list(self.get_participants(namespace, room))
            for sid, eio_sid in sockets:
                self.basic_enter_room(sid, namespace, call_room(call_id, side), eio_sid)
            held[side] = bool(sockets)
        return held

    def members_heard(self, call_id: str, answers: list[dict[str, Any]], complete: bool) -> None:
        members = self._members.setdefault(call_id, Members())
        for answer in answers:
            for side in SIDES:
                if answer.get(side):
                    members.nodes[side].add(str(answer["node"]))
        members.complete = complete

    def here_heard(self, call_id: str, side: Side, node_id: str) -> None:
        # Kept even before the call's members arrive: they may have been gathered
        # before this socket connected.
        self._members.setdefault(call_id, Members()).nodes[side].add(node_id)

    # -- socket.io's bookkeeping, with ours beside it ------------------------------------

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

    def basic_close_room(self, room: Any, namespace: str) -> None:
        if isinstance(room, str) and room.startswith(CALL_PREFIX):
            self._members.pop(split_call_room(room)[0], None)
        super().basic_close_room(room, namespace)  # type: ignore[misc]


class LocalManager(CallRooms, socketio.AsyncManager):  # type: ignore[misc]  # untyped
    """One node alone: every socket is here."""

    def only_here(self, call_id: str, side: Side) -> bool:
        return True

    async def tell_members(
        self, call_id: str, answers: list[dict[str, Any]], complete: bool
    ) -> None:
        pass  # nobody else to tell

    async def tell_here(self, call_id: str, side: Side) -> None:
        pass


class RedisManager(CallRooms, socketio.AsyncRedisManager):  # type: ignore[misc]  # untyped
    """Several nodes: the members of a call and the sockets that join it later are
    told to every node (this one first) on the manager's channel."""

    async def tell_members(
        self, call_id: str, answers: list[dict[str, Any]], complete: bool
    ) -> None:
        news = {"call": call_id, "answers": answers, "complete": complete}
        await self.emit(MEMBERS, news, namespace=CONTROL_NS)

    async def tell_here(self, call_id: str, side: Side) -> None:
        news = {"call": call_id, "side": side, "node": self.node_id}
        await self.emit(HERE, news, namespace=CONTROL_NS)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        # python-socketio hands every emit to this method, this node's own and those
        # of the others, before it reaches a socket: our news is taken out here.
        if message.get("namespace") != CONTROL_NS:
            await super()._handle_emit(message)
            return
        news = message["data"][0]
        if message.get("event") == MEMBERS:
            self.members_heard(str(news["call"]), list(news["answers"]), bool(news["complete"]))
        elif message.get("event") == HERE:
            self.here_heard(str(news["call"]), side_named(news["side"]), str(news["node"]))
