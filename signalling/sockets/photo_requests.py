"""Full-resolution stills: a photo taken on the citizen's device, uploaded over HTTPS.

The clerk's ``capture_still`` issues a one-time upload link (``office.photo_uploads``)
and pushes ``capture_still_requested`` {kind, upload_url} to the citizen's page. The
page takes the photo (ImageCapture, or the camera track at its resolution) and posts
it to ``upload_url`` (``signalling/pages/photo_upload.py``), which hands it here. The photo
goes through ``CaptureDesk.keep``, the same analysis, marking, encryption and
storage as a video capture, and reaches the clerk as ``capture_taken`` with
``"auto": false, "source": "still"``. A photo refused by the analysis (the card's
outline not found, no face) has used its token too; the clerk gets
``capture_still_failed`` and asks again. Unlike the capture peer, an upload needs no
state of the process that holds a socket: any node can take it.
"""

from __future__ import annotations

import logging
from typing import Any

from media.capture_desk import CaptureDesk
from media.capture_events import CaptureTaken
from media.copies import Image
from office.errors import Conflict, VerificationClosed
from office.photo_uploads import PhotoUploads, UploadGrant
from office.verification import Step, Verifications
from rooms.errors import NotInCall
from signalling.sockets.calls import Calls
from signalling.sockets.capture_commands import Take
from signalling.sockets.namespaces import ClerkNamespace
from signalling.sockets.protocol import CaptureStillFailed, CaptureStillRequested

log = logging.getLogger(__name__)
UPLOAD_PATH = "/erfassungen/hochladen/"


class CaptureRejected(Conflict):
    code = "capture_rejected"


def register_photo_requests(
    clerks: ClerkNamespace,
    calls: Calls,
    checks: Verifications,
    desk: CaptureDesk,
    uploads: PhotoUploads,
) -> PhotoRequests:
    requests = PhotoRequests(calls, checks, desk, uploads, clerks)
    clerks.command("capture_still", Take, requests.request)
    return requests


class PhotoRequests:
    def __init__(
        self,
        calls: Calls,
        checks: Verifications,
        desk: CaptureDesk,
        uploads: PhotoUploads,
        clerks: ClerkNamespace,
    ) -> None:
        self._calls = calls
        self._notifier = calls.notifier
        self._checks = checks
        self._desk = desk
        self._uploads = uploads
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
        token = self._uploads.issue(
            appointment_id, verification_id, clerk_id, payload.kind, payload.german_id
        )
        requested = CaptureStillRequested(payload.kind, UPLOAD_PATH + token)
        await self._notifier.citizen(appointment_id, requested)
        return {"requested": payload.kind}

    # -- the photo arrives -----------------------------------------------------------

    async def receive(self, grant: UploadGrant, image: Image) -> dict[str, Any]:
        """Keep the photo as a capture of the token's check and tell the clerk."""
        if await self._checks.current(grant.appointment_id) != grant.verification_id:
            raise VerificationClosed()
        if not await self._calls.serves(grant.clerk_id, grant.appointment_id):
            raise NotInCall("Das Gespräch ist beendet.")
        await self._uploads.spend(grant)
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
            failed = CaptureStillFailed(grant.kind, CaptureRejected.code, exc.message)
            await self._notifier.clerk(grant.clerk_id, failed)
            raise CaptureRejected(exc.message) from None
        await self._notifier.clerk(grant.clerk_id, CaptureTaken(shot, source="still"))
        return shot
