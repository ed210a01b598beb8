"""``buergerbuero serve --workers 2``: two processes on one port, each a node.

The kernel gives each new connection to one of the workers (SO_REUSEPORT). Which one
holds a socket is read from /proc: the worker process whose file descriptors include
the server side of the client's TCP connection. A citizen on one worker and a clerk on
the other hold a whole call through Redis; a worker that dies is started again, and
its citizen comes back to the same place.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.drills.harness import Client, DrillOffice, Node
from tests.helpers.constants import ANSWER, OFFER
from tests.helpers.polling import eventually

LISTEN = "0A"  # the TCP state in /proc/net/tcp
ESTABLISHED = "01"


@pytest.fixture
async def office(tmp_path: Path) -> Any:
    async with DrillOffice(tmp_path, nodes=1, workers=2) as started:
        yield started


def _sockets(state: str, local_port: int, remote_port: int | None = None) -> set[str]:
    """Inodes of the TCP sockets on this machine in ``state`` on the local port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, now, inode = fields[1], fields[2], fields[3], fields[9]
            if now != state or int(local.rsplit(":", 1)[1], 16) != local_port:
                continue
            if remote_port is None or int(remote.rsplit(":", 1)[1], 16) == remote_port:
                found.add(inode)
    return found


def _holders(pids: list[int], inodes: set[str]) -> set[int]:
    """The processes among ``pids`` that have one of these sockets open."""
    holders = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue  # ended meanwhile (a dead worker, before it is reaped)
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:[") and target[8:-1] in inodes:
                holders.add(pid)
    return holders


def _workers(node: Node) -> list[int]:
    assert node.process is not None
    pid = node.process.pid
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _listening(node: Node) -> set[int]:
    return _holders(_workers(node), _sockets(LISTEN, node.port))


def worker_of(node: Node, client: Client) -> int:
    """The worker process holding the server side of the client's websocket."""
    ws = client.sio.eio.ws
    assert ws is not None
    client_port = ws.get_extra_info("sockname")[1]
    (holder,) = _holders(_workers(node), _sockets(ESTABLISHED, node.port, client_port))
    return holder


async def synced(client: Client) -> None:
    await eventually(lambda: "state_synced" in client.events, what="state_synced")


async def connect_elsewhere(
    office: DrillOffice, node: Node, make: Callable[[], Client], avoid: int
) -> Client:
    """A new client (``make()``), reconnected until it is held by another worker than
    ``avoid``: the kernel picks the worker by a hash of the connection's ports."""
    for _ in range(40):
        client = make()
        await client.connect(f"http://127.0.0.1:{node.port}")
        await synced(client)
        if worker_of(node, client) != avoid:
            return client
        await client.close()
        office.clients.remove(client)
    raise AssertionError("40 connections in a row went to the same worker")


async def test_a_citizen_and_a_clerk_on_different_workers_hold_a_call(
    office: DrillOffice,
) -> None:
    (node,) = office.nodes
    await eventually(lambda: len(_listening(node)) == 2, within=60, what="both workers listening")
    (cookie,) = await office.clerks(1)
    (row,) = await office.appointments(1)
    citizen = office.citizen(row)
    await citizen.connect(f"http://127.0.0.1:{node.port}")
    await eventually(lambda: "state_synced" in citizen.events, what="the citizen's state")
    citizen_worker = worker_of(node, citizen)
    clerk = await connect_elsewhere(office, node, lambda: office.clerk(cookie, 0), citizen_worker)
    assert {citizen_worker, worker_of(node, clerk)} == _listening(node)

    joined = await citizen.call("queue_join")
    assert joined["ok"] and joined["data"]["state"] == "waiting"
    taken = await clerk.call("queue_next")
    assert taken["ok"], taken
    assert taken["data"]["citizen"]["appointment_id"] == row.id
    await eventually(lambda: "call_assigned" in citizen.events, what="call_assigned")

    # Both directions of the call's signalling and chat cross from worker to worker.
    assert (await clerk.call("rtc_description", OFFER))["ok"]
    await eventually(
        lambda: citizen.events.get("rtc_description") == [{**OFFER, "from": "clerk"}],
        what="the offer",
    )
    assert (await citizen.call("rtc_description", ANSWER))["ok"]
    await eventually(
        lambda: clerk.events.get("rtc_description") == [{**ANSWER, "from": "citizen"}],
        what="the answer",
    )
    said = await citizen.call("chat_send", {"text": "Guten Tag"})
    await eventually(
        lambda: [m["text"] for m in clerk.events.get("chat_received", [])] == ["Guten Tag"],
        what="the citizen's chat at the clerk",
    )
    assert said["data"]["from"] == "citizen"

    assert (await clerk.call("call_end"))["ok"]
    await eventually(lambda: "call_ended" in citizen.events, what="call_ended at the citizen")
    assert await office.calls() == {}


async def test_a_worker_that_dies_is_started_again_and_nobody_loses_their_place(
    office: DrillOffice,
) -> None:
    (node,) = office.nodes
    await eventually(lambda: len(_listening(node)) == 2, within=60, what="both workers listening")
    rows = await office.appointments(4)
    citizens = [office.citizen(row) for row in rows]
    for citizen in citizens:
        citizen.waiting = True  # it joins again after a reconnect, as the page does
        await citizen.connect(f"http://127.0.0.1:{node.port}")
        await synced(citizen)
        assert (await citizen.call("queue_join"))["ok"]
    order = await office.waiting_order()
    assert order == [row.id for row in rows]

    victim = worker_of(node, citizens[0])
    os.kill(victim, signal.SIGKILL)
    await eventually(
        lambda: len(_listening(node)) == 2 and victim not in _listening(node),
        within=60,
        what="a new worker in the dead one's place",
    )
    await eventually(
        lambda: citizens[0].disconnected_at is not None, within=10, what="the connection lost"
    )
    await eventually(
        lambda: all(
            c.sio.connected and c.back_at is not None for c in citizens if c.disconnected_at
        ),
        within=20,
        what="the dead worker's citizens back",
    )
    assert await office.waiting_order() == order
