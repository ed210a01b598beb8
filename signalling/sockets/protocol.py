"""The wire protocol's boundary: payloads, acks, errors, rate limits.

Every command's payload is validated into a frozen model with size limits before
anything else runs; every command answers ``{"ok": true, "data": ...}`` or
``{"ok": false, "error": {"code", "message"}}``. docs/protocol.md lists them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from common.errors import UserError

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_SDP = 64 * 1024  # real offers are 3-10 kB; far larger is abuse
MAX_CANDIDATE = 1024


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Empty(Payload):
    pass


class ClerkStateChange(Payload):
    state: Literal["available", "away", "after_call"]


class Take(Payload):
    appointment_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]


class Description(Payload):
    """An RTCSessionDescription, as the browser's ``toJSON()`` gives it."""

    type: Literal["offer", "answer"]
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP)]


class Candidate(Payload):
    """An RTCIceCandidate's ``toJSON()``; the empty candidate ends gathering."""

    candidate: Annotated[
        str, StringConstraints(max_length=MAX_CANDIDATE, pattern=r"^(candidate:.+)?$")
    ]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None


class Chat(Payload):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


def ok(data: Any = None) -> dict[str, Any]:
    return {"ok": True, "data": data}


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


INVALID_PAYLOAD = error("invalid_payload", "Die Nachricht ist ungültig.")
UNKNOWN_EVENT = error("unknown_event", "Unbekannte Nachricht.")
RATE_LIMITED = error("rate_limited", "Zu viele Nachrichten. Bitte kurz warten.")
FORBIDDEN = error("forbidden", "Diese Nachricht ist für Ihre Rolle nicht erlaubt.")


class TokenBucket:
    """Per-socket message budget: a burst, then a steady rate (ICE comes in bursts)."""

    def __init__(self, rate: float = 30.0, burst: float = 120.0) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


P = TypeVar("P", bound=Payload)
Handler = Callable[[str, Any], Awaitable[Any]]


class Command:
    """One command of a namespace: its payload model and its handler."""

    def __init__(self, model: type[BaseModel], handler: Handler) -> None:
        self.model = model
        self.handler = handler

    async def __call__(self, sid: str, data: Any) -> dict[str, Any]:
        try:
            payload = self.model.model_validate({} if data is None else data)
        except ValidationError:
            return INVALID_PAYLOAD
        try:
            return ok(await self.handler(sid, payload))
        except UserError as exc:  # the office's, the rooms', the capture's
            return error(exc.code, exc.message)
