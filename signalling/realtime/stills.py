"""Full-resolution stills: a photo taken on the citizen's device, uploaded over HTTPS.

BSI TR-03147 finds that compressed video frames lose fine security features
(microprint, guilloches), so the clerk can ask for a photo instead of a frame.
``capture_still`` (clerk) issues a one-time upload token, valid for two minutes and
bound to the appointment, the running verification, the clerk, the kind and
``german_id``, and pushes ``capture_still_requested`` {kind, upload_url} to the
citizen's page. The page takes the photo (ImageCapture, or the camera track at its
resolution) and posts it to ``upload_url`` (``signalling/pages/stills.py``). The
photo goes through ``CaptureDesk.keep``, the same analysis, marking, encryption and
storage as a video capture, and reaches the clerk as ``capture_taken`` with
``"auto": false, "source": "still"``.

A token is good for one upload on every node: its ``jti`` goes into the database
(``spent_tokens``, a primary key) before the photo is kept, so a second upload of the
same token is refused wherever it arrives. A photo refused by the analysis (the card's
outline not found, no face) has used its token too; the clerk gets
``capture_still_failed`` and asks again. Unlike the capture peer, an upload needs no
state of the process that holds a socket: any node can take it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from media.copies import Image
from office import audit
from office.context import Office
from office.errors import Conflict, TokenExpired, TokenInvalid
from office.models import SpentToken
from office.tokens import Audience, Signer
from office.verification import Step, Verifications
from signalling.realtime.capture import CaptureDesk, Kind, Take
from signalling.realtime.lobby import CITIZEN_NS, CLERK_NS, Lobby, citizen_room, clerk_room
from signalling.realtime.namespaces import ClerkNamespace

log = logging.getLogger(__name__)
UPLOAD_TTL = timedelta(minutes=2)
UPLOAD_PATH = "/erfassungen/hochladen/"
KINDS: frozenset[str] = frozenset(get_args(Kind))


@dataclass(frozen=True)
class Refusal:
    """Why an upload is not taken: an HTTP status, a stable code, a German message."""

    status: int
    code: str
    message: str


class UploadRefused(Exception):
    """Raised with a :class:`Refusal`; a new exception each time, so no shared
    exception object keeps one request's traceback (and its frames) alive."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.code)
        self.status = refusal.status
        self.code = refusal.code
        self.message = refusal.message


TOKEN_INVALID = Refusal(403, "upload_token_invalid", "Dieser Link für das Foto ist ungültig.")
TOKEN_EXPIRED = Refusal(
    410,
    "upload_token_expired",
    "Der Link für das Foto ist abgelaufen. Die Sachbearbeitung kann ein neues Foto anfordern.",
)
TOKEN_USED = Refusal(
    410,
    "upload_token_used",
    "Dieses Foto wurde bereits übertragen. Für ein weiteres Foto fordert die "
    "Sachbearbeitung einen neuen Link an.",
)
NOT_YOURS = Refusal(403, "upload_forbidden", "Dieser Link gehört nicht zu Ihrem Termin.")
CHECK_CLOSED = Refusal(409, "verification_closed", "Die Identitätsprüfung läuft nicht mehr.")
CALL_OVER = Refusal(409, "not_in_call", "Das Gespräch ist beendet.")


@dataclass(frozen=True)
class UploadGrant:
    """What a genuine, unexpired upload token allows: one photo of ``kind``."""

    jti: str
    appointment_id: str
    verification_id: str
    clerk_id: int
    kind: Kind
    german_id: bool
    expires_at: datetime


def register_stills(
    clerks: ClerkNamespace,
    lobby: Lobby,
    checks: Verifications,
    desk: CaptureDesk,
    signer: Signer,
    office: Office,
) -> StillDesk:
    stills = StillDesk(lobby, checks, desk, signer, office, clerks)
    clerks.command("capture_still", Take, stills.request)
    return stills


