"""The managers' call rooms on their own: one call per socket at most, and when a
relayed message may stay on its node."""

from __future__ import annotations

import socketio

from signalling.sockets.managers import CallRooms, LocalManager, call_room, split_call_room
from signalling.sockets.protocol import CITIZEN_NS, CLERK_NS


class Node(CallRooms, socketio.AsyncManager):  # type: ignore[misc]  # untyped
    """The bookkeeping of a node of several, without Redis."""


def members(manager: CallRooms, room: str, namespace: str = CITIZEN_NS) -> set[str]:
    return {sid for sid, _ in manager.get_participants(namespace, room)}


async def test_a_socket_is_in_one_call_at_most_and_out_of_it_when_its_room_closes() -> None:
    manager = LocalManager()
    socketio.AsyncServer(client_manager=manager)  # the manager needs its server
    first, second, bystander = [await manager.connect(f"eio{n}", CITIZEN_NS) for n in range(3)]
    clerk = await manager.connect("eio-clerk", CLERK_NS)
    for sid in (first, second):
        await manager.enter_room(sid, CITIZEN_NS, "appt:1")
    await manager.enter_room(bystander, CITIZEN_NS, "appt:2")
    await manager.enter_room(clerk, CLERK_NS, "clerk:7")

    held = manager.join_here("x", "appt:1", "clerk:7")
    assert held == {"node": "local", "citizen": True, "clerk": True}
    assert manager.join_here("z", "appt:9", "clerk:9") == {
        "node": "local",
        "citizen": False,
        "clerk": False,
    }
    x, y = call_room("x", "citizen"), call_room("y", "citizen")
    assert members(manager, x) == {first, second}
    assert members(manager, call_room("x", "clerk"), CLERK_NS) == {clerk}
    assert manager.call_room_of(first, CITIZEN_NS) == x
    assert manager.call_room_of(bystander, CITIZEN_NS) is None
    assert manager.call_room_of(clerk, CLERK_NS) == call_room("x", "clerk")

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


def test_a_message_stays_on_its_node_only_when_every_node_said_it_holds_nothing_there() -> None:
    node = Node(node_id="a")
    assert not node.only_here("x", "clerk")  # nothing heard yet: publish

    node.members_heard(
        "x", [{"node": "a", "citizen": True, "clerk": True}, {"node": "b"}], complete=False
    )
    assert not node.only_here("x", "clerk")  # a node did not answer: publish

    node.members_heard("x", [], complete=True)
    assert node.only_here("x", "clerk") and node.only_here("x", "citizen")
    node.here_heard("x", "citizen", "b")  # her page reloaded on node b
    assert node.only_here("x", "clerk") and not node.only_here("x", "citizen")

    # Heard of a socket before the members came: the members do not forget it.
    node.here_heard("w", "clerk", "c")
    node.members_heard("w", [{"node": "a", "citizen": True, "clerk": True}], complete=True)
    assert node.only_here("w", "citizen") and not node.only_here("w", "clerk")

    node.basic_close_room(call_room("w", "clerk"), CLERK_NS)  # the call ended
    assert not node.only_here("w", "citizen")


def test_a_call_room_names_its_call_and_side() -> None:
    assert split_call_room(call_room("c0ffee", "citizen")) == ("c0ffee", "citizen")
    assert split_call_room(call_room("c0ffee", "clerk")) == ("c0ffee", "clerk")
