"""What the capture desk tells the citizen and the clerk.

Events in the sense of :class:`signalling.sockets.protocol.Outgoing` (a ``name`` and
a JSON ``payload()``), defined here because the desk that sends them lives in
``media``; docs/protocol.md describes them with the rest of the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal


@dataclass(frozen=True, slots=True)
class CaptureGuidance:
    """To the citizen: what the camera shows of the document, in their language."""

    name: ClassVar[str] = "capture_guidance"
    found: bool
    verdict: str
    hints: list[str] = field(default_factory=list)

    def payload(self) -> Any:
        return {"found": self.found, "verdict": self.verdict, "hints": self.hints}


@dataclass(frozen=True, slots=True)
class CapturePrompt:
    """To the citizen: what to show now (None once it is kept)."""

    name: ClassVar[str] = "capture_prompt"
    kind: str | None
    taken: str | None = None

    def payload(self) -> Any:
        if self.taken is None:
            return {"kind": self.kind}
        return {"kind": self.kind, "taken": self.taken}


# How a capture was taken: by the clerk's capture_take, armed (capture_auto), or an
# uploaded photo (capture_still).
TakenBy = Literal["take", "auto", "still"]


def taken_by(how: TakenBy) -> dict[str, Any]:
    """What a capture's data says of how it was taken (the ack of ``capture_take``
    says nothing; ``capture_taken`` says "auto" or "still")."""
    if how == "auto":
        return {"auto": True}
    if how == "still":
        return {"auto": False, "source": "still"}
    return {}


@dataclass(frozen=True, slots=True)
class CaptureTaken:
    """To the clerk: a capture kept without her ``capture_take``: armed, or a photo upload."""

    name: ClassVar[str] = "capture_taken"
    shot: dict[str, Any]  # as the ack of capture_take
    source: Literal["auto", "still"]

    def payload(self) -> Any:
        return {**self.shot, **taken_by(self.source)}


@dataclass(frozen=True, slots=True)
class CaptureAnalysed:
    """To the clerk: a kept capture's MRZ reading, and what it means once two agree."""

    name: ClassVar[str] = "capture_analysed"
    capture_id: str
    analysis: dict[str, Any]
    mrz_accepted: bool
    mrz_fields: dict[str, Any] | None
    name_check: dict[str, Any] | None
    # The accepted MRZ's expiry against the town's today (an unreadable date counts
    # as expired); None until two captures agree.
    mrz_expired: bool | None = None

    def payload(self) -> Any:
        return {
            "capture_id": self.capture_id,
            "analysis": self.analysis,
            "mrz_accepted": self.mrz_accepted,
            "mrz_fields": self.mrz_fields,
            "name_check": self.name_check,
            "mrz_expired": self.mrz_expired,
        }
