"""The capture workflow of the identity check: what may be taken, when, and what
becomes of it.

The citizen's browser offers a receive-only peer for the server; the desk has a media
worker answer it (:mod:`media.capture_workers`), then guides the citizen about twice
a second ("Bitte näher an die Kamera", glare …) from the worker's look at the newest
frame. The clerk takes a capture on demand (the sharpest frame of the last second),
or arms one that the guidance takes from the first frame that passes, as banking apps
do; the tilt sequence for holograms is two captures, ``tilt_a`` and ``tilt_b``, that
count only when the outline shows the card turned one way and then the other. A
photo uploaded over HTTP is kept the same way. The worker seals the lawful copy where
the frame is, the vault records it, and the MRZ reading follows as
``capture_analysed``; it counts once two captures of the same check agree.

What the clerk is told of each capture and reading is kept with the capture in the
database (:class:`~media.vault.CaptureVault`), and the agreement is judged from there:
a console that reloads gets it all back from any node (:meth:`CaptureDesk.shown`), and
readings that finish on different nodes (a photo uploaded to one, the camera on
another) count together. The rest the desk keeps per check here, in the signalling
process, so a session that moves to another worker loses nothing.

The desk knows no sockets: it reaches the call through a narrow :class:`CallPort`
(who serves the citizen, tell the citizen, tell the clerk) that the signalling layer
provides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc import RTCIceServer

from common.i18n import catalogue
from common.outgoing import Outgoing
from media.capture_events import (
    CaptureAnalysed,
    CaptureGuidance,
    CapturePrompt,
    CaptureTaken,
    TakenBy,
    taken_by,
)
from media.capture_peer import CaptureError, CloseReason
from media.capture_station import NO_FRAME, KeepOrder, Kept, Look, Source
from media.capture_workers import CaptureWorkers, WorkerSettings
from media.copies import Image
from media.mrz import MrzResult
from media.mrz_names import compare_with_mrz
from media.vault import DOCUMENT_KINDS, CaptureVault, KeptCapture, Reading
from media.vision.analysis import Consensus
from media.vision.tilt import Tilt
from media.worker_channel import Event
from office.errors import Conflict
from office.models import Clerk
from office.staff import Staff
from office.verification import CaptureKind, Verifications
from office.visits import Visits

log = logging.getLogger(__name__)

MRZ_FAILED = "Die maschinenlesbare Zone konnte nicht gelesen werden."
NO_CHECK = "Es läuft keine Identitätsprüfung."
GUIDANCE_SECONDS = 0.5  # about two looks a second
# Every fourth look (about every two seconds) the guidance loop also checks that the
# call and the check still run: a session must not outlive them.
LOOKS_PER_STATE_CHECK = 4
READING_SECONDS = 300.0  # an MRZ reading takes seconds; one not back by then never comes


class CallPort(Protocol):
    """What the desk needs of the call, from the layer that holds it."""

    async def clerk_serving(self, appointment_id: str) -> int | None:
        """The clerk in the citizen's call, or None when there is none."""

    async def tell_citizen(self, appointment_id: str, event: Outgoing) -> None: ...

    async def tell_clerk(self, clerk_id: int, event: Outgoing) -> None: ...


class SessionRecords(Protocol):
    """Where other nodes look up which node holds an appointment's capture session."""

    async def claim(self, key: str) -> None: ...

    def release(self, key: str) -> None: ...


@dataclass(frozen=True)
class Armed:
    """An automatic capture the clerk asked for, waiting for a frame that passes."""

    clerk_id: int
    kind: CaptureKind
    german_id: bool


