"""Socket commands for capturing the ID document through the server's own peer.

The citizen's browser sends ``capture_offer`` (a receive-only offer for the server,
made after its ICE gathering completed) and gets the answer in the ack. The clerk's
``capture_take`` grabs the newest frame of that peer, analyses it in an executor
(never on the event loop), marks it as a copy, encrypts and stores it, and answers
with the analysis and a short-lived link to view it.

The capture peer lives in the process that holds the citizen's socket; this version
expects the clerk's socket in the same process (one node, or sticky routing of a
call's two members). Routing ``capture_take`` to another node is not built yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from media.capture import CaptureRegistry, CloseReason
from media.copies import Image
from media.vault import CaptureVault
from office.errors import Conflict
from office.staff import Staff
from office.verification import Verifications
from rooms.errors import NotInCall
from signalling.realtime.lobby import Lobby
from signalling.realtime.namespaces import CitizenNamespace, ClerkNamespace
from signalling.realtime.protocol import MAX_SDP, Empty, Payload

log = logging.getLogger(__name__)

Analyser = Callable[[Image], dict[str, Any]]


class Offer(Payload):
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP)]


class Take(Payload):
    kind: Literal["front", "back", "face", "tilt_a", "tilt_b"]
    german_id: bool = False  # the front of a German ID card: black out the CAN


def register_capture(
    citizens: CitizenNamespace,
    clerks: ClerkNamespace,
    lobby: Lobby,
    checks: Verifications,
    registry: CaptureRegistry,
    vault: CaptureVault,
    staff: Staff,
    analyse: Analyser | None = None,
) -> None:
    store = lobby.store

    async def offer(sid: str, payload: Offer) -> Any:
        appointment_id: str = citizens.members[sid]
        if await store.route(appointment_id, None) is None:
            raise NotInCall()
        if await checks.current(appointment_id) is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        _session, answer = await registry.open(appointment_id, payload.sdp)
        return {"type": "answer", "sdp": answer}

    async def take(sid: str, payload: Take) -> Any:
        clerk_id: int = clerks.members[sid]
        route = await store.route(None, clerk_id)
        if route is None or route.peer_appointment is None:
            raise NotInCall()
        verification_id = await checks.current(route.peer_appointment)
        if verification_id is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        session = registry.get(route.peer_appointment)
        frame = session.latest_frame() if session is not None else None
        if frame is None:
            raise Conflict("Von der Kamera der Person kommt noch kein Bild.")
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(None, analyse, frame) if analyse else {}
        stored = await vault.store(
            verification_id, payload.kind, frame, german_id_front=payload.german_id
        )
        viewer = await staff.get(clerk_id)
        return {
            "capture_id": stored.capture_id,
            "kind": stored.kind,
            "view_url": f"/erfassungen/{await vault.link(stored.capture_id, viewer)}",
            "width": int(frame.shape[1]),
            "height": int(frame.shape[0]),
            "analysis": analysis,
        }

    async def stop(sid: str, _: Empty) -> Any:
        clerk_id: int = clerks.members[sid]
        route = await store.route(None, clerk_id)
        if route is None or route.peer_appointment is None:
            raise NotInCall()
        return {"closed": await registry.close(route.peer_appointment, CloseReason.DONE)}

    citizens.command("capture_offer", Offer, offer)
    clerks.command("capture_take", Take, take)
    clerks.command("capture_stop", Empty, stop)
