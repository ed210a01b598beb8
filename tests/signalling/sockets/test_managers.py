"""The managers' call rooms on their own: one call per socket at most, and the route
from a call room to its other side."""

from __future__ import annotations

import socketio

from signalling.sockets.managers import LocalManager, call_room, peer_room
from signalling.sockets.protocol import CITIZEN_NS, CLERK_NS


def members(manager: LocalManager, room: str, namespace: str = CITIZEN_NS) -> set[str]:
    return {sid for sid, _ in manager.get_participants(namespace, room)}


async def test_a_socket_is_in_one_call_at_most_and_out_of_it_when_its_room_closes() -> None:
    manager = LocalManager()
    socketio.AsyncServer(client_manager=manager)  # the manager needs its server
    first, second, bystander = [await manager.connect(f"eio{n}", CITIZEN_NS) for n in range(3)]
    for sid in (first, second):
        await manager.enter_room(sid, CITIZEN_NS, "appt:1")
    await manager.enter_room(bystander, CITIZEN_NS, "appt:2")

    x, y = call_room("x", "citizen"), call_room("y", "citizen")
    await manager.sockets_join("appt:1", x, CITIZEN_NS)
    assert members(manager, x) == {first, second}
    assert manager.call_room_of(first, CITIZEN_NS) == x
    assert manager.call_room_of(bystander, CITIZEN_NS) is None
    assert manager.call_room_of(first, CLERK_NS) is None

    # A socket that hears of the end late and joins the next call leaves the old one.
    await manager.enter_room(first, CITIZEN_NS, y)
    assert manager.call_room_of(first, CITIZEN_NS) == y
    assert members(manager, x) == {second}

    await manager.close_room(x, CITIZEN_NS)
    assert manager.call_room_of(second, CITIZEN_NS) is None
    assert members(manager, "appt:1") == {first, second}  # the person's room stays
    manager.basic_disconnect(first, CITIZEN_NS)
    assert manager.call_room_of(first, CITIZEN_NS) is None
    assert members(manager, y) == set()


def test_the_peer_of_a_call_room_is_the_other_side_of_the_same_call() -> None:
    assert peer_room(call_room("c0ffee", "citizen")) == call_room("c0ffee", "clerk")
    assert peer_room(call_room("c0ffee", "clerk")) == call_room("c0ffee", "citizen")
