"""The wire protocol's boundary: the namespaces, incoming payloads, acks, errors,
rate limits, and the events the server sends.

Every command's payload is validated into a frozen model with size limits before
anything else runs; every command answers ``{"ok": true, "data": ...}`` or
``{"ok": false, "error": {"code", "message"}}``. Every event the server pushes is one
of the :class:`Outgoing` classes below, sent by ``notifier.Notifier``.
docs/protocol.md lists them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from common.errors import UserError
from rooms.waiting import Standing

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
CITIZEN_NS = "/citizen"
CLERK_NS = "/clerk"
DASHBOARD_NS = "/dashboard"
GUEST_NS = "/guest"
Member = Literal["citizen", "clerk", "guest"]
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


class Addressed(Payload):
    """A message for one member of the call. Without ``to`` it goes to the other
    person of the call (the citizen's to the clerk, the clerk's to the citizen); a
    guest always names the member."""

    to: Member | None = None


class Description(Addressed):
    """An RTCSessionDescription, as the browser's ``toJSON()`` gives it."""

    type: Literal["offer", "answer"]
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP)]


class Candidate(Addressed):
    """An RTCIceCandidate's ``toJSON()``; the empty candidate ends gathering."""

    candidate: Annotated[
        str, StringConstraints(max_length=MAX_CANDIDATE, pattern=r"^(candidate:.+)?$")
    ]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None


class Transfer(Payload):
    """Hand the citizen to whoever of a skill is free first, or to one colleague by
    name (``clerk_id``): exactly one of the two."""

    skill: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")] | None = None
    clerk_id: Annotated[int, Field(ge=1)] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if (self.skill is None) == (self.clerk_id is None):
            raise ValueError("skill or clerk_id")
        return self


class GuestInvite(Payload):
    """The clerk invites an interpreter or a companion; the link is mailed to
    ``email`` when given (else the console shows it to pass on)."""

    kind: Literal["interpreter", "companion"]
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None


class Chat(Payload):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class MediaState(Addressed):
    """Whether the sender's microphone and camera are on, for the other side to show
    ("stummgeschaltet", "Kamera aus") instead of silence or a black picture."""

    microphone: bool
    camera: bool


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


# -- what the server sends --------------------------------------------------------------


class _Fields:
    """The payload is the dataclass's fields, as they are."""

    __slots__ = ()

    def payload(self) -> Any:
        kind = type(self)
        names = _FIELD_NAMES.get(kind)
        if names is None:
            names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        return {name: getattr(self, name) for name in names}


# dataclasses.fields() builds its tuple anew on every call, and some events go out
# thousands of times a second (queue_updated): the names once per event class.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, slots=True)
class StateSynced:
    """Sent on connect: where the socket's owner stands (waiting, in a call, …)."""

    name: ClassVar[str] = "state_synced"
    state: dict[str, Any]

    def payload(self) -> Any:
        return self.state


@dataclass(frozen=True, slots=True)
class Relayed:
    """A message of the other member of the call, passed on as validated."""

    name: str  # rtc_description, rtc_candidate, chat_received
    data: dict[str, Any]

    def payload(self) -> Any:
        return self.data


@dataclass(frozen=True, slots=True)
class QueueStanding(_Fields):
    name: ClassVar[str] = "queue_updated"
    position: int
    estimate_minutes: int | None
    clerks_online: int

    @classmethod
    def of(cls, standing: Standing) -> QueueStanding:
        return cls(standing.position, standing.estimate_minutes, standing.clerks_online)


