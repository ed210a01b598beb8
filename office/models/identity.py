"""Identity checks, their steps, and the encrypted captures of ID documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.models.base import Base


class VerificationRecord(Base):
    """The identity check of one appointment: checklist, outcome, who and when.

    Never holds the answers to security questions nor the one-time code itself (only
    its hash); ID captures live in ``captures``, encrypted.
    """

    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("clerks.id", ondelete="SET NULL"))
    document_type: Mapped[str | None] = mapped_column(String(32))
    security_features: Mapped[list[str]] = mapped_column(JSON, default=list)
    otp_hash: Mapped[str | None] = mapped_column(String(64))
    otp_expires_at: Mapped[datetime | None]
    otp_attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    steps: Mapped[list[VerificationStep]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="VerificationStep.id",
        passive_deletes=True,
    )


class VerificationStep(Base):
    """One timestamped entry of a verification's step log."""

    __tablename__ = "verification_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verification_id: Mapped[str] = mapped_column(
        ForeignKey("verifications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    step: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Capture(Base):
    """An ID-document or face capture of a verification, encrypted (AES-GCM).

    Only ciphertext is stored; the image inside is already marked "KOPIE" (and the
    card access number blacked out), as the law on ID-card copies asks. What the
    clerk's console was told of it (``shot``: size, quality, tilt, face; ``reading``:
    its MRZ and what the check's captures agreed on by then) is sealed beside it with
    the same key, so a console that reloads shows it again; it goes with the capture.
    """

    __tablename__ = "captures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    verification_id: Mapped[str] = mapped_column(
        ForeignKey("verifications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # front, back, face, tilt_a, tilt_b
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
    shot: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed JSON (media.sealing)
    reading: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed JSON, once read
    # The order in which the check's readings were judged: the MRZ agreement counts
    # them in this order on whichever node a reading finishes (a clock may tie).
    read_seq: Mapped[int | None] = mapped_column(Integer)
