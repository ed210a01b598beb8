"""The four Socket.IO namespaces: who may connect, and which commands each has.

Handlers are thin: validate (``protocol.Command``), then call the calls or the lobby.
Identity comes from the connect handshake's cookie, never from a payload.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web
from pydantic import BaseModel
from socketio.exceptions import ConnectionRefusedError as Refused

from office.appointments import Appointments
from office.errors import OfficeError
from office.models import Role as StaffRole
from office.staff import Staff
from office.tokens import Audience
from rooms.state import ClerkState
from signalling import cookies
from signalling.clients import allow
from signalling.keys import SETTINGS
from signalling.ratelimit import Limit
from signalling.sockets import protocol
from signalling.sockets.calls import Calls
from signalling.sockets.guests import CallGuests
from signalling.sockets.managers import Side
from signalling.sockets.protocol import (
    CITIZEN_NS,
    CLERK_NS,
    DASHBOARD_NS,
    GUEST_NS,
    Candidate,
    Chat,
    ClerkStateChange,
    Command,
    Description,
    Empty,
    MediaState,
    Payload,
    StateSynced,
    Take,
    TokenBucket,
    Transfer,
)
from signalling.sockets.staff_sockets import StaffSockets

log = logging.getLogger(__name__)


def refusal(code: str, message: str) -> Refused:
    """A refused connection; the client's connect_error gets ``data: {code, message}``."""
    return Refused(message, {"code": code, "message": message})


async def _check_handshake(environ: dict[str, Any], auth: Any) -> None:
    """Refuse a connection from a client that connects too often (office-wide with
    Redis: a flood spread over nodes counts as one) or speaks another version."""
    request = environ.get("aiohttp.request")
    if isinstance(request, web.Request):
        per_minute = request.app[SETTINGS].socket_connects_per_minute
        if not await allow(request, "socket", Limit(per_minute, 60)):
            raise refusal("rate_limited", "Zu viele Verbindungen. Bitte warten Sie einen Moment.")
    version = auth.get("v") if isinstance(auth, dict) else None
    if version != protocol.PROTOCOL_VERSION:
        raise refusal("protocol_version", "Bitte laden Sie die Seite neu.")


# The commands every member of a call sends to another (its ``to``), relayed as given.
RELAYED_COMMANDS: tuple[tuple[str, type[Payload]], ...] = (
    ("rtc_description", Description),
    ("rtc_candidate", Candidate),
    ("media_state", MediaState),
)


class RealtimeNamespace(socketio.AsyncNamespace):
    """Routes events to registered commands; everything else gets an error ack."""

    other_events: frozenset[str] = frozenset()  # other roles' commands: "forbidden"

    def __init__(self, namespace: str, calls: Calls) -> None:
        super().__init__(namespace)
        self.calls = calls
        self.lobby = calls.lobby
        self.notifier = calls.notifier
        self.members: dict[str, Any] = {}  # sid -> appointment id / clerk id
        self.buckets: dict[str, TokenBucket] = {}
        self.commands: dict[str, Command] = {}

    def command(
        self, event: str, model: type[BaseModel], handler: Callable[[str, Any], Awaitable[Any]]
    ) -> None:
        self.commands[event] = Command(model, handler)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        sid = args[0]
        if event in ("connect", "disconnect"):
            # python-socketio also routes a *client's* event of that name here. The real
            # ones arrive while the socket is still connecting or already leaving.
            if self.server.manager.is_connected(sid, self.namespace):
                return protocol.UNKNOWN_EVENT
            return await super().trigger_event(event, *args)
        if sid not in self.members:
            return protocol.FORBIDDEN
        if len(args) > 2:
            return protocol.INVALID_PAYLOAD
        if not self.buckets[sid].take():
            return protocol.RATE_LIMITED
        command = self.commands.get(event)
        if command is None:
            return protocol.FORBIDDEN if event in self.other_events else protocol.UNKNOWN_EVENT
        try:
            return await command(sid, args[1] if len(args) > 1 else None)
        except Exception:
            log.exception("%s %s failed", self.namespace, event)
            return protocol.error(
                "internal_error", "Interner Fehler. Bitte versuchen Sie es erneut."
            )

    def relays(self, side: Side) -> None:
        """The call's relayed commands, sent as ``side`` (``Calls.relay``)."""
        for event, model in RELAYED_COMMANDS:

            async def relay(sid: str, payload: Payload, event: str = event) -> None:
                data = {**payload.model_dump(exclude_none=True), **self.signed(sid)}
                await self.calls.relay(sid, side, event, data)

            self.command(event, model, relay)

    def signed(self, sid: str) -> dict[str, Any]:
        """What the namespace adds to every message its socket relays."""
        return {}

    def _admit(self, sid: str, member: Any) -> None:
        self.members[sid] = member
        self.buckets[sid] = TokenBucket()

    def _forget(self, sid: str) -> Any:
        self.buckets.pop(sid, None)
        return self.members.pop(sid, None)


