"""Identity verification: the clerk's guided checklist and its outcome.

A verification belongs to one appointment and records, step by step with a time,
what was checked and whether it passed. The outcome "verified" is only accepted when
every required step's latest entry passed; services that need identity proceed only
then (``is_verified``). Consent to capturing the ID document comes first: no capture
step is accepted before it. Answers to security questions and the one-time code are
never stored, only whether they passed (the code as a keyed hash, until it is used).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from office import audit
from office.context import Office
from office.errors import Conflict, InvalidInput, NotFound
from office.mail import MailKind
from office.models import Appointment, VerificationRecord, VerificationStep
from office.statistics_record import Kind, note_appointment

MAX_CODE_ATTEMPTS = 5


class Step(StrEnum):
    CONSENT = "consent"  # the citizen agrees to the capture of their document
    DOCUMENT_ADMISSIBLE = "document_admissible"
    NOT_EXPIRED = "not_expired"
    FRONT_CAPTURED = "front_captured"
    BACK_CAPTURED = "back_captured"
    FACE_CAPTURED = "face_captured"
    TILT_SEQUENCE = "tilt_sequence"  # hologram seen at two angles
    SECURITY_FEATURES = "security_features"
    MRZ_VALID = "mrz_valid"
    NAME_MATCHES = "name_matches"  # MRZ name consistent with the booking
    PORTRAIT_COMPARED = "portrait_compared"  # the clerk's judgement
    SECURITY_QUESTIONS = "security_questions"
    ONE_TIME_CODE = "one_time_code"


# What a capture shows: a side of the document, the face, or the card tilted one
# way and then the other (the hologram).
CaptureKind = Literal["front", "back", "face", "tilt_a", "tilt_b"]

CAPTURE_STEPS = frozenset(
    {Step.FRONT_CAPTURED, Step.BACK_CAPTURED, Step.FACE_CAPTURED, Step.TILT_SEQUENCE}
)
# Steps the clerk records by hand; the others are recorded by the system.
CLERK_STEPS = frozenset(
    {
        Step.DOCUMENT_ADMISSIBLE,
        Step.NOT_EXPIRED,
        Step.SECURITY_FEATURES,
        Step.MRZ_VALID,
        Step.NAME_MATCHES,
        Step.PORTRAIT_COMPARED,
        Step.SECURITY_QUESTIONS,
    }
    | CAPTURE_STEPS
)


class Outcome(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


def required_steps(document_type: str | None) -> tuple[Step, ...]:
    """What must have passed. A passport's data page has no back side."""
    skip = {Step.BACK_CAPTURED} if document_type == "passport" else set()
    return tuple(step for step in Step if step not in skip)


@dataclass(frozen=True)
class Checklist:
    verification_id: str
    outcome: Outcome
    document_type: str | None
    security_features: tuple[str, ...]
    steps: dict[str, bool | None]  # latest result per required step; None: not yet
    missing: tuple[str, ...]


@dataclass(frozen=True)
class CitizensPart:
    """What the citizen's page shows of a check: the document asked for, whether they
    consented to its capture, and whether a mailed code waits to be typed."""

    document_type: str | None
    consented: bool
    code_requested: bool