@dataclass(frozen=True, slots=True)
class _Assignment:
    """What a member needs to connect to the call: its id, whether it yields on glare
    (perfect negotiation's polite peer), and the STUN/TURN servers to use."""

    polite: ClassVar[bool] = True
    call_id: str
    ice_servers: list[dict[str, Any]]
    ice_transport_policy: str

    def payload(self) -> Any:
        return {
            "call_id": self.call_id,
            "polite": self.polite,
            "ice_servers": self.ice_servers,
            "ice_transport_policy": self.ice_transport_policy,
            **self.details(),
        }

    def details(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class CitizenCall(_Assignment):
    """``call_assigned`` for the citizen, who yields to the clerk."""

    name: ClassVar[str] = "call_assigned"
    clerk_name: str

    def details(self) -> dict[str, Any]:
        return {"clerk_name": self.clerk_name}


@dataclass(frozen=True, slots=True)
class GuestCall(_Assignment):
    """``guest_admitted``: what an interpreter's or companion's page needs to join the
    call. The guest yields to both others."""

    name: ClassVar[str] = "guest_admitted"
    kind: str
    clerk_name: str

    def details(self) -> dict[str, Any]:
        return {"kind": self.kind, "clerk_name": self.clerk_name}


@dataclass(frozen=True, slots=True)
class ClerkCall(_Assignment):
    """``call_assigned`` for the clerk (also the ack of ``queue_next``/``queue_take``),
    who yields to nobody."""

    polite: ClassVar[bool] = False
    name: ClassVar[str] = "call_assigned"
    citizen: dict[str, Any]

    def details(self) -> dict[str, Any]:
        return {"citizen": self.citizen}


@dataclass(frozen=True, slots=True)
class PeerJoined:
    name: ClassVar[str] = "peer_joined"
    role: Member
    kind: str | None = None  # a guest's: interpreter | companion
    connection: str | None = None  # a guest's page: a new one after a reload

    def payload(self) -> Any:
        if self.kind is None:
            return {"role": self.role}
        return {"role": self.role, "kind": self.kind, "connection": self.connection}


@dataclass(frozen=True, slots=True)
class PeerLeft:
    name: ClassVar[str] = "peer_left"
    role: Member
    grace_seconds: float | None = None  # the clerk's: how long she has to come back

    def payload(self) -> Any:
        if self.grace_seconds is None:
            return {"role": self.role}
        return {"role": self.role, "grace_seconds": self.grace_seconds}


@dataclass(frozen=True, slots=True)
class CallEnded(_Fields):
    name: ClassVar[str] = "call_ended"
    reason: Literal["completed", "citizen_left", "call_over", "guest_removed"]


@dataclass(frozen=True, slots=True)
class ReturnedToQueue(_Fields):
    name: ClassVar[str] = "returned_to_queue"
    reason: Literal["requeued_by_clerk", "clerk_lost", "transferred"]


@dataclass(frozen=True, slots=True)
class AppointmentClosed(_Fields):
    name: ClassVar[str] = "appointment_closed"
    reason: str  # office.context.Closed


@dataclass(frozen=True, slots=True)
class ClerkQueue:
    """The clerk console's waiting list: the first rows and how many wait in all."""

    name: ClassVar[str] = "queue_updated"
    waiting: list[dict[str, Any]]
    total: int
    others_waiting: int  # for services outside her skills: only counted
    yellow_after_seconds: int
    red_after_seconds: int

    def payload(self) -> Any:
        lights = {
            "yellow_after_seconds": self.yellow_after_seconds,
            "red_after_seconds": self.red_after_seconds,
        }
        return {
            "waiting": self.waiting,
            "total": self.total,
            "others_waiting": self.others_waiting,
            "lights": lights,
        }


@dataclass(frozen=True, slots=True)
class CitizenArrived(_Fields):
    name: ClassVar[str] = "citizen_arrived"
    appointment_id: str
    service_name: str


@dataclass(frozen=True, slots=True)
class DayUpdated(_Fields):
    name: ClassVar[str] = "day_updated"
    appointments: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DashboardUpdated(_Fields):
    name: ClassVar[str] = "dashboard_updated"
    queues: list[dict[str, Any]]
    clerks: list[dict[str, Any]]
    calls: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class VerificationConsentRequested(_Fields):
    name: ClassVar[str] = "verification_consent_requested"
    document_type: str


@dataclass(frozen=True, slots=True)
class VerificationCodeRequested(_Fields):
    name: ClassVar[str] = "verification_code_requested"


@dataclass(frozen=True, slots=True)
class VerificationFinished(_Fields):
    name: ClassVar[str] = "verification_finished"
    outcome: str


@dataclass(frozen=True, slots=True)
class VerificationUpdated:
    name: ClassVar[str] = "verification_updated"
    checklist: dict[str, Any]

    def payload(self) -> Any:
        return self.checklist


@dataclass(frozen=True, slots=True)
class CaptureStillRequested(_Fields):
    name: ClassVar[str] = "capture_still_requested"
    kind: str
    upload_url: str


@dataclass(frozen=True, slots=True)
class CaptureStillFailed(_Fields):
    name: ClassVar[str] = "capture_still_failed"
    kind: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CasesUpdated(_Fields):
    name: ClassVar[str] = "cases_updated"
    cases: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CasePaymentLink(_Fields):
    name: ClassVar[str] = "case_payment_link"
    case_id: str
    reference: str
    url: str
