"""Capture sessions: the server's receive-only peer for the citizen's camera.

When the clerk starts the identity check, the citizen's browser opens a second
peer connection to this server and sends its camera track. The server answers,
receives and decodes (aiortc does that in a thread), keeps only the newest frame
and never encodes: it adds no track of its own.

Ownership: one :class:`media.capture_registry.CaptureRegistry` creates every session;
each :class:`CaptureSession` owns its ``RTCPeerConnection`` and its reader task and
closes exactly once, with a :class:`CloseReason`. ``allow_loopback=True`` (tests only,
never in production) makes it gather 127.0.0.1 too: see :mod:`media.loopback`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import numpy.typing as npt
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from common.errors import UserError
from media.loopback import include_loopback_candidates

log = logging.getLogger(__name__)

RECENT_FRAMES = 6  # kept for a capture to choose from ...
RECENT_SPACING = 0.15  # ... one every 150 ms: about the last second
PC_CLOSE_SECONDS = 5.0  # aiortc's close() sends DTLS close_notify; never hang shutdown on it

BgrImage = npt.NDArray[np.uint8]


class CloseReason(enum.Enum):
    """Why a capture session ended; logged, and passed to ``on_close``."""

    DONE = "done"  # the verification is finished
    CALL_ENDED = "call_ended"  # the video call this capture belongs to ended
    PEER_FAILED = "peer_failed"  # negotiation failed, or the browser's peer went away
    IDLE_TIMEOUT = "idle_timeout"  # no frame for the idle timeout
    SHUTDOWN = "shutdown"  # this server process is stopping
    REPLACED = "replaced"  # the same citizen opened a new capture


class CaptureError(UserError):
    """Base of every capture error."""

    code = "capture_error"
    message = "Die Kamera konnte nicht verbunden werden."


class CaptureLimitReached(CaptureError):
    """This process already holds its maximum of capture sessions."""

    code = "capture_limit"
    message = (
        "Gerade sind alle Plätze für die Ausweisprüfung belegt. "
        "Bitte versuchen Sie es in einer Minute noch einmal."
    )


class CaptureOfferInvalid(CaptureError):
    """The browser's offer cannot be used (not SDP, or no camera track in it)."""

    code = "capture_offer_invalid"
    message = "Ihre Kamera konnte nicht verbunden werden. Bitte laden Sie die Seite neu."


class CaptureFailed(CaptureError):
    """Negotiation did not finish in time, or the session closed meanwhile."""

    code = "capture_failed"
    message = "Die Verbindung zur Kamera ist fehlgeschlagen. Bitte versuchen Sie es erneut."


class CaptureUnavailable(CaptureError):
    """The registry is shutting down and takes no new sessions."""

    code = "capture_unavailable"
    message = "Die Ausweisprüfung ist gerade nicht möglich. Bitte versuchen Sie es gleich erneut."