@dataclass
class _Reading:
    """A kept capture whose MRZ a worker is reading."""

    clerk_id: int
    appointment_id: str
    verification_id: str
    began: float = field(default_factory=time.monotonic)
    stored: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CaptureDesk:
    def __init__(
        self,
        call: CallPort,
        checks: Verifications,
        visits: Visits,
        vault: CaptureVault,
        staff: Staff,
        *,
        workers: WorkerSettings,
        worker_count: int,
        ice_servers: Callable[[], Sequence[RTCIceServer]] = tuple,
        observe_analysis: Callable[[dict[str, float]], None] = lambda _timings: None,
        observe_closed: Callable[[str], None] = lambda _reason: None,
        records: SessionRecords | None = None,
    ) -> None:
        self._call = call
        self._checks = checks
        self._visits = visits
        self._vault = vault
        self._staff = staff
        self._ice_servers = ice_servers  # asked per session: TURN credentials expire
        self._observe_analysis = observe_analysis
        self._observe_closed = observe_closed  # why sessions end, for the node's metrics
        self._records = records
        self.workers = CaptureWorkers(workers, worker_count, self._worker_event)
        # Per check: the tilt sequence's second angle must turn the other way than the first.
        self._first_tilt: dict[str, Tilt] = {}
        self._readings: dict[str, _Reading] = {}  # per capture id
        self._guiding: dict[str, asyncio.Task[None]] = {}
        self._armed: dict[str, Armed] = {}  # per appointment

    async def close(self) -> None:
        """Stop guiding, close every session and stop the workers (shutdown)."""
        for task in list(self._guiding.values()):
            task.cancel()
        await asyncio.gather(*self._guiding.values(), return_exceptions=True)
        await self.workers.close_all()

    # -- the citizen's capture peer ----------------------------------------------------

    async def offer(self, appointment_id: str, sdp: str, lang: str) -> str:
        """Answer the citizen's offer; guide them in ``lang`` while the session runs."""
        if await self._call.clerk_serving(appointment_id) is None:
            raise Conflict("Das Gespräch ist beendet.")
        if await self._checks.current(appointment_id) is None:
            raise Conflict(NO_CHECK)
        answer = await self.workers.open(appointment_id, sdp, self._ice_servers())
        if self._records is not None:
            await self._records.claim(appointment_id)
            if not self.workers.holds(appointment_id):  # it closed while being recorded
                self._records.release(appointment_id)
        if (previous := self._guiding.pop(appointment_id, None)) is not None:
            previous.cancel()
        task = asyncio.create_task(
            self._guide(appointment_id, lang), name=f"guide-{appointment_id}"
        )
        self._guiding[appointment_id] = task
        task.add_done_callback(lambda done: _forget(self._guiding, appointment_id, done))
        if (armed := self._armed.get(appointment_id)) is not None:
            # A page that reloaded while a capture was asked for: tell it again.
            await self._call.tell_citizen(appointment_id, CapturePrompt(armed.kind))
        return answer

    async def _guide(self, appointment_id: str, lang: str) -> None:
        last: CaptureGuidance | None = None
        verification_id = await self._checks.current(appointment_id)
        looks = 0
        while self.workers.holds(appointment_id):
            looks += 1
            if looks % LOOKS_PER_STATE_CHECK == 0:
                ended = await self._ended(appointment_id, verification_id)
                if ended is not None:
                    await self.workers.close(appointment_id, ended)
                    break
            last = await self._look(appointment_id, last, lang)
            await asyncio.sleep(GUIDANCE_SECONDS)
        if verification_id is not None and await self._ended(appointment_id, verification_id):
            # The check is over: what the desk remembered of it goes too.
            self._first_tilt.pop(verification_id, None)

    async def _ended(self, appointment_id: str, verification_id: str | None) -> CloseReason | None:
        """Why a session should not go on, though its browser still sends: the call
        ended or the check finished (the browser's own close may never come)."""
        if await self._call.clerk_serving(appointment_id) is None:
            return CloseReason.CALL_ENDED
        if await self._checks.current(appointment_id) != verification_id:
            return CloseReason.DONE
        return None

    async def _look(
        self, appointment_id: str, last: CaptureGuidance | None, lang: str
    ) -> CaptureGuidance | None:
        """One look at the newest frame: guidance for the citizen when it changed, and
        the armed capture when the frame passes. Returns the guidance now shown."""
        armed = self._armed.get(appointment_id)
        try:
            look = await self.workers.look(appointment_id, armed.kind if armed else None)
        except CaptureError:
            return last  # the session just ended: the loop sees it
        if look is None:
            return last
        advice = guidance(look, lang)
        if armed is not None and look.passes:
            await self._take_armed(appointment_id, armed)
        if advice != last:
            await self._call.tell_citizen(appointment_id, advice)
        return advice

    async def _take_armed(self, appointment_id: str, armed: Armed) -> None:
        if self._armed.get(appointment_id) is not armed:
            return  # disarmed or re-armed meanwhile
        try:
            shot = await self.keep(
                armed.clerk_id, appointment_id, armed.kind, armed.german_id, "looked"
            )
        except Conflict:
            return  # not this frame (a tilt the wrong way, the card half out): keep looking
        if self._armed.get(appointment_id) is armed:
            del self._armed[appointment_id]
        await self._call.tell_clerk(armed.clerk_id, CaptureTaken(shot, source="auto"))
        await self._call.tell_citizen(appointment_id, CapturePrompt(None, taken=armed.kind))

    # -- the clerk's commands ------------------------------------------------------------

    async def take(
        self, clerk_id: int, appointment_id: str, kind: CaptureKind, german_id: bool
    ) -> dict[str, Any]:
        """Keep the sharpest frame of the last second."""
        if await self._checks.current(appointment_id) is None:
            raise Conflict(NO_CHECK)
        if not self.workers.holds(appointment_id):
            raise Conflict(NO_FRAME)
        armed = self._armed.get(appointment_id)
        if armed is not None and armed.kind == kind:
            del self._armed[appointment_id]  # taken by hand before a frame passed
        return await self.keep(clerk_id, appointment_id, kind, german_id, "best")

    async def arm(
        self, clerk_id: int, appointment_id: str, kind: CaptureKind, german_id: bool
    ) -> dict[str, Any]:
        """Capture ``kind`` automatically from the first frame that passes; the citizen
        is asked to show it. A new request replaces the waiting one."""
        if await self._checks.current(appointment_id) is None:
            raise Conflict(NO_CHECK)
        if not self.workers.holds(appointment_id):
            raise Conflict("Die Kamera der Person ist für die Aufnahme noch nicht verbunden.")
        self._armed[appointment_id] = Armed(clerk_id, kind, german_id)
        await self._call.tell_citizen(appointment_id, CapturePrompt(kind))
        return {"armed": kind}

    async def stop(self, appointment_id: str) -> dict[str, Any]:
        self._armed.pop(appointment_id, None)
        return {"closed": await self.workers.close(appointment_id, CloseReason.DONE)}

    # -- keeping a capture ---------------------------------------------------------------

    async def keep(
        self,
        clerk_id: int,
        appointment_id: str,
        kind: CaptureKind,
        german_id: bool,
        source: Source | Image,
        *,
        detail: bool = False,
    ) -> dict[str, Any]:
        """Check, mark as a copy, encrypt and store one capture: a frame of the
        appointment's session (``source`` "best" or "looked") or an uploaded photo
        (``detail``: flattened at its own resolution). The MRZ of a document follows
        as ``capture_analysed``."""
        verification_id = await self._checks.current(appointment_id)
        if verification_id is None:
            raise Conflict(NO_CHECK)
        seal = await self._vault.prepare(verification_id, kind, german_id_front=german_id)
        order = KeepOrder(
            seal,
            needs_flat=self._vault.needs_flat_document(kind),
            first_tilt=self._first_tilt.get(verification_id),
            detail=detail,
        )
        reading = _Reading(clerk_id, appointment_id, verification_id)
        self._forget_lost_readings()
        if kind in DOCUMENT_KINDS:
            self._readings[seal.capture_id] = reading  # its MRZ may come back at once
        try:
            kept = await self._kept(appointment_id, source, order)
            shot = {
                "width": kept.width,
                "height": kept.height,
                "flattened": kept.flattened,
                **kept.details,
            }
            how: TakenBy = "still" if not isinstance(source, str) else _TAKEN_BY[source]
            kept_shot = {**shot, "taken_by": how}
            stored = await self._vault.keep(verification_id, seal, kept.ciphertext, kept_shot)
        except BaseException:
            self._readings.pop(seal.capture_id, None)
            reading.stored.cancel()  # a reading that already came back is dropped
            raise
        if kind == "tilt_a" and kept.tilt is not None:
            self._first_tilt[verification_id] = kept.tilt
        if kept.reading:
            reading.stored.set_result(None)
        else:
            self._readings.pop(seal.capture_id, None)
        viewer = await self._staff.get(clerk_id)
        return {
            "capture_id": stored.capture_id,
            "kind": stored.kind,
            "view_url": await self._view_url(stored.capture_id, viewer),
            **shot,
        }

    async def _view_url(self, capture_id: str, viewer: Clerk) -> str:
        return f"/erfassungen/{await self._vault.link(capture_id, viewer)}"

    def _forget_lost_readings(self) -> None:
        """Readings whose worker died before it answered never come back."""
        too_old = time.monotonic() - READING_SECONDS
        for capture_id, reading in list(self._readings.items()):
            if reading.began < too_old:
                del self._readings[capture_id]
                reading.stored.cancel()

    async def _kept(self, appointment_id: str, source: Source | Image, order: KeepOrder) -> Kept:
        if isinstance(source, str):
            return await self.workers.keep_frame(appointment_id, source, order)
        return await self.workers.keep_image(source, order)

    # -- what the workers report ---------------------------------------------------------

    async def _worker_event(self, event: Event) -> None:
        if event.name == "closed":
            self._observe_closed(event.args["reason"].value)
            if self._records is not None:
                self._records.release(event.args["key"])
        elif event.name == "analysed":
            await self._analysed(event.args)

    async def _analysed(self, args: dict[str, Any]) -> None:
        capture_id: str = args["capture_id"]
        reading = self._readings.pop(capture_id, None)
        if reading is None:
            return  # not kept after all (the check ended while it was stored)
        await reading.stored
        if "analysis" not in args:  # the reading failed: the side is to be taken again
            failed = {**args["quick"], "mrz": {"read_lines": [], "error": MRZ_FAILED}}
            analysed = CaptureAnalysed(capture_id, failed, False, None, None)
            await self._vault.record_reading(
                reading.verification_id,
                capture_id,
                lambda _earlier: Reading(capture_id, analysed.payload(), None),
            )
            await self._call.tell_clerk(reading.clerk_id, analysed)
            return
        analysis: dict[str, Any] = args["analysis"]
        self._observe_analysis(analysis["timings_ms"])
        result: MrzResult | None = args["mrz"]
        booked = await self._visits.names([reading.appointment_id])
        name, _reference = booked.get(reading.appointment_id, ("", ""))
        today = self._visits.now().astimezone(self._visits.office.town.tz).date()
        agreement = self._vault.agreement(result)

        def judge(earlier: Sequence[Reading]) -> Reading:
            """This reading against the check's earlier ones (stored, so from any node)."""
            votes: Consensus[Reading] = Consensus()
            for previous in earlier:
                votes.offer(previous.agreement, previous)
            this = Reading(capture_id, {}, agreement)
            accepted = votes.offer(agreement, this)
            if accepted is this and result is not None:
                # This reading made two agree. The name: a suggestion for the clerk's
                # "name matches the booking" step.
                name_check = compare_with_mrz(name, result).to_json()
                fields, expired = result.fields(), result.expired(today)
                analysed = CaptureAnalysed(capture_id, analysis, True, fields, name_check, expired)
            elif accepted is not None:  # settled before: as it was said then
                said = {**accepted.analysed, "capture_id": capture_id, "analysis": analysis}
                analysed = CaptureAnalysed(**said)
            else:
                analysed = CaptureAnalysed(capture_id, analysis, False, None, None)
            return Reading(capture_id, analysed.payload(), agreement)

        judged = await self._vault.record_reading(reading.verification_id, capture_id, judge)
        await self._call.tell_clerk(reading.clerk_id, CaptureAnalysed(**judged.analysed))

    # -- a console that shows the check again ------------------------------------------

    async def shown(self, clerk_id: int, appointment_id: str) -> dict[str, Any] | None:
        """What the clerk's console has been shown of the check in progress: its
        captures (as ``capture_take`` acked them, with fresh links) in the order they
        were taken, and their readings (as ``capture_analysed`` said them) in the order
        they were judged; None when no check runs. From the database, not from this
        desk: the captures may have been taken on another node, whose desk holds the
        capture peer or has long closed it."""
        verification_id = await self._checks.current(appointment_id)
        if verification_id is None:
            return None
        captures, readings = await self._vault.kept(verification_id)
        viewer = await self._staff.get(clerk_id)
        return {
            "captures": [await self._shown_capture(capture, viewer) for capture in captures],
            "readings": [reading.analysed for reading in readings],
        }

    async def _shown_capture(self, capture: KeptCapture, viewer: Clerk) -> dict[str, Any]:
        shot = dict(capture.shot or {})
        how: TakenBy = shot.pop("taken_by", "take")
        return {
            "capture_id": capture.capture_id,
            "kind": capture.kind,
            "view_url": await self._view_url(capture.capture_id, viewer),
            **shot,
            **taken_by(how),
            "taken_at": capture.taken_at.isoformat(),
        }


_TAKEN_BY: dict[Source, TakenBy] = {"best": "take", "looked": "auto"}


def guidance(look: Look, lang: str) -> CaptureGuidance:
    """What the citizen is told of a look, in ``lang`` (the hints are German, as the
    vision code writes them)."""
    messages = catalogue(lang)
    return CaptureGuidance(look.found, look.verdict, [messages.gettext(h) for h in look.hints])


def _forget(tasks: dict[str, asyncio.Task[None]], key: str, done: asyncio.Task[None]) -> None:
    if tasks.get(key) is done:
        del tasks[key]
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.error("capture guidance for %s failed: %r", key, exc)