def _chat(role: str, payload: Chat) -> dict[str, Any]:
    return {"from": role, "text": payload.text, "at": datetime.now(UTC).isoformat()}


class CitizenNamespace(RealtimeNamespace):
    def __init__(self, calls: Calls, appointments: Appointments) -> None:
        super().__init__(CITIZEN_NS, calls)
        self.appointments = appointments
        self.command("queue_join", Empty, self._join)
        self.command("queue_leave", Empty, self._leave)
        self.relays("citizen")
        self.command("chat_send", Chat, self._chat)
        self.command("chat_history", Empty, self._chat_history)
        self.command("call_hangup", Empty, self._hang_up)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await _check_handshake(environ, auth)
        try:
            appointment = await self.appointments.open_token(
                cookies.from_handshake(environ, cookies.APPOINTMENT), Audience.APPOINTMENT_SESSION
            )
        except OfficeError:
            raise refusal("not_authorised", "Bitte öffnen Sie den Link aus Ihrer E-Mail.") from None
        self._admit(sid, appointment.id)
        state = await self.calls.citizen_connected(sid, appointment)
        await self.notifier.socket(sid, self.namespace, StateSynced(state))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        appointment_id = self._forget(sid)
        if appointment_id is not None:
            await self.calls.citizen_disconnected(sid, appointment_id)

    async def _join(self, sid: str, _: Empty) -> Any:
        return await self.calls.queue_join(self.members[sid])

    async def _leave(self, sid: str, _: Empty) -> Any:
        return {"left": await self.calls.queue_leave(self.members[sid])}

    async def _chat(self, sid: str, payload: Chat) -> Any:
        message = _chat("citizen", payload)
        await self.calls.say(sid, "citizen", message)
        return message

    async def _chat_history(self, sid: str, _: Empty) -> Any:
        return await self.calls.chat_history(sid, "citizen")

    async def _hang_up(self, sid: str, _: Empty) -> None:
        await self.calls.hang_up(self.members[sid])


