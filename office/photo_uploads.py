"""One-time links for uploading a full-resolution photo of the ID document.

BSI TR-03147 finds that compressed video frames lose fine security features
(microprint, guilloches), so the clerk can ask for a photo taken on the citizen's
device instead. The link's token is valid for two minutes and bound to the
appointment, the running check, the clerk, the kind of capture and whether it is
the front of a German ID card. It is good for one upload on every node: its ``jti``
goes into the database (``spent_tokens``, a primary key) before the photo is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import get_args

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from office import audit
from office.context import Office
from office.errors import (
    TokenExpired,
    TokenInvalid,
    UploadTokenExpired,
    UploadTokenInvalid,
    UploadTokenUsed,
)
from office.models import SpentToken
from office.tokens import Audience
from office.verification import CaptureKind

UPLOAD_TTL = timedelta(minutes=2)
KINDS: frozenset[str] = frozenset(get_args(CaptureKind))


@dataclass(frozen=True)
class UploadGrant:
    """What a genuine, unexpired upload token allows: one photo of ``kind``."""

    jti: str
    appointment_id: str
    verification_id: str
    clerk_id: int
    kind: CaptureKind
    german_id: bool
    expires_at: datetime


class PhotoUploads:
    def __init__(self, office: Office) -> None:
        self.office = office

    def issue(
        self,
        appointment_id: str,
        verification_id: str,
        clerk_id: int,
        kind: CaptureKind,
        german_id: bool,
    ) -> str:
        return self.office.signer.issue(
            Audience.CAPTURE_UPLOAD,
            appointment_id,
            self.office.now() + UPLOAD_TTL,
            verification=verification_id,
            clerk=clerk_id,
            kind=kind,
            german_id=german_id,
        )

    def grant(self, token: str) -> UploadGrant:
        """What the token allows; refused when forged, malformed or expired."""
        try:
            claims = self.office.signer.verify(Audience.CAPTURE_UPLOAD, token)
        except TokenExpired:
            raise UploadTokenExpired() from None
        except TokenInvalid:
            raise UploadTokenInvalid() from None
        jti, kind, clerk = claims.get("jti"), claims.get("kind"), claims.get("clerk")
        verification, german_id = claims.get("verification"), claims.get("german_id")
        if not (
            isinstance(jti, str)
            and isinstance(kind, str)
            and kind in KINDS
            and isinstance(clerk, int)
            and isinstance(verification, str)
            and isinstance(german_id, bool)
        ):
            raise UploadTokenInvalid()
        return UploadGrant(
            jti=jti,
            appointment_id=str(claims["sub"]),
            verification_id=verification,
            clerk_id=clerk,
            kind=kind,  # type: ignore[arg-type]  # checked against KINDS above
            german_id=german_id,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    async def spend(self, grant: UploadGrant) -> None:
        """Record the token as used, with the upload in the audit log; refused if it
        already was (on any node)."""
        now = self.office.now()
        try:
            async with self.office.sessions() as session, session.begin():
                session.add(
                    SpentToken(
                        jti=grant.jti,
                        audience=Audience.CAPTURE_UPLOAD.value,
                        spent_at=now,
                        expires_at=grant.expires_at,
                    )
                )
                audit.record(
                    session,
                    now,
                    audit.CITIZEN,
                    "capture.still_uploaded",
                    f"verification:{grant.verification_id}",
                    kind=grant.kind,
                )
        except IntegrityError:
            raise UploadTokenUsed() from None

    async def purge_spent(self) -> int:
        """Forget spent tokens that have expired anyway (the signature refuses them)."""
        async with self.office.sessions() as session, session.begin():
            result = await session.execute(
                delete(SpentToken).where(SpentToken.expires_at < self.office.now())
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
