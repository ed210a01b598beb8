"""An interpreter or companion in a call (``office/guests.py`` keeps the invitations).

The guest is a third member of the call: sockets in the ``/guest`` namespace, in the
call's room ``call:<id>:guest`` (``managers.py``). Each pair of the three has its own
WebRTC connection, negotiated over addressed relays (``to``), the guest yielding
towards both others. A guest's namespace has the relays and nothing else: no chat,
no identity check, no captures, no cases. Their session ends with the call (the call's
end closes the room and tells them first) or when the clerk removes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from office.booking_request import parse_email
from office.errors import GuestLinkInvalid, InvalidInput
from office.guests import Guest, Guests
from rooms.errors import NotInCall
from rooms.state import Call
from signalling.sockets.calls import Calls
from signalling.sockets.managers import Side

if TYPE_CHECKING:  # the namespaces module builds on this one
    from signalling.sockets.namespaces import ClerkNamespace
from signalling.sockets.protocol import (
    GUEST_NS,
    CallEnded,
    Empty,
    GuestCall,
    GuestInvite,
    PeerJoined,
    PeerLeft,
)

OTHERS: tuple[Side, Side] = ("citizen", "clerk")


class CallGuests:
    def __init__(self, calls: Calls, guests: Guests) -> None:
        self.calls = calls
        self.guests = guests
        self.notifier = calls.notifier
        self.store = calls.store
        self._here: dict[str, set[str]] = {}  # guest id -> this node's sockets of the guest

    # -- the clerk -----------------------------------------------------------------------

    async def _clerk_call(self, clerk_id: int) -> Call:
        call = await self.store.call_of_clerk(clerk_id)
        if call is None:
            raise NotInCall()
        return call

    async def invite(self, clerk_id: int, payload: GuestInvite) -> dict[str, Any]:
        email = None
        if payload.email:
            email, problem = parse_email(payload.email)
            if problem:
                raise InvalidInput({"email": problem}, problem)
        call = await self._clerk_call(clerk_id)
        invitation = await self.guests.invite(
            call.appointment_id, call.call_id, clerk_id, payload.kind, email
        )
        return {
            "link": invitation.link,
            "expires_at": invitation.expires_at,
            "mailed": email is not None,
        }

    async def remove(self, clerk_id: int) -> dict[str, Any]:
        """The guest's session ends, their sockets hear why and leave the call's room,
        and the two others close their connections to them."""
        call = await self._clerk_call(clerk_id)
        removed = await self.guests.remove(call.call_id, clerk_id)
        await self.notifier.in_call(call.call_id, "guest", CallEnded("guest_removed"))
        await self.notifier.close_side(call.call_id, "guest")
        for side in OTHERS:
            await self.notifier.in_call(call.call_id, side, PeerLeft("guest"))
        return {"removed": removed}

    def register(self, clerks: ClerkNamespace) -> CallGuests:
        """The clerk's commands for a guest of her call."""

        async def invite(sid: str, payload: GuestInvite) -> Any:
            return await self.invite(clerks.members[sid], payload)

        async def remove(sid: str, _: Empty) -> Any:
            return await self.remove(clerks.members[sid])

        clerks.command("guest_invite", GuestInvite, invite)
        clerks.command("guest_remove", Empty, remove)
        return self

    # -- the guest -----------------------------------------------------------------------

    async def connected(self, sid: str, guest: Guest, connection: str) -> None:
        """Admit the guest's socket into its call, if that call is still running; the
        guest hears how to connect before the others hear of them. ``connection``
        names this page of the guest in everything it relays, so the others can tell
        a first offer of a page they have not heard of yet (their news that the guest
        arrived may come second) from a page that replaced it."""
        call = await self.store.call_of_appointment(guest.appointment_id)
        if call is None or call.call_id != guest.call_id:
            raise GuestLinkInvalid()
        self._here.setdefault(guest.id, set()).add(sid)
        await self.notifier.enter_call(sid, call.call_id, "guest")
        admitted = GuestCall(
            call.call_id,
            self.calls.ice.servers(f"g-{guest.id[:8]}", self.calls.now()),
            self.calls.ice.transport_policy,
            guest.kind,
            await self.calls.clerk_name(call.clerk_id),
        )
        await self.notifier.socket(sid, GUEST_NS, admitted)
        for side in OTHERS:
            await self.notifier.in_call(
                call.call_id, side, PeerJoined("guest", guest.kind, connection)
            )

    async def disconnected(self, sid: str, guest: Guest) -> None:
        sockets = self._here.get(guest.id, set())
        sockets.discard(sid)
        if sockets:
            return  # a reload whose new socket came first
        self._here.pop(guest.id, None)
        for side in OTHERS:
            await self.notifier.in_call(guest.call_id, side, PeerLeft("guest"))