class StillDesk:
    def __init__(
        self,
        lobby: Lobby,
        checks: Verifications,
        desk: CaptureDesk,
        signer: Signer,
        office: Office,
        clerks: ClerkNamespace,
    ) -> None:
        self._lobby = lobby
        self._checks = checks
        self._desk = desk
        self._signer = signer
        self._office = office
        self._clerks = clerks

    # -- the clerk asks ------------------------------------------------------------

    async def request(self, sid: str, payload: Take) -> Any:
        clerk_id, appointment_id = await self._clerks.in_call(sid)
        verification_id = await self._checks.current(appointment_id)
        if verification_id is None:
            raise Conflict("Es läuft keine Identitätsprüfung.")
        checklist = await self._checks.checklist(verification_id)
        if checklist.steps.get(Step.CONSENT.value) is not True:
            raise Conflict("Die Person hat der Aufnahme ihres Ausweises noch nicht zugestimmt.")
        token = self._signer.issue(
            Audience.CAPTURE_UPLOAD,
            appointment_id,
            self._office.now() + UPLOAD_TTL,
            verification=verification_id,
            clerk=clerk_id,
            kind=payload.kind,
            german_id=payload.german_id,
        )
        await self._lobby.sio.emit(
            "capture_still_requested",
            {"kind": payload.kind, "upload_url": UPLOAD_PATH + token},
            to=citizen_room(appointment_id),
            namespace=CITIZEN_NS,
        )
        return {"requested": payload.kind}

    # -- the photo arrives -----------------------------------------------------------

    def grant(self, token: str) -> UploadGrant:
        """What the token allows; refused when forged, malformed or expired."""
        try:
            claims = self._signer.verify(Audience.CAPTURE_UPLOAD, token)
        except TokenExpired:
            raise UploadRefused(TOKEN_EXPIRED) from None
        except TokenInvalid:
            raise UploadRefused(TOKEN_INVALID) from None
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
            raise UploadRefused(TOKEN_INVALID)
        return UploadGrant(
            jti=jti,
            appointment_id=str(claims["sub"]),
            verification_id=verification,
            clerk_id=clerk,
            kind=kind,  # type: ignore[arg-type]  # checked against KINDS above
            german_id=german_id,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    async def receive(self, grant: UploadGrant, image: Image) -> dict[str, Any]:
        """Keep the photo as a capture of the token's check and tell the clerk."""
        if await self._checks.current(grant.appointment_id) != grant.verification_id:
            raise UploadRefused(CHECK_CLOSED)
        route = await self._lobby.store.route(grant.appointment_id, None)
        if route is None or route.peer_clerk != grant.clerk_id:
            raise UploadRefused(CALL_OVER)
        await self._spend(grant)
        try:
            shot = await self._desk.keep(
                grant.clerk_id,
                grant.appointment_id,
                grant.kind,
                grant.german_id,
                image,
                detail=True,
            )
        except Conflict as exc:
            await self._to_clerk(
                grant.clerk_id,
                "capture_still_failed",
                {"kind": grant.kind, "code": "capture_rejected", "message": exc.message},
            )
            raise UploadRefused(Refusal(422, "capture_rejected", exc.message)) from None
        await self._to_clerk(
            grant.clerk_id, "capture_taken", {**shot, "auto": False, "source": "still"}
        )
        return shot

    async def _spend(self, grant: UploadGrant) -> None:
        """Record the token as used; refused if it already was (on any node)."""
        now = self._office.now()
        try:
            async with self._office.sessions() as session, session.begin():
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
            raise UploadRefused(TOKEN_USED) from None

    async def _to_clerk(self, clerk_id: int, event: str, data: Any) -> None:
        await self._lobby.sio.emit(event, data, to=clerk_room(clerk_id), namespace=CLERK_NS)

    async def purge_spent(self) -> int:
        """Forget spent tokens that have expired anyway (the signature refuses them)."""
        async with self._office.sessions() as session, session.begin():
            result = await session.execute(
                delete(SpentToken).where(SpentToken.expires_at < self._office.now())
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
