"""What a media worker does: hold capture peers and do every piece of image work.

A :class:`CaptureStation` lives in a media worker process
(:mod:`media.capture_worker`); the signalling process asks it over the worker channel
(:mod:`media.capture_workers`). It holds the citizens' capture peers (aiortc decodes
their video here, not in the signalling process), looks at their newest frames for
the guidance, keeps captures (outline, flattening and quality, the tilt, sealing the
lawful copy) and reads the MRZ afterwards. A frame is analysed once on its way: the
quick look the guidance made of it is what an armed capture keeps, and the MRZ
reading reuses its outlines.

It knows nothing of calls, checks or the database: the capture desk
(:mod:`media.capture_desk`) decides what may be taken and records what was kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from aiortc import RTCIceServer

from common.i18n import N_
from media.capture_peer import CaptureSession, CloseReason
from media.capture_registry import CaptureRegistry
from media.capture_rules import (
    NOT_WHOLLY_SHOWN,
    TILT_KINDS,
    best_recent_frame,
    check_tilt,
    glance,
    may_take,
)
from media.copies import Image
from media.mrz import MrzResult
from media.sealing import Sealer, SealOrder
from media.vision.analysis import DocumentAnalysis, analyse
from media.vision.face import Box, find_live_face
from media.vision.tilt import Tilt
from media.worker_channel import Event
from office.errors import Conflict

log = logging.getLogger(__name__)

NO_FRAME = "Von der Kamera der Person kommt noch kein Bild."
NO_FACE = "Kein Gesicht im Bild. Bitte direkt in die Kamera schauen."
HINT_FACE = N_("Bitte ohne Ausweis direkt in die Kamera schauen")
Source = Literal["best", "looked"]


@dataclass(frozen=True, slots=True)
class Look:
    """The guidance's look at a session's newest frame."""

    found: bool
    verdict: str
    hints: tuple[str, ...]  # German, as the vision code writes them
    passes: bool  # an armed capture of the kind asked for may take this frame


@dataclass(frozen=True, slots=True)
class KeepOrder:
    """How to keep one capture: the vault's seal order and the desk's rules."""

    seal: SealOrder
    needs_flat: bool  # no copy without the document's outline (its numbers are redacted)
    first_tilt: Tilt | None = None  # for tilt_b: the kept tilt_a
    detail: bool = False  # a full-resolution photo: flattened at its own resolution


@dataclass(frozen=True, slots=True)
class Kept:
    """A sealed capture, for the vault to record and the clerk to see."""

    ciphertext: bytes
    width: int
    height: int
    flattened: bool
    details: dict[str, Any]  # "face" box, "tilt", "analysis" (the quick look's JSON)
    tilt: Tilt | None
    reading: bool  # the MRZ follows as an ``analysed`` event


@dataclass(frozen=True, slots=True)
class Looked:
    frame: Image
    quick: DocumentAnalysis | None
    face: Box | None


class CaptureStation:
    def __init__(
        self,
        sealer: Sealer,
        emit: Callable[[Event], None],
        *,
        max_sessions: int,
        idle_timeout: float = 30.0,
        negotiation_timeout: float = 10.0,
        allow_loopback: bool = False,
    ) -> None:
        self._sealer = sealer
        self._emit = emit
        self.registry = CaptureRegistry(
            max_sessions=max_sessions,
            idle_timeout=idle_timeout,
            negotiation_timeout=negotiation_timeout,
            allow_loopback=allow_loopback,
            on_close=self._closed,
        )
        self._looked: dict[str, Looked] = {}
        self._reading: set[asyncio.Task[None]] = set()
        # Guidance is a courtesy: all sessions share one thread for it, so it takes at
        # most one core's worth of turns (GIL-bound numpy and OpenCV) and decoding,
        # captures and MRZ readings keep the rest. Under load each session simply gets
        # fewer looks a second.
        self._looking = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guidance")

    # -- sessions --------------------------------------------------------------------

    async def open(self, key: str, sdp: str, ice_servers: Sequence[RTCIceServer]) -> str:
        """Answer the citizen's offer for ``key``; the answer SDP."""
        _session, answer = await self.registry.open(key, sdp, ice_servers)
        return answer

    async def close(self, key: str, reason: CloseReason) -> bool:
        return await self.registry.close(key, reason)

    async def close_all(self) -> None:
        await self.registry.close_all()
        self._looking.shutdown(wait=False, cancel_futures=True)
        for task in list(self._reading):
            task.cancel()
        await asyncio.gather(*self._reading, return_exceptions=True)

    def _closed(self, session: CaptureSession, reason: CloseReason) -> None:
        if self.registry.get(session.key) is not None:
            return  # replaced by a new session for the same key: nothing ended
        self._looked.pop(session.key, None)
        self._emit(Event("closed", {"key": session.key, "reason": reason}))

    async def frames(self) -> dict[str, int]:
        """Frames received so far, per session (for the load benchmark)."""
        return {s.key: s.frames_received for s in self.registry.sessions()}

    # -- the guidance ------------------------------------------------------------------

    async def look(self, key: str, kind: str | None) -> Look | None:
        """A look at the newest frame; None before the first. ``kind``: what an armed
        capture waits for ("face" looks for the live face instead of the document)."""
        session = self.registry.get(key)
        if session is None:
            return None
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(self._looking, session.latest_frame)
        if frame is None:
            return None
        if kind == "face":
            box = await loop.run_in_executor(self._looking, find_live_face, frame)
            self._looked[key] = Looked(frame, None, box)
            if box is None:
                return Look(False, "no_face", (HINT_FACE,), passes=False)
            return Look(True, "ok", (), passes=True)
        quick = await loop.run_in_executor(self._looking, glance, frame)
        self._looked[key] = Looked(frame, quick, None)
        passes = kind is not None and may_take(kind, quick)
        return Look(quick.found, quick.quality.verdict, tuple(quick.quality.hints), passes)

    # -- keeping a capture -------------------------------------------------------------

    async def keep_frame(self, key: str, source: Source, order: KeepOrder) -> Kept:
        """Keep the sharpest frame of the last second (``best``) or the frame the last
        look saw (``looked``, what passed for an armed capture)."""
        loop = asyncio.get_running_loop()
        session = self.registry.get(key)
        if source == "looked":
            looked = self._looked.get(key)
            if session is None or looked is None:
                raise Conflict(NO_FRAME)
            return await self._keep(looked.frame, order, looked.quick, looked.face)
        frame = None
        if session is not None:
            frame = await loop.run_in_executor(None, best_recent_frame, session)
        if frame is None:
            raise Conflict(NO_FRAME)
        return await self._keep(frame, order, None, None)

    async def keep_image(self, image: Image, order: KeepOrder) -> Kept:
        """Keep a photo the citizen uploaded."""
        return await self._keep(image, order, None, None)

    async def _keep(
        self, frame: Image, order: KeepOrder, quick: DocumentAnalysis | None, face: Box | None
    ) -> Kept:
        loop = asyncio.get_running_loop()
        kept, quick = await loop.run_in_executor(None, self._seal, frame, order, quick, face)
        if kept.reading and quick is not None:
            task = asyncio.create_task(self._read_mrz(order.seal.capture_id, frame, quick))
            self._reading.add(task)
            task.add_done_callback(self._reading.discard)
        return kept

    def _seal(
        self, frame: Image, order: KeepOrder, quick: DocumentAnalysis | None, face: Box | None
    ) -> tuple[Kept, DocumentAnalysis | None]:
        """Check, flatten and seal one capture (in a thread)."""
        kind = order.seal.kind
        details: dict[str, Any] = {}
        tilt = None
        if kind == "face":
            box = face or find_live_face(frame)
            if box is None:
                raise Conflict(NO_FACE)
            details["face"] = list(box)
            image, flattened = frame, False
        else:
            if quick is None:
                # Outline, flattening and quality only (tens of ms); the MRZ follows.
                quick = analyse(frame, read_mrz=False, detail=order.detail)
            if quick.warped is None and (order.seal.german_id_front or order.needs_flat):
                # Without the document's outline neither the CAN nor the document number
                # can be found: no copy may be kept.
                raise Conflict(NOT_WHOLLY_SHOWN)
            if kind in TILT_KINDS:
                tilt = check_tilt(kind, quick, order.first_tilt)
                details["tilt"] = tilt.to_json()
            image = quick.warped if quick.warped is not None else frame
            flattened = quick.warped is not None
            details["analysis"] = quick.to_json()
        ciphertext = self._sealer.seal(image, order.seal)
        reading = kind != "face" and quick is not None and quick.found
        kept = Kept(
            ciphertext,
            int(image.shape[1]),
            int(image.shape[0]),
            flattened,
            details,
            tilt,
            reading,
        )
        return kept, quick

    async def _read_mrz(self, capture_id: str, frame: Image, quick: DocumentAnalysis) -> None:
        """The slow part, after the clerk already has the capture; the outlines the
        quick look found are not searched for again. A failed reading is reported too,
        so the clerk is not left waiting for it."""
        loop = asyncio.get_running_loop()
        try:
            full = await loop.run_in_executor(None, lambda: analyse(frame, outlines=quick.outlines))
        except Exception:
            log.exception("MRZ reading of capture %s failed", capture_id)
            self._emit(Event("analysed", {"capture_id": capture_id, "quick": quick.to_json()}))
            return
        result: MrzResult | None = full.mrz_result
        analysed = {"capture_id": capture_id, "analysis": full.to_json(), "mrz": result}
        self._emit(Event("analysed", analysed))