class CaptureSession:
    """One citizen's camera, received by this server.

    Created by :class:`CaptureRegistry`; ``answer()`` once, then frames arrive
    until ``close()``. ``on_close(session, reason)`` runs exactly once, after the
    peer connection is closed. ``idle_timeout`` also bounds the time from the
    answer to the first frame (ICE and DTLS must finish within it).
    """

    def __init__(
        self,
        key: str,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        idle_timeout: float = 30.0,
        negotiation_timeout: float = 10.0,
        allow_loopback: bool = False,
        on_close: Callable[[CaptureSession, CloseReason], None] | None = None,
    ) -> None:
        self.key = key
        self.close_reason: CloseReason | None = None
        self.frames_received = 0
        self.frames_dropped = 0  # replaced by a newer frame before anyone looked at it
        self._idle_timeout = idle_timeout
        self._negotiation_timeout = negotiation_timeout
        self._allow_loopback = allow_loopback
        self._on_close = on_close
        # An explicit (possibly empty) list: with None aiortc would ask Google's STUN.
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self._pc.on("connectionstatechange", self._connection_state_changed)
        self._answered = False
        self._reader: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._latest: VideoFrame | None = None
        self._latest_at: float | None = None
        self._latest_seen = False
        self._converted: tuple[VideoFrame, BgrImage] | None = None
        self._convert_lock = threading.Lock()
        # A few earlier frames, spaced out, so a capture can take the sharpest of the
        # last second instead of whatever frame is newest at the click.
        self._recent: deque[VideoFrame] = deque(maxlen=RECENT_FRAMES)
        self._recent_at = -math.inf

    # -- negotiation ---------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Answer the browser's offer; return the answer SDP with all our candidates.

        The browser gathers before offering and we gather before answering: no
        trickle ICE over the socket. On any failure the session closes
        (``PEER_FAILED``) and a :class:`CaptureError` is raised.
        """
        if self._answered:
            raise RuntimeError("a capture session answers one offer only")
        self._answered = True
        try:
            sdp = await self._negotiate(offer_sdp)
        except asyncio.CancelledError:
            self._request_close(CloseReason.PEER_FAILED)
            raise
        except CaptureError:
            await self.close(CloseReason.PEER_FAILED)
            raise
        except Exception as exc:
            await self.close(CloseReason.PEER_FAILED)
            raise CaptureFailed() from exc
        return sdp

    async def _negotiate(self, offer_sdp: str) -> str:
        pc = self._pc
        try:
            offer = RTCSessionDescription(sdp=offer_sdp, type="offer")
        except ValueError as exc:
            raise CaptureOfferInvalid() from exc
        async with asyncio.timeout(self._negotiation_timeout):
            try:
                await pc.setRemoteDescription(offer)
            except Exception as exc:  # untrusted SDP: aiortc's parser raises many types
                self._raise_if_closing()
                raise CaptureOfferInvalid() from exc
            track = self._choose_camera(pc.getTransceivers())
            answer = await pc.createAnswer()
            if self._allow_loopback:
                include_loopback_candidates(pc)
            await pc.setLocalDescription(answer)  # aiortc gathers all candidates here
        self._raise_if_closing()
        local = pc.localDescription
        if pc.iceGatheringState != "complete" or local is None:
            raise CaptureFailed()
        self._reader = asyncio.create_task(self._read(track), name=f"capture-read-{self.key}")
        return local.sdp

    @staticmethod
    def _choose_camera(transceivers: Sequence[RTCRtpTransceiver]) -> MediaStreamTrack:
        """Receive the first video the browser sends; refuse every other m-line.

        Only that one track is read; a second received track would fill its
        unbounded queue, so the rest are answered ``inactive``.
        """
        camera: MediaStreamTrack | None = None
        for transceiver in transceivers:
            track: MediaStreamTrack | None = transceiver.receiver.track
            if camera is None and transceiver.kind == "video" and track is not None:
                camera = track
                transceiver.direction = "recvonly"  # never send: the server never encodes
            else:
                transceiver.direction = "inactive"
        if camera is None:
            raise CaptureOfferInvalid()
        return camera

    def _raise_if_closing(self) -> None:
        if self._closing is not None:
            raise CaptureFailed()

    # -- frames --------------------------------------------------------------------

    async def _read(self, track: MediaStreamTrack) -> None:
        """Drain the track forever, keeping only the newest decoded frame.

        aiortc queues every decoded frame without bound, so a slow reader would
        grow memory and latency; this loop only swaps a reference per frame.
        """
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout):
                    frame = await track.recv()
            except TimeoutError:
                self._request_close(CloseReason.IDLE_TIMEOUT)
                return
            except MediaStreamError:  # the track ended: the browser's peer is gone
                self._request_close(CloseReason.PEER_FAILED)
                return
            except Exception:
                log.exception("capture %s: reading the camera failed", self.key)
                self._request_close(CloseReason.PEER_FAILED)
                return
            if not isinstance(frame, VideoFrame):
                continue
            if self._latest is not None and not self._latest_seen:
                self.frames_dropped += 1
            now = time.monotonic()
            self._latest = frame
            self._latest_at = now
            self._latest_seen = False
            self.frames_received += 1
            if now - self._recent_at >= RECENT_SPACING:
                self._recent.append(frame)
                self._recent_at = now

    def latest_frame(self) -> BgrImage | None:
        """The newest frame as a read-only BGR array (height x width x 3), or None.

        Converted only on demand and cached per frame; the conversion costs a few
        ms at 720p (far more when the cores are busy), so call it from an executor.
        """
        frame = self._latest
        if frame is None:
            return None
        self._latest_seen = True
        return self._convert(frame)

    def _convert(self, frame: VideoFrame) -> BgrImage:
        # One conversion at a time: PyAV reformats a frame through a scaler context it
        # keeps on the frame, and two threads converting the same frame crash the
        # process (seen when a capture's executor thread met the guidance loop).
        with self._convert_lock:
            cached = self._converted
            if cached is not None and cached[0] is frame:
                return cached[1]
            image = cast(BgrImage, frame.to_ndarray(format="bgr24"))  # 8 bits a channel
            image.flags.writeable = False  # shared by every caller: copy before drawing on it
            if frame is self._latest:
                self._converted = (frame, image)
            return image

    def recent_frames(self) -> list[BgrImage]:
        """The last second of video as a few BGR arrays, oldest first, newest last.

        Safe to call from an executor thread: the frames are copied out of the
        session's buffer before they are converted (a few ms each at 720p).
        """
        frames = list(self._recent)
        latest = self._latest
        if latest is not None and (not frames or frames[-1] is not latest):
            frames.append(latest)
        if latest is not None:
            self._latest_seen = True
        return [self._convert(frame) for frame in frames]

    @property
    def latest_frame_at(self) -> float | None:
        """When the newest frame arrived, in ``time.monotonic()`` seconds."""
        return self._latest_at

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """(width, height) of the newest frame, without converting it."""
        frame = self._latest
        return None if frame is None else (frame.width, frame.height)

    # -- closing -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once closing has begun."""
        return self._closing is not None

    async def close(self, reason: CloseReason) -> None:
        """Close once; later and concurrent callers wait for the first close.

        The first reason wins. Shielded: a caller that is cancelled does not
        interrupt the close.
        """
        await asyncio.shield(self._request_close(reason))

    def _request_close(self, reason: CloseReason) -> asyncio.Task[None]:
        # A task of its own, so the reader and aiortc's event handlers can ask for a
        # close without awaiting (the reader could not await its own cancellation).
        if self._closing is None:
            self.close_reason = reason
            self._closing = asyncio.create_task(
                self._shut(reason), name=f"capture-close-{self.key}"
            )
        return self._closing

    def _connection_state_changed(self) -> None:
        if self._pc.connectionState in ("failed", "closed"):
            self._request_close(CloseReason.PEER_FAILED)

    async def _shut(self, reason: CloseReason) -> None:
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        try:
            async with asyncio.timeout(PC_CLOSE_SECONDS):
                await self._pc.close()
        except Exception:
            log.exception("capture %s: closing the peer connection failed", self.key)
        self._latest = None
        self._converted = None
        self._recent.clear()
        log.info(
            "capture %s closed (%s) after %d frames", self.key, reason.value, self.frames_received
        )
        if self._on_close is not None:
            try:
                self._on_close(self, reason)
            except Exception:
                log.exception("capture %s: on_close failed", self.key)