class ClerkNamespace(RealtimeNamespace):
    def __init__(self, calls: Calls, staff: Staff, staff_sockets: StaffSockets) -> None:
        super().__init__(CLERK_NS, calls)
        self.staff = staff
        self.staff_sockets = staff_sockets
        self.command("clerk_state", ClerkStateChange, self._state)
        self.command("queue_next", Empty, self._next)
        self.command("queue_take", Take, self._take)
        self.relays("clerk")
        self.command("chat_send", Chat, self._chat)
        self.command("chat_history", Empty, self._chat_history)
        self.command("call_end", Empty, self._end)
        self.command("call_requeue", Empty, self._requeue)
        self.command("call_transfer", Transfer, self._transfer)
        self.command("day_refresh", Empty, self._day)
        self.command("colleagues", Empty, self._colleagues)

    async def in_call(self, sid: str) -> tuple[int, str]:
        """The clerk behind this socket and the appointment of her call (from the room
        store, never from a payload); :class:`NotInCall` when she is in none."""
        clerk_id: int = self.members[sid]
        return clerk_id, await self.calls.appointment_served_by(clerk_id)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await _check_handshake(environ, auth)
        token = cookies.from_handshake(environ, cookies.STAFF)
        clerk = await self.staff.session_clerk(token)
        if clerk is None or clerk.role != StaffRole.CLERK:
            raise refusal("not_authorised", "Bitte melden Sie sich an.")
        self._admit(sid, clerk.id)
        self.staff_sockets.opened(sid, self.namespace, token, clerk)
        state = await self.calls.clerk_connected(sid, clerk)
        await self.notifier.socket(sid, self.namespace, StateSynced(state))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.staff_sockets.closed(sid)
        clerk_id = self._forget(sid)
        if clerk_id is not None:
            await self.calls.clerk_disconnected(sid, clerk_id)

    async def _state(self, sid: str, payload: ClerkStateChange) -> Any:
        return await self.calls.set_clerk_state(self.members[sid], ClerkState(payload.state))

    async def _next(self, sid: str, _: Empty) -> Any:
        return await self.calls.take(self.members[sid], None)

    async def _take(self, sid: str, payload: Take) -> Any:
        return await self.calls.take(self.members[sid], payload.appointment_id)

    async def _chat(self, sid: str, payload: Chat) -> Any:
        message = _chat("clerk", payload)
        await self.calls.say(sid, "clerk", message)
        return message

    async def _chat_history(self, sid: str, _: Empty) -> Any:
        return await self.calls.chat_history(sid, "clerk")

    async def _end(self, sid: str, _: Empty) -> Any:
        return await self.calls.finish(self.members[sid], requeue=False)

    async def _requeue(self, sid: str, _: Empty) -> Any:
        return await self.calls.finish(self.members[sid], requeue=True)

    async def _transfer(self, sid: str, payload: Transfer) -> Any:
        return await self.calls.transfer(
            self.members[sid], payload.note, skill=payload.skill, colleague=payload.clerk_id
        )

    async def _colleagues(self, sid: str, _: Empty) -> Any:
        """Who could take a citizen handed over by name: colleagues on duty."""
        on_duty = [c for c in await self.calls.store.clerks() if c.state != ClerkState.AWAY]
        return [
            {"clerk_id": c.clerk_id, "name": c.name, "state": c.state.value}
            for c in sorted(on_duty, key=lambda c: c.name)
            if c.clerk_id != self.members[sid]
        ]

    async def _day(self, sid: str, _: Empty) -> None:
        await self.lobby.push_day(self.members[sid])


class DashboardNamespace(RealtimeNamespace):
    def __init__(self, calls: Calls, staff: Staff, staff_sockets: StaffSockets) -> None:
        super().__init__(DASHBOARD_NS, calls)
        self.staff = staff
        self.staff_sockets = staff_sockets
        self.command("dashboard_refresh", Empty, self._refresh)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await _check_handshake(environ, auth)
        token = cookies.from_handshake(environ, cookies.STAFF)
        clerk = await self.staff.session_clerk(token)
        if clerk is None or clerk.role != StaffRole.ADMIN:
            raise refusal("not_authorised", "Nur für die Administration.")
        self._admit(sid, clerk.id)
        self.staff_sockets.opened(sid, self.namespace, token, clerk)
        await self.lobby.dashboard_joined(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.staff_sockets.closed(sid)
        if self._forget(sid) is not None:
            self.lobby.dashboard_left(sid)

    async def _refresh(self, sid: str, _: Empty) -> None:
        await self.lobby.dashboard_joined(sid)


class GuestNamespace(RealtimeNamespace):
    """An interpreter or companion (``guests.py``): the relays to the two others, and
    nothing else."""

    def __init__(self, calls: Calls, guests: CallGuests) -> None:
        super().__init__(GUEST_NS, calls)
        self.guests = guests
        self.connections: dict[str, str] = {}  # sid -> the page's name for the others
        self.relays("guest")

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await _check_handshake(environ, auth)
        try:
            guest = await self.guests.guests.of_session(
                cookies.from_handshake(environ, cookies.GUEST)
            )
            self._admit(sid, guest)
            self.connections[sid] = connection = secrets.token_hex(4)
            await self.guests.connected(sid, guest, connection)
        except OfficeError as refused:
            self._forget(sid)
            raise refusal("not_authorised", refused.message) from None

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        guest = self._forget(sid)
        self.connections.pop(sid, None)
        if guest is not None:
            await self.guests.disconnected(sid, guest)

    def signed(self, sid: str) -> dict[str, Any]:
        return {"connection": self.connections[sid]}


def forbid_other_roles(namespaces: list[RealtimeNamespace]) -> None:
    """Each namespace answers another role's command with ``forbidden``."""
    every = {event for ns in namespaces for event in ns.commands}
    for ns in namespaces:
        ns.other_events = frozenset(every - set(ns.commands))
