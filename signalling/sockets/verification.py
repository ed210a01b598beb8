"""Socket commands of the identity check, on top of the call.

The clerk drives the checklist; the citizen consents to the capture and types the
emailed code. Which appointment a command concerns comes from the sender's call in
the room store, never from the payload.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from office.verification import Checklist, Outcome, Step, Verifications
from rooms.errors import NotInCall
from signalling.sockets.calls import Calls
from signalling.sockets.namespaces import CitizenNamespace, ClerkNamespace
from signalling.sockets.protocol import (
    Empty,
    Payload,
    VerificationCodeRequested,
    VerificationConsentRequested,
    VerificationFinished,
    VerificationUpdated,
)

ClerkStep = Literal[
    "document_admissible",
    "not_expired",
    "front_captured",
    "back_captured",
    "face_captured",
    "tilt_sequence",
    "security_features",
    "mrz_valid",
    "name_matches",
    "portrait_compared",
    "security_questions",
]


class Start(Payload):
    document_type: Literal["id_card", "passport"]


class RecordStep(Payload):
    step: ClerkStep
    passed: bool


class Finish(Payload):
    outcome: Literal["verified", "failed"]
    reason: Annotated[str, StringConstraints(max_length=300)] | None = None


class Code(Payload):
    code: Annotated[str, StringConstraints(pattern=r"^\s*\d{6}\s*$")]


def as_json(checklist: Checklist) -> dict[str, Any]:
    data = dataclasses.asdict(checklist)
    data["outcome"] = checklist.outcome.value
    data["security_features"] = list(checklist.security_features)
    data["missing"] = list(checklist.missing)
    return data


def register_verification(
    citizens: CitizenNamespace, clerks: ClerkNamespace, calls: Calls, checks: Verifications
) -> None:
    notifier = calls.notifier
    clerk_call = clerks.in_call

    async def current(appointment_id: str) -> str:
        verification_id = await checks.current(appointment_id)
        if verification_id is None:
            raise NotInCall("Es läuft keine Identitätsprüfung.")
        return verification_id

    async def start(sid: str, payload: Start) -> Any:
        clerk_id, appointment_id = await clerk_call(sid)
        checklist = await checks.start(appointment_id, clerk_id, payload.document_type)
        # The citizen's consent to the capture comes first, by their own click.
        await notifier.citizen(appointment_id, VerificationConsentRequested(payload.document_type))
        return as_json(checklist)

    async def record(sid: str, payload: RecordStep) -> Any:
        clerk_id, appointment_id = await clerk_call(sid)
        checklist = await checks.record(
            await current(appointment_id), clerk_id, Step(payload.step), payload.passed
        )
        return as_json(checklist)

    async def send_code(sid: str, _: Empty) -> None:
        _clerk, appointment_id = await clerk_call(sid)
        await checks.send_code(await current(appointment_id))
        await notifier.citizen(appointment_id, VerificationCodeRequested())

    async def finish(sid: str, payload: Finish) -> Any:
        clerk_id, appointment_id = await clerk_call(sid)
        checklist = await checks.finish(
            await current(appointment_id), clerk_id, Outcome(payload.outcome), payload.reason
        )
        await notifier.citizen(appointment_id, VerificationFinished(checklist.outcome.value))
        return as_json(checklist)

    async def citizen_call(sid: str) -> tuple[str, int]:
        appointment_id: str = citizens.members[sid]
        return appointment_id, await calls.clerk_serving(appointment_id)

    async def tell_clerk(clerk_id: int, checklist: Checklist) -> None:
        await notifier.clerk(clerk_id, VerificationUpdated(as_json(checklist)))

    async def consent(sid: str, _: Empty) -> None:
        appointment_id, clerk_id = await citizen_call(sid)
        checklist = await checks.consent(await current(appointment_id))
        await tell_clerk(clerk_id, checklist)

    async def code(sid: str, payload: Code) -> Any:
        appointment_id, clerk_id = await citizen_call(sid)
        verification_id = await current(appointment_id)
        passed = await checks.check_code(verification_id, payload.code)
        await tell_clerk(clerk_id, await checks.checklist(verification_id))
        return {"passed": passed}

    register_resume(citizens, clerks, calls, checks)
    clerks.command("verification_start", Start, start)
    clerks.command("verification_record", RecordStep, record)
    clerks.command("verification_send_code", Empty, send_code)
    clerks.command("verification_finish", Finish, finish)
    citizens.command("verification_consent", Empty, consent)
    citizens.command("verification_code", Code, code)


def register_resume(
    citizens: CitizenNamespace, clerks: ClerkNamespace, calls: Calls, checks: Verifications
) -> None:
    """``verification_current`` on either side: the check in progress as that side's
    page shows it, for a page that reloaded or reconnected mid-call (what was pushed
    meanwhile never reached it), or null. The clerk's captures come back through
    ``verification_captures`` (:mod:`signalling.sockets.capture_commands`)."""

    async def clerk_side(sid: str, _: Empty) -> Any:
        _clerk, appointment_id = await clerks.in_call(sid)
        verification_id = await checks.current(appointment_id)
        return None if verification_id is None else as_json(await checks.checklist(verification_id))

    async def citizen_side(sid: str, _: Empty) -> Any:
        appointment_id: str = citizens.members[sid]
        await calls.clerk_serving(appointment_id)  # not_in_call when in none
        verification_id = await checks.current(appointment_id)
        if verification_id is None:
            return None
        return dataclasses.asdict(await checks.citizens_part(verification_id))

    clerks.command("verification_current", Empty, clerk_side)
    citizens.command("verification_current", Empty, citizen_side)
