"""The lobby: who is connected to this node, and what they are told while they wait.

The shared truth is the room store (memory or Redis). This node adds what only it
knows: which citizens, clerks and dashboards have a socket here. From that it
pushes updates to its own sockets (standings, the clerks' waiting lists and day
lists, the dashboard), re-registers them when the store lost its state, and keeps
the clerks' presence fresh. What the updates say comes from ``rooms.waiting``; the
calls themselves are ``calls.Calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from common import wakeups
from common.wakeups import woken
from office.catalogue import Town
from office.models import Appointment, Clerk
from office.visits import DayEntry, Visits
from rooms import waiting as rules
from rooms.board import Board
from rooms.state import Call, ClerkState, Ticket
from rooms.store import RoomStore
from signalling.metrics import Metrics
from signalling.sockets import views
from signalling.sockets.links import CitizenLink, ClerkLink
from signalling.sockets.notifier import Notifier
from signalling.sockets.protocol import (
    CITIZEN_NS,
    CitizenArrived,
    QueueStanding,
)

log = logging.getLogger(__name__)
POLL_SECONDS = 0.25  # how often the store's version is checked: updates lag at most this
EPOCH_SECONDS = 2.0
HEARTBEAT_SECONDS = 20.0
NO_SHOW_SECONDS = 60.0
PUSH_PAUSE = 2.0  # after a push, a pause this many times as long as it took
PUSH_BATCH = 250  # standings queued before the loop lets the sockets write them


class Lobby:
    def __init__(
        self,
        notifier: Notifier,
        store: RoomStore,
        visits: Visits,
        town: Town,
        *,
        metrics: Metrics,
        no_show_grace_minutes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.notifier = notifier
        self.store = store
        self.visits = visits
        self.town = town
        self.metrics = metrics
        self.no_show_grace = timedelta(minutes=no_show_grace_minutes)
        self.clock = clock
        self.citizens: dict[str, CitizenLink] = {}
        self.clerks: dict[int, ClerkLink] = {}
        self.dashboards: set[str] = set()
        self.calls: dict[str, Call] = {}  # calls with a member on this node, for a rebuild
        self._names: dict[str, tuple[str, str]] = {}  # appointment -> (name, reference)
        self._dashboard_last: Any = None
        self._board = Board()
        self._fresh: set[str] = set()  # appointments whose sockets need their standing
        self._version: int | None = None
        self._epoch: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Set after a change made on this node: its updates go out at once, while
        # changes made on other nodes are noticed at the next poll.
        self._changed = asyncio.Event()

    def now(self) -> float:
        return self.clock().timestamp()

    def changed(self) -> None:
        self._changed.set()

    # -- who is here -----------------------------------------------------------------

    async def citizen_joined(self, sid: str, appointment: Appointment) -> CitizenLink:
        link = self.citizens.setdefault(
            appointment.id, CitizenLink(appointment.id, appointment.language)
        )
        link.sids.add(sid)
        self.resend(link)  # the new socket needs the current state
        await self.notifier.enter_citizen_room(sid, appointment.id)
        return link

    def resend(self, link: CitizenLink) -> None:
        """The citizen's sockets hear their standing at the next push, changed or not."""
        link.last_sent = None
        self._fresh.add(link.appointment_id)

    async def citizen_waiting(self, link: CitizenLink) -> bool:
        """Whether the citizen holds a place; it is pushed at the next poll."""
        ticket = await self.store.waiting_ticket(link.appointment_id)
        if ticket is None:
            return False
        link.ticket = ticket
        self._version = None
        return True

    def citizen_left(self, sid: str, appointment_id: str) -> bool:
        """Forget the socket; True when it was the citizen's last one here. The place
        in the queue stays: identity is the appointment, not the socket."""
        link = self.citizens.get(appointment_id)
        if link is None:
            return False
        link.sids.discard(sid)
        if link.sids:
            return False
        del self.citizens[appointment_id]
        return True

    async def clerk_joined(self, sid: str, clerk: Clerk) -> ClerkLink:
        link = self.clerks.get(clerk.id)
        if link is None:
            known = await self.store.clerk(clerk.id)
            link = self.clerks[clerk.id] = ClerkLink(
                clerk.id,
                clerk.display_name,
                # Her skills, and the queue of citizens handed to her by name.
                frozenset(s.skill for s in clerk.skills) | {rules.personal_queue(clerk.id)},
                known.state if known else ClerkState.AVAILABLE,
            )
        link.sids.add(sid)
        link.last_sent = None
        await self.notifier.enter_clerk_room(sid, clerk.id)
        return link

    def clerk_left(self, sid: str, clerk_id: int) -> ClerkLink | None:
        """Forget the socket; the clerk's link when it was her last one here."""
        link = self.clerks.get(clerk_id)
        if link is None:
            return None
        link.sids.discard(sid)
        return None if link.sids else link

    async def clerk_gone(self, link: ClerkLink) -> None:
        """Her presence goes; citizens handed to her by name go back, first, to the
        queues of their services (kept from before: appointment time, check-in)."""
        if self.clerks.get(link.clerk_id) is link:
            del self.clerks[link.clerk_id]
            await self.store.remove_clerk(link.clerk_id)
            for ticket in await self.store.waiting([rules.personal_queue(link.clerk_id)]):
                service = self.town.service(ticket.service_id)
                if service is not None and await self.store.leave(ticket.appointment_id):
                    await self.store.check_in(replace(ticket, skill=service.skill))
            self.changed()

    async def publish(self, link: ClerkLink, state: ClerkState) -> None:
        """The clerk's state, here and in the store (for every node and dashboard)."""
        link.state = state
        await self.store.set_clerk(link.presence(self.now()))
        self.changed()

    async def dashboard_joined(self, sid: str) -> None:
        self.dashboards.add(sid)
        await self.notifier.enter_dashboards(sid)
        self._dashboard_last = None
        self._version = None

    def dashboard_left(self, sid: str) -> None:
        self.dashboards.discard(sid)

    # -- names for the console ---------------------------------------------------------

    async def _load_names(self, appointment_ids: list[str]) -> None:
        """Fetch names and references of the given appointments not cached yet (one query)."""
        missing = [i for i in appointment_ids if i not in self._names]
        if missing:
            self._names.update(await self.visits.names(missing))

    async def name_of(self, appointment_id: str) -> tuple[str, str]:
        await self._load_names([appointment_id])
        return self._names.get(appointment_id, ("", ""))

    # -- pushing updates ---------------------------------------------------------------

    async def push_updates(self) -> None:
        """Tell this node's sockets what changed for them, and nothing else. Every node
        pushes to its own sockets, so nothing travels through the Redis manager."""
        fresh, self._fresh = self._fresh, set()
        waiting = await self.store.waiting()
        changed = self._board.update(waiting, rules.on_duty(await self.store.clerks()))
        if changed is None:
            due = list(self.citizens.values())
        else:  # only new tickets at the end: they, and sockets that need a resend
            due = [self.citizens[i] for i in fresh.union(changed) if i in self.citizens]
        standings = self._board.standings
        in_calls = {c.appointment_id for c in self.calls.values()}
        for gone in [i for i in self._names if i not in standings and i not in in_calls]:
            del self._names[gone]  # personal data: kept no longer than needed
        try:
            await self._push_standings(due, standings)
        except BaseException:
            self._board = Board()  # what did not go out goes with the next full pass
            raise
        for clerk in list(self.clerks.values()):
            first = rules.first_for_skills(waiting, clerk.skills)
            total = self._board.count(clerk.skills)
            await self._push_clerk_queue(clerk, first, total, len(waiting) - total)
        if self.dashboards:
            await self._push_dashboard(waiting)

    async def _push_standings(
        self, links: list[CitizenLink], standings: dict[str, rules.Standing]
    ) -> None:
        sent = 0
        for link in links:
            standing = standings.get(link.appointment_id)
            if standing is None or standing == link.last_sent:
                continue
            link.last_sent = standing
            await self.notifier.sockets(link.sids, CITIZEN_NS, QueueStanding.of(standing))
            sent += 1
            if sent % PUSH_BATCH == 0:
                # Queuing does not yield: let the sockets write this batch (and other
                # commands, a clerk's take among them, be answered) before the next.
                await asyncio.sleep(0)

    async def _push_clerk_queue(
        self, link: ClerkLink, first: list[Ticket], total: int, others: int
    ) -> None:
        await self._load_names([t.appointment_id for t in first])
        update = views.clerk_queue(self.town, first, total, others, self._names)
        if update == link.last_sent:
            return
        link.last_sent = update
        await self.notifier.clerk(link.clerk_id, update)
        for entry in update.waiting:
            if entry["appointment_id"] not in link.seen_waiting:
                arrived = CitizenArrived(entry["appointment_id"], entry["service_name"])
                await self.notifier.clerk(link.clerk_id, arrived)
        link.seen_waiting = frozenset(str(e["appointment_id"]) for e in update.waiting)

    async def _push_dashboard(self, waiting: list[Ticket]) -> None:
        clerks, calls = await self.store.clerks(), await self.store.calls()
        snapshot = views.dashboard(self.town, waiting, clerks, calls)
        if snapshot != self._dashboard_last:
            self._dashboard_last = snapshot
            await self.notifier.dashboards(snapshot)

    async def push_day(self, clerk_id: int) -> Sequence[DayEntry]:
        """The day's appointments for the clerk console (from the database), of the
        services her skills cover; returns what it sent."""
        link = self.clerks.get(clerk_id)
        if link is None:
            return ()  # no socket of hers on this node
        day = await self.visits.day(link.skills)
        await self.notifier.clerk(clerk_id, views.day_list(self.town, day))
        return day

    # -- keeping the shared state alive ------------------------------------------------

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
                    started = loop.time()
                    await self.push_updates()
                    # Pushing takes a third of the time at most: in a burst of
                    # check-ins the changes made meanwhile go out together, in one
                    # pass over the waiting room instead of one pass each.
                    await asyncio.sleep(PUSH_PAUSE * (loop.time() - started))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lobby watch failed; retrying")
            self._changed.clear()
            await woken(self._changed, POLL_SECONDS)

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
        await wakeups.stop(tasks)
        self._tasks = []
