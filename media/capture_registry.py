"""Every capture session of this process: at most one per key, at most a cap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from aiortc import RTCIceServer

from media.capture_peer import (
    CaptureLimitReached,
    CaptureSession,
    CaptureUnavailable,
    CloseReason,
)


class CaptureRegistry:
    """Every capture session of this process, at most one per key, at most a cap.

    ``key`` names whose camera it is (e.g. the appointment id). ``on_close`` gets
    every session once, with its reason, after its peer connection is closed.
    """

    def __init__(
        self,
        *,
        max_sessions: int,
        idle_timeout: float = 30.0,
        negotiation_timeout: float = 10.0,
        allow_loopback: bool = False,
        on_close: Callable[[CaptureSession, CloseReason], None] | None = None,
    ) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self.max_sessions = max_sessions
        self._idle_timeout = idle_timeout
        self._negotiation_timeout = negotiation_timeout
        self._allow_loopback = allow_loopback
        self._on_close = on_close
        self._sessions: dict[str, CaptureSession] = {}
        self._shutting_down = False

    @property
    def active(self) -> int:
        """Sessions held now, including ones still negotiating or closing."""
        return len(self._sessions)

    def get(self, key: str) -> CaptureSession | None:
        return self._sessions.get(key)

    def sessions(self) -> list[CaptureSession]:
        return list(self._sessions.values())

    async def open(
        self, key: str, offer_sdp: str, ice_servers: Sequence[RTCIceServer] = ()
    ) -> tuple[CaptureSession, str]:
        """Start a capture for ``key``, replacing (``REPLACED``) one it already had.
        ``ice_servers``: this session's own (TURN credentials are minted per session).

        Raises :class:`CaptureLimitReached` at the cap (a replacement does not
        count twice) and the errors of :meth:`CaptureSession.answer`.
        """
        if self._shutting_down:
            raise CaptureUnavailable()
        previous = self._sessions.get(key)
        if len(self._sessions) - (previous is not None) >= self.max_sessions:
            raise CaptureLimitReached()
        # Claim the slot before any await, so concurrent opens cannot exceed the cap.
        session = CaptureSession(
            key,
            ice_servers=ice_servers,
            idle_timeout=self._idle_timeout,
            negotiation_timeout=self._negotiation_timeout,
            allow_loopback=self._allow_loopback,
            on_close=self._session_closed,
        )
        self._sessions[key] = session
        try:
            if previous is not None:
                await previous.close(CloseReason.REPLACED)
        except asyncio.CancelledError:
            session._request_close(CloseReason.PEER_FAILED)  # never answered: free the slot
            raise
        answer = await session.answer(offer_sdp)  # closes the session itself on failure
        return session, answer

    async def close(self, key: str, reason: CloseReason) -> bool:
        """Close the session of ``key``; False if there was none."""
        session = self._sessions.get(key)
        if session is None:
            return False
        await session.close(reason)
        return True

    async def close_all(self, reason: CloseReason = CloseReason.SHUTDOWN) -> None:
        """Close every session and refuse new ones (the process is stopping)."""
        self._shutting_down = True
        sessions = list(self._sessions.values())
        await asyncio.gather(*(session.close(reason) for session in sessions))

    def _session_closed(self, session: CaptureSession, reason: CloseReason) -> None:
        # A replaced session's slot already holds its successor: leave that alone.
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]
        if self._on_close is not None:
            self._on_close(session, reason)
