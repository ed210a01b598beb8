"""Socket commands for capturing the ID document through the server's own peer.

The citizen's browser sends ``capture_offer`` (a receive-only offer for the server,
made after its ICE gathering completed) and gets the answer in the ack. The clerk's
``capture_take`` takes the sharpest of that peer's last few frames, finds and flattens the document
in an executor (never on the event loop), marks it as a copy, encrypts and stores
it, and answers with the quality verdict and a short-lived link to view it. The MRZ
is read afterwards and pushed as ``capture_analysed``; it counts as read once two
captures of the same check agree.

The clerk can also arm an automatic capture (``capture_auto``), as banking apps do:
the citizen is told what to show, and the guidance loop, which looks at about two
frames a second anyway, keeps the first frame that passes. The tilt sequence for
holograms is two captures, ``tilt_a`` and ``tilt_b``, that count only when the
outline shows the card turned one way and then the other.

The capture peer lives in the process that answered the citizen's ``capture_offer``.
The clerk's commands (``capture_take``, ``capture_auto``, ``capture_stop``) run there
whichever node holds the clerk's socket: with Redis, the owner node is recorded per
appointment and a command arriving elsewhere is forwarded to it
(:mod:`signalling.sockets.capture_routing`). The public methods below do the local
work; what they push to the clerk goes to her socket.io room, on whichever node.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from pydantic import StringConstraints

from common.i18n import N_, SOURCE_LANGUAGE, catalogue
from media.capture_peer import CaptureSession, CloseReason
from media.capture_registry import CaptureRegistry
from media.capture_rules import TILT_KINDS, best_recent_frame, glance, may_take
from media.copies import Image
from media.mrz_names import compare_with_mrz
from media.vault import DOCUMENT_KINDS, CaptureVault
from media.vision.analysis import DocumentAnalysis, MrzConsensus, analyse
from media.vision.face import Box, find_live_face
from media.vision.tilt import Tilt, tilt_of
from office.errors import Conflict
from office.staff import Staff
from office.verification import CaptureKind, Verifications
from office.visits import Visits
from rooms.errors import NotInCall
from signalling.metrics import Metrics
from signalling.node_bus import NodeBus
from signalling.sockets.calls import Calls
from signalling.sockets.capture_routing import CaptureOwners, CaptureRouter
from signalling.sockets.namespaces import CitizenNamespace, ClerkNamespace
from signalling.sockets.protocol import (
    MAX_SDP,
    CaptureAnalysed,
    CaptureGuidance,
    CapturePrompt,
    CaptureTaken,
    Empty,
    Payload,
)

log = logging.getLogger(__name__)
MRZ_FAILED = "Die maschinenlesbare Zone konnte nicht gelesen werden."
GUIDANCE_SECONDS = 0.5  # about two analysed frames a second, as the issue asks
HINT_FACE = N_("Bitte ohne Ausweis direkt in die Kamera schauen")
# Every fourth look (about every two seconds) the guidance loop also checks that the
# call and the check still run: a session must not outlive them.
LOOKS_PER_STATE_CHECK = 4


class Offer(Payload):
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP)]
    # The page's language: the guidance comes in it (German without a catalogue for it).
    lang: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = SOURCE_LANGUAGE


class Take(Payload):
    kind: CaptureKind
    german_id: bool = False  # the front of a German ID card: black out the CAN


@dataclass(frozen=True)
class Armed:
    """An automatic capture the clerk asked for, waiting for a frame that passes."""

    clerk_id: int
    kind: CaptureKind
    german_id: bool


def register_capture(
    citizens: CitizenNamespace,
    clerks: ClerkNamespace,
    calls: Calls,
    visits: Visits,
    checks: Verifications,
    registry: CaptureRegistry,
    vault: CaptureVault,
    staff: Staff,
    metrics: Metrics,
    owners: CaptureOwners | None = None,
    bus: NodeBus | None = None,
) -> CaptureCommands:
    """Without ``owners`` and ``bus`` (one process) every command runs where it arrives."""
    commands = CaptureCommands(
        calls, visits, checks, registry, vault, staff, citizens, metrics, owners
    )
    router = CaptureRouter(clerks.in_call, owners, bus)
    citizens.command("capture_offer", Offer, commands.offer)
    clerks.command("capture_take", Take, router.command("capture_take", Take, commands.take))
    clerks.command("capture_auto", Take, router.command("capture_auto", Take, commands.arm))
    clerks.command("capture_stop", Empty, router.command("capture_stop", Empty, commands.stop))
    return commands


class CaptureCommands:
    """The capture commands of one process, and what they remember per check."""

    def __init__(
        self,
        calls: Calls,
        visits: Visits,
        checks: Verifications,
        registry: CaptureRegistry,
        vault: CaptureVault,
        staff: Staff,
        citizens: CitizenNamespace,
        metrics: Metrics,
        owners: CaptureOwners | None = None,
    ) -> None:
        self._calls = calls
        self._notifier = calls.notifier
        self._visits = visits
        self._metrics = metrics
        self._checks = checks
        self._registry = registry
        self._vault = vault
        self._staff = staff
        self._citizens = citizens
        self._owners = owners  # with Redis: where other nodes find this node's sessions
        # Per verification: an MRZ counts only when two captures read the same valid
        # lines; the tilt sequence's second angle must turn the other way than the first.
        self._consensus: dict[str, MrzConsensus] = {}
        self._first_tilt: dict[str, Tilt] = {}
        self._reading: set[asyncio.Task[None]] = set()
        self._guiding: dict[str, asyncio.Task[None]] = {}
        self._armed: dict[str, Armed] = {}  # per appointment
        # Guidance is a courtesy: all sessions share one thread for it, so however many
        # cameras are connected it takes at most one core's worth of turns (GIL-bound
        # numpy and OpenCV), and captures, decoding and signalling keep the rest. Under
        # load each session simply gets fewer looks a second.
        self._guidance_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guidance")

    def close(self) -> None:
        """Let the guidance thread go (the sessions' loops have ended at shutdown)."""
        self._guidance_pool.shutdown(wait=False, cancel_futures=True)

    # -- the citizen's capture peer --------------------------------------------------

    async def offer(self, sid: str, payload: Offer) -> Any:
        appointment_id: str = self._citizens.members[sid]
        await self._calls.clerk_serving(appointment_id)  # NotInCall when in none
        if await self._checks.current(appointment_id) is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        session, answer = await self._registry.open(appointment_id, payload.sdp)
        if self._owners is not None:
            await self._owners.claim(session)
        if (previous := self._guiding.pop(appointment_id, None)) is not None:
            previous.cancel()
        task = asyncio.create_task(
            self._guide(appointment_id, session, payload.lang), name=f"guide-{appointment_id}"
        )
        self._guiding[appointment_id] = task
        task.add_done_callback(lambda done: _forget(self._guiding, appointment_id, done))
        return {"type": "answer", "sdp": answer}

    async def _guide(self, appointment_id: str, session: CaptureSession, lang: str) -> None:
        """Tell the citizen, about twice a second and in ``lang``, what the camera shows
        of the document ("Bitte näher an die Kamera", glare …), and take an armed
        capture when a frame passes, while the capture peer runs."""
        last: CaptureGuidance | None = None
        verification_id = await self._checks.current(appointment_id)
        looks = 0
        while not session.closed:
            looks += 1
            if looks % LOOKS_PER_STATE_CHECK == 0:
                ended = await self._ended(appointment_id, verification_id)
                if ended is not None:
                    await session.close(ended)
                    break
            last = await self._look(appointment_id, session, last, lang)
            await asyncio.sleep(GUIDANCE_SECONDS)
        if verification_id is not None and await self._ended(appointment_id, verification_id):
            # The check is over: what this process remembered of it goes too.
            self._consensus.pop(verification_id, None)
            self._first_tilt.pop(verification_id, None)

    async def _ended(self, appointment_id: str, verification_id: str | None) -> CloseReason | None:
        """Why this session should not go on, though its browser still sends: the call
        ended or the check finished (the browser's own close may never come)."""
        try:
            await self._calls.clerk_serving(appointment_id)
        except NotInCall:
            return CloseReason.CALL_ENDED
        if await self._checks.current(appointment_id) != verification_id:
            return CloseReason.DONE
        return None

    async def _look(
        self,
        appointment_id: str,
        session: CaptureSession,
        last: CaptureGuidance | None,
        lang: str,
    ) -> CaptureGuidance | None:
        """One look at the newest frame: guidance for the citizen when it changed, and
        the armed capture when the frame passes. Returns the guidance now shown."""
        loop = asyncio.get_running_loop()
        looking = self._guidance_pool
        frame = await loop.run_in_executor(looking, session.latest_frame)
        if frame is None:
            return last
        armed = self._armed.get(appointment_id)
        if armed is not None and armed.kind == "face":
            box = await loop.run_in_executor(looking, find_live_face, frame)
            advice = _face_advice(box is not None)
            if box is not None:
                await self._take_armed(appointment_id, armed, frame, None, face=box)
        else:
            quick = await loop.run_in_executor(looking, glance, frame)
            advice = CaptureGuidance(quick.found, quick.quality.verdict, list(quick.quality.hints))
            if armed is not None and may_take(armed.kind, quick):
                await self._take_armed(appointment_id, armed, frame, quick)
        advice = _in_language(advice, lang)
        if advice != last:
            await self._notifier.citizen(appointment_id, advice)
        return advice

    async def _take_armed(
        self,
        appointment_id: str,
        armed: Armed,
        frame: Image,
        quick: DocumentAnalysis | None,
        face: Box | None = None,
    ) -> None:
        if self._armed.get(appointment_id) is not armed:
            return  # disarmed or re-armed while the frame was analysed
        try:
            shot = await self.keep(
                armed.clerk_id,
                appointment_id,
                armed.kind,
                armed.german_id,
                frame,
                quick,
                face=face,
            )
        except Conflict:
            return  # not this frame (a tilt the wrong way, the card half out): keep looking
        if self._armed.get(appointment_id) is armed:
            del self._armed[appointment_id]
        await self._notifier.clerk(armed.clerk_id, CaptureTaken(shot, source="auto"))
        await self._notifier.citizen(appointment_id, CapturePrompt(None, taken=armed.kind))

    # -- the clerk's commands -------------------------------------------------------

    async def take(self, clerk_id: int, appointment_id: str, payload: Take) -> Any:
        if await self._checks.current(appointment_id) is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        session = self._registry.get(appointment_id)
        loop = asyncio.get_running_loop()
        frame = None
        if session is not None:
            frame = await loop.run_in_executor(None, best_recent_frame, session)
        if frame is None:
            raise Conflict("Von der Kamera der Person kommt noch kein Bild.")
        armed = self._armed.get(appointment_id)
        if armed is not None and armed.kind == payload.kind:
            del self._armed[appointment_id]  # taken by hand before a frame passed
        return await self.keep(clerk_id, appointment_id, payload.kind, payload.german_id, frame)

    async def arm(self, clerk_id: int, appointment_id: str, payload: Take) -> Any:
        """Capture ``kind`` automatically from the first frame that passes; the citizen
        is asked to show it. A new request replaces the waiting one."""
        if await self._checks.current(appointment_id) is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        if self._registry.get(appointment_id) is None:
            raise Conflict("Die Kamera der Person ist für die Aufnahme noch nicht verbunden.")
        self._armed[appointment_id] = Armed(clerk_id, payload.kind, payload.german_id)
        await self._notifier.citizen(appointment_id, CapturePrompt(payload.kind))
        return {"armed": payload.kind}

    async def stop(self, clerk_id: int, appointment_id: str, _: Empty) -> Any:
        self._armed.pop(appointment_id, None)
        return {"closed": await self._registry.close(appointment_id, CloseReason.DONE)}

    # -- keeping a capture ------------------------------------------------------------

    async def keep(
        self,
        clerk_id: int,
        appointment_id: str,
        kind: CaptureKind,
        german_id: bool,
        frame: Image,
        quick: DocumentAnalysis | None = None,
        *,
        face: Box | None = None,
        detail: bool = False,
    ) -> dict[str, Any]:
        """Check, mark as a copy, encrypt and store one capture taken in this process;
        the MRZ of a document follows as ``capture_analysed``. ``quick`` and ``face``:
        what was already found on this frame (the guidance looked at it). ``detail``: a
        full-resolution photo, flattened at its own resolution."""
        verification_id = await self._checks.current(appointment_id)
        if verification_id is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        loop = asyncio.get_running_loop()
        details: dict[str, Any] = {}
        if kind == "face":
            box = face or await loop.run_in_executor(None, find_live_face, frame)
            if box is None:
                raise Conflict("Kein Gesicht im Bild. Bitte direkt in die Kamera schauen.")
            details["face"] = list(box)
            image = frame
            flattened = False
        else:
            if quick is None:
                # Outline, flattening and quality first (tens of ms); the MRZ follows.
                quick = await loop.run_in_executor(
                    None, partial(analyse, frame, read_mrz=False, detail=detail)
                )
            if quick.warped is None and (german_id or self._vault.needs_flat_document(kind)):
                # Without the document's outline neither the CAN nor the document number
                # can be found: no copy may be kept.
                raise Conflict("Der Ausweis ist nicht ganz im Bild. Bitte noch einmal aufnehmen.")
            if kind in TILT_KINDS:
                details["tilt"] = self._check_tilt(verification_id, kind, quick).to_json()
            image = quick.warped if quick.warped is not None else frame
            flattened = quick.warped is not None
            details["analysis"] = quick.to_json()
        stored = await self._vault.store(verification_id, kind, image, german_id_front=german_id)
        if kind in DOCUMENT_KINDS and quick is not None and quick.found:
            task = asyncio.create_task(
                self._read_mrz(
                    clerk_id, appointment_id, verification_id, stored.capture_id, frame, quick
                )
            )
            self._reading.add(task)
            task.add_done_callback(self._reading.discard)
        viewer = await self._staff.get(clerk_id)
        return {
            "capture_id": stored.capture_id,
            "kind": stored.kind,
            "view_url": f"/erfassungen/{await self._vault.link(stored.capture_id, viewer)}",
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
            "flattened": flattened,
            **details,
        }

    def _check_tilt(self, verification_id: str, kind: str, quick: DocumentAnalysis) -> Tilt:
        if quick.quad is None or quick.quad_source != "outline":
            raise Conflict("Der Ausweis ist nicht ganz im Bild. Bitte noch einmal aufnehmen.")
        tilt = tilt_of(quick.quad)
        if kind == "tilt_a":
            if not tilt.tilted:
                raise Conflict("Der Ausweis ist kaum gekippt. Bitte etwas stärker kippen.")
            self._first_tilt[verification_id] = tilt
            return tilt
        first = self._first_tilt.get(verification_id)
        if first is None:
            raise Conflict("Bitte zuerst die erste Kippbewegung aufnehmen.")
        if not tilt.opposite_of(first):
            raise Conflict("Bitte den Ausweis in die andere Richtung kippen.")
        return tilt

    async def _read_mrz(
        self,
        clerk_id: int,
        appointment_id: str,
        verification_id: str,
        capture_id: str,
        frame: Image,
        quick: DocumentAnalysis,
    ) -> None:
        """The slow part, after the clerk already has the capture and its verdict; the
        outlines the quick look found on this frame are not searched for again. If the
        reading fails, the clerk is told so (the side is to be taken again), not left
        waiting for it."""
        loop = asyncio.get_running_loop()
        try:
            full = await loop.run_in_executor(
                None, partial(analyse, frame, outlines=quick.outlines)
            )
        except Exception:
            log.exception("MRZ reading of capture %s failed", capture_id)
            failed = {**quick.to_json(), "mrz": {"read_lines": [], "error": MRZ_FAILED}}
            await self._notifier.clerk(
                clerk_id, CaptureAnalysed(capture_id, failed, False, None, None)
            )
            return
        self._metrics.observe_analysis(full.timings_ms)
        consensus = self._consensus.setdefault(verification_id, MrzConsensus())
        agreed = consensus.offer(full.mrz_result)
        name_check = expired = None
        if agreed is not None:
            # A suggestion for the clerk's "name matches the booking" step.
            booked = await self._visits.names([appointment_id])
            name, _reference = booked.get(appointment_id, ("", ""))
            name_check = compare_with_mrz(name, agreed).to_json()
            today = self._visits.now().astimezone(self._visits.office.town.tz).date()
            expired = agreed.expired(today)
        analysed = CaptureAnalysed(
            capture_id,
            full.to_json(),
            mrz_accepted=agreed is not None,
            mrz_fields=agreed.fields() if agreed else None,
            name_check=name_check,
            mrz_expired=expired,
        )
        await self._notifier.clerk(clerk_id, analysed)


def _face_advice(found: bool) -> CaptureGuidance:
    if found:
        return CaptureGuidance(True, "ok")
    return CaptureGuidance(False, "no_face", [HINT_FACE])


def _in_language(advice: CaptureGuidance, lang: str) -> CaptureGuidance:
    """The hints (German, as the vision code writes them) in the citizen's language."""
    messages = catalogue(lang)
    return CaptureGuidance(
        advice.found, advice.verdict, [messages.gettext(h) for h in advice.hints]
    )


def _forget(tasks: dict[str, asyncio.Task[None]], key: str, done: asyncio.Task[None]) -> None:
    if tasks.get(key) is done:
        del tasks[key]
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.error("capture guidance for %s failed: %r", key, exc)
