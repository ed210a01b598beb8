"""Socket commands for capturing the ID document through the server's own peer.

The citizen's browser sends ``capture_offer`` (a receive-only offer for the server,
made after its ICE gathering completed) and gets the answer in the ack. The clerk's
``capture_take`` takes the sharpest of that peer's last few frames, finds and flattens the document
in an executor (never on the event loop), marks it as a copy, encrypts and stores
it, and answers with the quality verdict and a short-lived link to view it. The MRZ
is read afterwards and pushed as ``capture_analysed``; it counts as read once two
captures of the same check agree.

The capture peer lives in the process that holds the citizen's socket; this version
expects the clerk's socket in the same process (one node, or sticky routing of a
call's two members). Routing ``capture_take`` to another node is not built yet.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from media.capture import CaptureRegistry, CaptureSession, CloseReason
from media.copies import Image
from media.mrz import MrzResult
from media.vault import CaptureVault
from media.vision.analysis import MrzConsensus, analyse
from media.vision.best import sharpest
from office.errors import Conflict
from office.staff import Staff
from office.verification import Verifications
from rooms.errors import NotInCall
from signalling.realtime.lobby import CITIZEN_NS, CLERK_NS, Lobby, citizen_room, clerk_room
from signalling.realtime.namespaces import CitizenNamespace, ClerkNamespace
from signalling.realtime.protocol import MAX_SDP, Empty, Payload

log = logging.getLogger(__name__)
GUIDANCE_SECONDS = 0.5  # about two analysed frames a second, as the issue asks


def best_recent_frame(session: CaptureSession) -> Image | None:
    """The sharpest frame of about the last second (run it in an executor)."""
    frames = session.recent_frames()
    return sharpest(frames) if frames else None


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
) -> None:
    store = lobby.store
    # Per verification: an MRZ counts only when two captures read the same valid lines.
    consensus: dict[str, MrzConsensus] = {}
    reading: set[asyncio.Task[None]] = set()
    guiding: dict[str, asyncio.Task[None]] = {}

    async def guide(appointment_id: str, session: CaptureSession) -> None:
        """Tell the citizen, about twice a second, what the camera shows of the document
        ("Bitte näher an die Kamera", glare …), while the capture peer runs."""
        loop = asyncio.get_running_loop()
        last: dict[str, Any] | None = None
        while not session.closed:
            frame = session.latest_frame()
            if frame is not None:
                quick = await loop.run_in_executor(None, partial(analyse, frame, read_mrz=False))
                quality = quick.quality
                advice = {
                    "found": quick.found,
                    "verdict": quality.verdict,
                    "hints": list(quality.hints),
                }
                if advice != last:
                    last = advice
                    await lobby.sio.emit(
                        "capture_guidance",
                        advice,
                        to=citizen_room(appointment_id),
                        namespace=CITIZEN_NS,
                    )
            await asyncio.sleep(GUIDANCE_SECONDS)

    async def offer(sid: str, payload: Offer) -> Any:
        appointment_id: str = citizens.members[sid]
        if await store.route(appointment_id, None) is None:
            raise NotInCall()
        if await checks.current(appointment_id) is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        session, answer = await registry.open(appointment_id, payload.sdp)
        if (previous := guiding.pop(appointment_id, None)) is not None:
            previous.cancel()
        task = asyncio.create_task(guide(appointment_id, session), name=f"guide-{appointment_id}")
        guiding[appointment_id] = task
        task.add_done_callback(lambda done: _forget(guiding, appointment_id, done))
        return {"type": "answer", "sdp": answer}

    async def read_mrz(clerk_id: int, verification_id: str, capture_id: str, frame: Image) -> None:
        """The slow part, after the clerk already has the capture and its verdict."""
        loop = asyncio.get_running_loop()
        try:
            full = await loop.run_in_executor(None, analyse, frame)
        except Exception:
            log.exception("MRZ reading of capture %s failed", capture_id)
            return
        agreed = consensus.setdefault(verification_id, MrzConsensus()).offer(full.mrz_result)
        await lobby.sio.emit(
            "capture_analysed",
            {
                "capture_id": capture_id,
                "analysis": full.to_json(),
                "mrz_accepted": agreed is not None,
                "mrz_fields": mrz_fields(agreed) if agreed else None,
            },
            to=clerk_room(clerk_id),
            namespace=CLERK_NS,
        )

    async def take(sid: str, payload: Take) -> Any:
        clerk_id: int = clerks.members[sid]
        route = await store.route(None, clerk_id)
        if route is None or route.peer_appointment is None:
            raise NotInCall()
        verification_id = await checks.current(route.peer_appointment)
        if verification_id is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        session = registry.get(route.peer_appointment)
        loop = asyncio.get_running_loop()
        frame = None
        if session is not None:
            frame = await loop.run_in_executor(None, best_recent_frame, session)
        if frame is None:
            raise Conflict("Von der Kamera der Person kommt noch kein Bild.")
        # Outline, flattening and quality first (tens of milliseconds); the MRZ follows.
        quick = await loop.run_in_executor(None, partial(analyse, frame, read_mrz=False))
        document = payload.kind in ("front", "back", "tilt_a", "tilt_b")
        if document and payload.german_id and quick.warped is None:
            # Without the card's outline the CAN cannot be found, so no copy may be kept.
            raise Conflict("Der Ausweis ist nicht ganz im Bild. Bitte noch einmal aufnehmen.")
        image = quick.warped if document and quick.warped is not None else frame
        stored = await vault.store(
            verification_id, payload.kind, image, german_id_front=payload.german_id
        )
        if document and quick.found:
            task = asyncio.create_task(
                read_mrz(clerk_id, verification_id, stored.capture_id, frame)
            )
            reading.add(task)
            task.add_done_callback(reading.discard)
        viewer = await staff.get(clerk_id)
        return {
            "capture_id": stored.capture_id,
            "kind": stored.kind,
            "view_url": f"/erfassungen/{await vault.link(stored.capture_id, viewer)}",
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
            "flattened": image is quick.warped,
            "analysis": quick.to_json(),
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


def _forget(tasks: dict[str, asyncio.Task[None]], key: str, done: asyncio.Task[None]) -> None:
    if tasks.get(key) is done:
        del tasks[key]
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.error("capture guidance for %s failed: %r", key, exc)


def mrz_fields(result: MrzResult) -> dict[str, Any]:
    """The accepted MRZ's fields for the console (dates as ISO strings)."""
    return {
        "document_number": result.document_number,
        "surname": result.surname,
        "given_names": result.given_names,
        "birth_date": result.birth_date.isoformat() if result.birth_date else None,
        "expiry_date": result.expiry_date.isoformat() if result.expiry_date else None,
        "nationality": result.nationality,
        "issuing_state": result.issuing_state,
    }
