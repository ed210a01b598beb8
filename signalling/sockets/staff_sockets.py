"""A staff socket lives no longer than the session it was opened with.

A socket is authorised once, at its handshake, by the staff cookie. What ends that
session must end the socket too: logging out (here or everywhere), a changed role or
skills, a deactivated account, a reset second factor, the session's expiry. The first
four are news (``Staff.sessions_ended_hooks``): every node re-checks the sockets of
that clerk at once. Expiry and changes made by another process (the command line) are
found by a sweep over all staff sockets every minute.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from common import wakeups
from office.models import Clerk
from office.staff import Staff
from signalling.node_bus import Nodes
from signalling.sockets.notifier import Notifier

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class StaffSocket:
    namespace: str
    token: str  # the session cookie it was opened with (kept in memory only)
    clerk_id: int
    grants: tuple[str, frozenset[str]]  # role and skills when it was opened


def _grants(clerk: Clerk) -> tuple[str, frozenset[str]]:
    return str(clerk.role), frozenset(s.skill for s in clerk.skills)


class StaffSockets:
    """This node's staff sockets and the sessions behind them."""

    def __init__(self, notifier: Notifier, staff: Staff, nodes: Nodes) -> None:
        self.notifier = notifier
        self.staff = staff
        self.nodes = nodes
        self._sockets: dict[str, StaffSocket] = {}
        self._sweeper: asyncio.Task[None] | None = None
        nodes.serve("staff_sessions_ended", self._recheck_news)
        staff.sessions_ended_hooks.append(self.sessions_ended)

    def opened(self, sid: str, namespace: str, token: str, clerk: Clerk) -> None:
        self._sockets[sid] = StaffSocket(namespace, token, clerk.id, _grants(clerk))

    def closed(self, sid: str) -> None:
        self._sockets.pop(sid, None)

    async def sessions_ended(self, clerk_id: int) -> None:
        """Some session of the clerk ended (after its commit): every node checks."""
        await self.nodes.tell_all("staff_sessions_ended", {"clerk_id": clerk_id})

    async def _recheck_news(self, args: Any) -> None:
        await self.recheck(int(args["clerk_id"]))

    async def recheck(self, clerk_id: int | None = None) -> int:
        """Close every socket (of this clerk, or all) whose session is over or whose
        account no longer grants what it was opened with; returns how many."""
        closed = 0
        for sid, socket in list(self._sockets.items()):
            if clerk_id is not None and socket.clerk_id != clerk_id:
                continue
            clerk = await self.staff.session_clerk(socket.token)
            if (
                clerk is not None
                and clerk.id == socket.clerk_id
                and _grants(clerk) == socket.grants
            ):
                continue
            self._sockets.pop(sid, None)
            log.info(
                "clerk %s: session over, a %s socket closes", socket.clerk_id, socket.namespace
            )
            await self.notifier.close(sid, socket.namespace)
            closed += 1
        return closed

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.recheck()
            except Exception:
                log.exception("staff socket sweep failed; next round in %.0f s", SWEEP_SECONDS)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="staff-sockets-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            await wakeups.stop([self._sweeper])
            self._sweeper = None
