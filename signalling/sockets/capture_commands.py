"""The socket commands of the ID capture: parsed here, run by the capture desk.

The citizen's browser sends ``capture_offer`` (a receive-only offer for the server,
made after its ICE gathering completed) and gets the answer in the ack; the clerk
sends ``capture_take``, ``capture_auto`` and ``capture_stop``, and a console that
reloaded or reconnected asks ``verification_captures``. What they do, and what
the citizen and the clerk are told meanwhile (``capture_guidance``,
``capture_prompt``, ``capture_taken``, ``capture_analysed``), is the desk's
(:mod:`media.capture_desk`); this module validates the payloads, finds the call,
routes the clerk's commands to the node that holds the capture session
(:mod:`signalling.sockets.capture_routing`) and gives the desk its port to the call.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

from common.i18n import SOURCE_LANGUAGE
from common.outgoing import Outgoing
from media.capture_desk import CaptureDesk
from office.verification import CaptureKind
from signalling.node_bus import NodeBus
from signalling.sockets.calls import Calls
from signalling.sockets.capture_routing import CaptureOwners, CaptureRouter
from signalling.sockets.namespaces import CitizenNamespace, ClerkNamespace
from signalling.sockets.protocol import MAX_SDP, Empty, Payload


class Offer(Payload):
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP)]
    # The page's language: the guidance comes in it (German without a catalogue for it).
    lang: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = SOURCE_LANGUAGE


class Take(Payload):
    kind: CaptureKind
    german_id: bool = False  # the front of a German ID card: black out the CAN


class CallPort:
    """The desk's way to the call: who serves the citizen, and telling either of them,
    on whichever node their sockets are."""

    def __init__(self, calls: Calls) -> None:
        self._calls = calls

    async def clerk_serving(self, appointment_id: str) -> int | None:
        return await self._calls.store.clerk_serving(appointment_id)

    async def tell_citizen(self, appointment_id: str, event: Outgoing) -> None:
        await self._calls.notifier.citizen(appointment_id, event)

    async def tell_clerk(self, clerk_id: int, event: Outgoing) -> None:
        await self._calls.notifier.clerk(clerk_id, event)


def register_capture(
    desk: CaptureDesk,
    citizens: CitizenNamespace,
    clerks: ClerkNamespace,
    calls: Calls,
    owners: CaptureOwners | None = None,
    bus: NodeBus | None = None,
) -> None:
    """Without ``owners`` and ``bus`` (one process) every command runs where it arrives."""

    async def offer(sid: str, payload: Offer) -> Any:
        appointment_id: str = citizens.members[sid]
        await calls.clerk_serving(appointment_id)  # NotInCall when in none
        answer = await desk.offer(appointment_id, payload.sdp, payload.lang)
        return {"type": "answer", "sdp": answer}

    async def take(clerk_id: int, appointment_id: str, payload: Take) -> Any:
        return await desk.take(clerk_id, appointment_id, payload.kind, payload.german_id)

    async def arm(clerk_id: int, appointment_id: str, payload: Take) -> Any:
        return await desk.arm(clerk_id, appointment_id, payload.kind, payload.german_id)

    async def stop(_clerk_id: int, appointment_id: str, _: Empty) -> Any:
        return await desk.stop(appointment_id)

    async def shown(sid: str, _: Empty) -> Any:
        # Answered here, from the database, not routed to the node that holds the
        # capture peer: every node records its captures and readings there (a photo
        # may be uploaded to a third node), and the owner is gone once the peer closed
        # (the citizen's page reloaded, capture_stop) or its node died, while what the
        # console was shown must still come back.
        clerk_id, appointment_id = await clerks.in_call(sid)
        return await desk.shown(clerk_id, appointment_id)

    router = CaptureRouter(clerks.in_call, owners, bus)
    clerks.command("verification_captures", Empty, shown)
    citizens.command("capture_offer", Offer, offer)
    clerks.command("capture_take", Take, router.command("capture_take", Take, take))
    clerks.command("capture_auto", Take, router.command("capture_auto", Take, arm))
    clerks.command("capture_stop", Empty, router.command("capture_stop", Empty, stop))