class Verifications:
    def __init__(self, office: Office, code_secret: str) -> None:
        self.office = office
        self.rules = office.town.verification
        self._code_key = hashlib.sha256(b"verification-code:" + code_secret.encode()).digest()

    # -- reading -------------------------------------------------------------------

    async def _record(self, verification_id: str) -> VerificationRecord:
        async with self.office.sessions() as session:
            record = await session.get(VerificationRecord, verification_id)
        if record is None:
            raise NotFound("Diese Identitätsprüfung gibt es nicht.")
        return record

    async def checklist(self, verification_id: str) -> Checklist:
        record = await self._record(verification_id)
        latest: dict[str, bool] = {}
        for entry in record.steps:
            latest[entry.step] = entry.passed
        required = required_steps(record.document_type)
        steps = {step.value: latest.get(step.value) for step in required}
        return Checklist(
            verification_id=record.id,
            outcome=Outcome(record.outcome),
            document_type=record.document_type,
            security_features=tuple(record.security_features),
            steps=steps,
            missing=tuple(step for step, passed in steps.items() if passed is not True),
        )

    async def citizens_part(self, verification_id: str) -> CitizensPart:
        record = await self._record(verification_id)
        consented = any(s.step == Step.CONSENT and s.passed for s in record.steps)
        # A code can still be typed while it is unused, unexpired and has tries left.
        open_code = (
            record.otp_hash is not None
            and record.otp_expires_at is not None
            and record.otp_expires_at > self.office.now()
            and record.otp_attempts < MAX_CODE_ATTEMPTS
        )
        return CitizensPart(record.document_type, consented, open_code)

    async def is_verified(self, appointment_id: str) -> bool:
        async with self.office.sessions() as session:
            verified = await session.scalar(
                select(VerificationRecord.id).where(
                    VerificationRecord.appointment_id == appointment_id,
                    VerificationRecord.outcome == Outcome.VERIFIED,
                )
            )
        return verified is not None

    @staticmethod
    async def _pending(session: AsyncSession, verification_id: str) -> VerificationRecord:
        """The verification, locked for the change, or why it cannot change any more."""
        record = await session.get(VerificationRecord, verification_id, with_for_update=True)
        if record is None:
            raise NotFound()
        if record.outcome != Outcome.PENDING:
            raise Conflict("Die Identitätsprüfung ist bereits abgeschlossen.")
        return record

    # -- the clerk's steps -----------------------------------------------------------

    async def start(self, appointment_id: str, clerk_id: int, document_type: str) -> Checklist:
        """Open a check for the citizen's document; picks the security features to ask.

        A check still in progress for the appointment is given up first (a new document,
        or the clerk starts over): there is at most one pending check per appointment."""
        if document_type not in self.rules.admissible_documents:
            message = "Dieses Dokument wird für die Identitätsprüfung nicht akzeptiert."
            raise InvalidInput({"document_type": message})
        features = list(self.rules.security_features.get(document_type, ()))
        picked = secrets.SystemRandom().sample(
            features, min(self.rules.features_per_check, len(features))
        )
        now = self.office.now()
        record = VerificationRecord(
            id=str(uuid.uuid4()),
            appointment_id=appointment_id,
            clerk_id=clerk_id,
            document_type=document_type,
            security_features=picked,
            outcome=Outcome.PENDING,
            started_at=now,
            otp_attempts=0,
        )
        async with self.office.sessions() as session, session.begin():
            if await session.get(Appointment, appointment_id) is None:
                raise NotFound()
            for pending in (
                await session.scalars(
                    select(VerificationRecord).where(
                        VerificationRecord.appointment_id == appointment_id,
                        VerificationRecord.outcome == Outcome.PENDING,
                    )
                )
            ).all():
                pending.outcome = Outcome.FAILED
                pending.failure_reason = "Neu begonnen"
                pending.finished_at = now
                pending.otp_hash = None
            session.add(record)
            audit.record(
                session,
                now,
                audit.staff_actor(clerk_id),
                "verification.started",
                f"verification:{record.id}",
                document_type=document_type,
            )
        return await self.checklist(record.id)

    async def record(
        self, verification_id: str, clerk_id: int, step: Step, passed: bool, **detail: Any
    ) -> Checklist:
        """Record one step of the checklist with its time (and no personal data)."""
        if step not in CLERK_STEPS:
            raise InvalidInput({"step": "Dieser Schritt wird nicht von Hand erfasst."})
        await self._add_step(verification_id, step, passed, audit.staff_actor(clerk_id), detail)
        return await self.checklist(verification_id)

    async def _add_step(
        self, verification_id: str, step: Step, passed: bool, actor: str, detail: dict[str, Any]
    ) -> None:
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            record = await self._pending(session, verification_id)
            if step in CAPTURE_STEPS and not any(
                s.step == Step.CONSENT and s.passed for s in record.steps
            ):
                raise Conflict(
                    "Vor der ersten Aufnahme muss die Person zustimmen, dass ihr Ausweis "
                    "aufgenommen wird."
                )
            session.add(
                VerificationStep(
                    verification_id=record.id, at=now, step=step.value, passed=passed, detail=detail
                )
            )
            audit.record(
                session,
                now,
                actor,
                f"verification.{step.value}",
                f"verification:{record.id}",
                passed=passed,
            )

    async def consent(self, verification_id: str) -> Checklist:
        """The citizen agrees to the capture of their ID document (their own click)."""
        await self._add_step(verification_id, Step.CONSENT, True, audit.CITIZEN, {})
        return await self.checklist(verification_id)

    # -- the one-time code -----------------------------------------------------------

    def _hash(self, verification_id: str, code: str) -> str:
        return hmac.new(self._code_key, f"{verification_id}:{code}".encode(), "sha256").hexdigest()

    async def send_code(self, verification_id: str) -> None:
        """Mail a fresh six-digit code to the booking's address (a new one replaces it)."""
        code = f"{secrets.randbelow(10**6):06d}"
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            record = await self._pending(session, verification_id)
            appointment = await session.get(Appointment, record.appointment_id)
            if appointment is None or appointment.email is None:
                raise Conflict("Für diesen Termin ist keine E-Mail-Adresse mehr gespeichert.")
            record.otp_hash = self._hash(record.id, code)
            record.otp_expires_at = now + timedelta(minutes=self.rules.code_minutes)
            record.otp_attempts = 0
            self.office.enqueue_mail(
                session,
                MailKind.VERIFICATION_CODE,
                appointment,
                {"code": code, "code_minutes": self.rules.code_minutes},
            )
            audit.record(
                session, now, audit.SYSTEM, "verification.code_sent", f"verification:{record.id}"
            )
        self.office.mail_queued()

    async def check_code(self, verification_id: str, code: str) -> bool:
        """The citizen types the code in the call. Five tries per code."""
        code = code.strip()
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            record = await self._pending(session, verification_id)
            if record.otp_hash is None or record.otp_expires_at is None:
                raise Conflict("Bitte lassen Sie sich zuerst einen Code senden.")
            if record.otp_expires_at <= now or record.otp_attempts >= MAX_CODE_ATTEMPTS:
                raise Conflict("Der Code ist abgelaufen. Bitte fordern Sie einen neuen an.")
            record.otp_attempts += 1
            passed = len(code) == 6 and hmac.compare_digest(
                record.otp_hash, self._hash(record.id, code)
            )
            if passed:
                record.otp_hash = None  # used: it cannot be replayed
            session.add(
                VerificationStep(
                    verification_id=record.id,
                    at=now,
                    step=Step.ONE_TIME_CODE,
                    passed=passed,
                    detail={"attempt": record.otp_attempts},
                )
            )
            audit.record(
                session,
                now,
                audit.CITIZEN,
                "verification.one_time_code",
                f"verification:{record.id}",
                passed=passed,
            )
        return passed

    # -- the outcome -----------------------------------------------------------------

    async def finish(
        self, verification_id: str, clerk_id: int, outcome: Outcome, reason: str | None = None
    ) -> Checklist:
        checklist = await self.checklist(verification_id)
        if checklist.outcome != Outcome.PENDING:
            raise Conflict("Die Identitätsprüfung ist bereits abgeschlossen.")
        if outcome is Outcome.VERIFIED and checklist.missing:
            raise Conflict(
                "Die Checkliste ist noch nicht vollständig: " + ", ".join(checklist.missing)
            )
        if outcome is Outcome.FAILED and not (reason and reason.strip()):
            raise InvalidInput({"reason": "Bitte geben Sie einen Grund an."})
        if outcome is Outcome.PENDING:
            raise InvalidInput({"outcome": "Ergebnis: verifiziert oder gescheitert."})
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            record = await self._pending(session, verification_id)  # a concurrent finish won?
            record.outcome = outcome
            record.failure_reason = reason.strip()[:300] if reason else None
            record.finished_at = now
            record.otp_hash = None
            # Counted here, as the clerk decides; a check given up by starting
            # another (``start``) is not an outcome and is not counted.
            appointment = await session.get(Appointment, record.appointment_id)
            if appointment is not None:
                passed = outcome is Outcome.VERIFIED
                kind = Kind.CHECK_PASSED if passed else Kind.CHECK_FAILED
                note_appointment(session, self.office.town, appointment, kind)
            audit.record(
                session,
                now,
                audit.staff_actor(clerk_id),
                f"verification.{outcome.value}",
                f"verification:{record.id}",
            )
        return await self.checklist(verification_id)

    async def current(self, appointment_id: str) -> str | None:
        """The appointment's verification still in progress, if any."""
        async with self.office.sessions() as session:
            return await session.scalar(
                select(VerificationRecord.id)
                .where(
                    VerificationRecord.appointment_id == appointment_id,
                    VerificationRecord.outcome == Outcome.PENDING,
                )
                .order_by(VerificationRecord.started_at.desc())
                .limit(1)
            )

    async def of_appointment(self, appointment_id: str) -> Sequence[str]:
        async with self.office.sessions() as session:
            return (
                await session.scalars(
                    select(VerificationRecord.id)
                    .where(VerificationRecord.appointment_id == appointment_id)
                    .order_by(VerificationRecord.started_at)
                )
            ).all()
