"""Encrypted storage of ID captures, with access control and an audit of every view.

Before a capture is encrypted it becomes a lawful copy (:mod:`media.sealing`): marked
"KOPIE", the CAN of a German ID card's front blacked out and, unless the town turns it
off (``redact_serial_number``), the document number wherever the document's layout
puts it. The vault decides what to black out (:meth:`CaptureVault.prepare`), the image
is sealed where it is (a media worker), and the vault records it
(:meth:`CaptureVault.keep`). Only the copy is kept; the frame it came from stays
untouched for the MRZ reading that follows.

Captures are AES-GCM encrypted with a key from configuration (``BB_CAPTURE_KEY``);
the capture's id and kind are the associated data, so a ciphertext cannot be moved to
another record. Only the clerk who runs the verification and admins may see a
capture, through a link valid for a few minutes; every view and every refusal goes
to the audit log. Captures are deleted after the retention period, or with the
verification's case.

What the clerk's console was told of a capture (its analysis, later its MRZ reading
and what the check's captures agreed on by then) is sealed beside it with the same key
and goes with it, so a console that reloads or reconnects shows it again
(:meth:`CaptureVault.kept`), and readings that finish on different nodes are judged
against each other (:meth:`CaptureVault.record_reading`). Where the town does not keep
document numbers, the reading is kept without it (:func:`withhold_number`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from media.copies import Image
from media.document_number import DOCUMENT_TYPES, DocumentType
from media.mrz import WITHHELD, MrzResult, without_number
from media.sealing import Sealer, SealOrder
from office import audit
from office.context import Office
from office.errors import NotFound, OfficeError
from office.models import Capture, Clerk, Role, VerificationRecord
from office.tokens import Audience, Signer

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=5)
KINDS = ("front", "back", "face", "tilt_a", "tilt_b")
DOCUMENT_KINDS: frozenset[str] = frozenset({"front", "back", "tilt_a", "tilt_b"})


class CaptureForbidden(OfficeError):
    """The viewer may not see this capture."""

    code = "capture_forbidden"
    message = "Sie dürfen diese Aufnahme nicht sehen."


def load_key(encoded: str) -> bytes:
    """A 256-bit key, given as base64 (``BB_CAPTURE_KEY``)."""
    key = base64.b64decode(encoded, validate=True)
    if len(key) != 32:
        raise ValueError("BB_CAPTURE_KEY must be 32 bytes, base64-encoded")
    return key


@dataclass(frozen=True)
class StoredCapture:
    capture_id: str
    kind: str


@dataclass(frozen=True)
class Reading:
    """A capture's MRZ reading as the clerk was told it (``analysed``: the payload of
    ``capture_analysed``), and ``agreement``: a keyed hash of its lines when every
    check digit passed (two equal ones make the MRZ accepted), else None."""

    capture_id: str
    analysed: dict[str, Any]
    agreement: str | None


@dataclass(frozen=True)
class KeptCapture:
    """A stored capture with what the console was told of it, for a console that
    shows the check again."""

    capture_id: str
    kind: str
    taken_at: datetime
    shot: dict[str, Any] | None  # None: stored without it (before it was kept)


class CaptureVault:
    def __init__(self, office: Office, key: bytes, signer: Signer) -> None:
        self.office = office
        self.sealer = Sealer(key)
        self.key = key  # handed to the media workers, which seal where the image is
        self.signer = signer
        self._redact_number = office.town.verification.redact_serial_number
        # Readings are compared by a keyed hash of their lines, not the lines, so the
        # agreement holds where the document number is not kept.
        self._agreement_key = hashlib.sha256(b"mrz-agreement:" + key).digest()

    def needs_flat_document(self, kind: str) -> bool:
        """Whether a capture of ``kind`` may only be kept once the document is found and
        flattened: where its number is blacked out is known only on the document."""
        return self._redact_number and kind in DOCUMENT_KINDS

    async def prepare(
        self, verification_id: str, kind: str, *, german_id_front: bool = False
    ) -> SealOrder:
        """What a new capture of ``kind`` will be sealed as: its id and nonce, and what
        to black out. A document side is expected flattened (:meth:`needs_flat_document`)."""
        if kind not in KINDS:
            raise ValueError(f"unknown capture kind {kind!r}")
        number_of = await self._number_to_black_out(verification_id, kind)
        return SealOrder(
            str(uuid.uuid4()), kind, secrets.token_bytes(12), number_of, german_id_front
        )

    async def keep(
        self,
        verification_id: str,
        order: SealOrder,
        ciphertext: bytes,
        shot: dict[str, Any] | None = None,
    ) -> StoredCapture:
        """Record a capture sealed as ``order`` says, with ``shot``: what the clerk is
        told of it (its analysis; no document number is in it, the MRZ is read later)."""
        now = self.office.now()
        sealed = (
            None
            if shot is None
            else self.sealer.seal_json(shot, order.capture_id, order.kind, "shot")
        )
        async with self.office.sessions() as session, session.begin():
            if await session.get(VerificationRecord, verification_id) is None:
                raise NotFound()
            session.add(
                Capture(
                    id=order.capture_id,
                    verification_id=verification_id,
                    kind=order.kind,
                    nonce=order.nonce,
                    ciphertext=ciphertext,
                    created_at=now,
                    shot=sealed,
                )
            )
            audit.record(
                session,
                now,
                audit.SYSTEM,
                "capture.stored",
                f"capture:{order.capture_id}",
                verification=verification_id,
                kind=order.kind,
            )
        return StoredCapture(order.capture_id, order.kind)

    def agreement(self, result: MrzResult | None) -> str | None:
        """The key two readings must share to agree: only fully valid ones have one."""
        if result is None or not result.valid:
            return None
        lines = "\n".join(result.lines).encode()
        return hmac.new(self._agreement_key, lines, "sha256").hexdigest()

    async def record_reading(
        self,
        verification_id: str,
        capture_id: str,
        judge: Callable[[Sequence[Reading]], Reading],
    ) -> Reading:
        """Keep a capture's reading: ``judge`` makes it from the check's earlier
        readings, in the order they were kept. The check's row is locked meanwhile, so
        readings finishing at once, on any node, are judged one after the other."""
        async with self.office.sessions() as session, session.begin():
            await session.get(VerificationRecord, verification_id, with_for_update=True)
            rows = await _listed(session, verification_id)
            reading = judge(self._readings(rows))
            capture = next((row for row in rows if row.id == capture_id), None)
            if capture is not None:  # gone meanwhile (its case ended): nothing to keep
                kept = {
                    "analysed": self._keepable(reading.analysed),
                    "agreement": reading.agreement,
                }
                capture.reading = self.sealer.seal_json(kept, capture.id, capture.kind, "reading")
                last = max((row.read_seq or 0 for row in rows), default=0)
                capture.read_seq = last + 1
        return reading

    def _readings(self, rows: Sequence[Capture]) -> list[Reading]:
        """The readings of ``rows`` (captures), in the order they were judged."""
        read = sorted((row for row in rows if row.read_seq is not None), key=_read_seq)
        readings = []
        for row in read:
            if row.reading is not None:
                kept = self.sealer.open_json(row.reading, row.id, row.kind, "reading")
                readings.append(Reading(row.id, kept["analysed"], kept["agreement"]))
        return readings

    def _keepable(self, analysed: dict[str, Any]) -> dict[str, Any]:
        """The reading as it may be stored: without the document number where the town
        blacks it out of the copies (the clerk saw it live; it is not kept)."""
        if not self._redact_number:
            return analysed
        kept = copy.deepcopy(analysed)
        mrz = (kept.get("analysis") or {}).get("mrz")
        if mrz is not None:
            withhold_number(mrz)
        if kept.get("mrz_fields") is not None:
            kept["mrz_fields"]["document_number"] = None
        return kept

    async def kept(self, verification_id: str) -> tuple[list[KeptCapture], list[Reading]]:
        """A check's captures in the order they were taken, and their readings in the
        order they were judged, as the console was told them."""
        async with self.office.sessions() as session:
            rows = await _listed(session, verification_id)
        captures = [
            KeptCapture(
                row.id,
                row.kind,
                row.created_at,
                None
                if row.shot is None
                else self.sealer.open_json(row.shot, row.id, row.kind, "shot"),
            )
            for row in rows
        ]
        return captures, self._readings(rows)

    async def store(
        self, verification_id: str, kind: str, image: Image, *, german_id_front: bool = False
    ) -> StoredCapture:
        """Prepare, seal (in a thread of this process) and keep one capture. The capture
        desk seals in its media workers instead, where the image already is."""
        order = await self.prepare(verification_id, kind, german_id_front=german_id_front)
        ciphertext = await asyncio.get_running_loop().run_in_executor(
            None, self.sealer.seal, image, order
        )
        return await self.keep(verification_id, order, ciphertext)

    async def _number_to_black_out(self, verification_id: str, kind: str) -> DocumentType | None:
        """The document type whose number a capture of ``kind`` must not show, or None."""
        if not self.needs_flat_document(kind):
            return None
        async with self.office.sessions() as session:
            record = await session.get(VerificationRecord, verification_id)
        if record is None:
            raise NotFound()
        document_type = record.document_type
        if document_type not in DOCUMENT_TYPES:
            # Checks start only for these (the clerk's command says which): no copy is
            # kept of a document whose number could not be found.
            raise ValueError(f"no layout for document type {document_type!r}")
        return cast(DocumentType, document_type)

    async def _check_viewer(self, capture_id: str, viewer: Clerk) -> Capture:
        async with self.office.sessions() as session:
            capture = await session.get(Capture, capture_id)
            record = (
                await session.get(VerificationRecord, capture.verification_id) if capture else None
            )
        if capture is None or record is None:
            raise NotFound()
        allowed = viewer.role == Role.ADMIN or (
            viewer.role == Role.CLERK and record.clerk_id == viewer.id
        )
        if not allowed:
            await self._audit(viewer, "capture.refused", capture_id)
            raise CaptureForbidden()
        return capture

    async def link(self, capture_id: str, viewer: Clerk) -> str:
        """A token for the viewer to see the capture once within a few minutes."""
        await self._check_viewer(capture_id, viewer)
        return self.signer.issue(
            Audience.CAPTURE_VIEW, capture_id, self.office.now() + LINK_TTL, viewer=viewer.id
        )

    async def open(self, token: str, viewer: Clerk) -> bytes:
        """The decrypted JPEG behind a link, for the viewer the link was made for."""
        claims = self.signer.verify(Audience.CAPTURE_VIEW, token)
        capture_id = str(claims["sub"])
        if claims.get("viewer") != viewer.id:
            await self._audit(viewer, "capture.refused", capture_id)
            raise CaptureForbidden()
        capture = await self._check_viewer(capture_id, viewer)
        try:
            data = self.sealer.open(capture.nonce, capture.ciphertext, capture.id, capture.kind)
        except InvalidTag:
            log.error("capture %s does not decrypt: wrong key or tampered", capture.id)
            raise NotFound() from None
        await self._audit(viewer, "capture.viewed", capture_id)
        return data

    async def _audit(self, viewer: Clerk, action: str, capture_id: str) -> None:
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            audit.record(
                session, now, audit.staff_actor(viewer.id), action, f"capture:{capture_id}"
            )

    async def purge(self, retention: timedelta) -> int:
        """Delete captures older than the retention period; returns how many."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            old = (
                await session.scalars(
                    select(Capture.id).where(Capture.created_at < now - retention)
                )
            ).all()
            if old:
                await session.execute(delete(Capture).where(Capture.id.in_(old)))
                audit.record(
                    session, now, audit.SYSTEM, "capture.purged", "captures", count=len(old)
                )
        return len(old)

    async def delete_for(self, verification_id: str) -> int:
        """Delete a verification's captures (its case is closed)."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            result = await session.execute(
                delete(Capture).where(Capture.verification_id == verification_id)
            )
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            audit.record(
                session,
                now,
                audit.SYSTEM,
                "capture.deleted",
                f"verification:{verification_id}",
                count=count,
            )
        return count


_WHAT_WAS_TOLD = (Capture.shot, Capture.reading, Capture.read_seq)


async def _listed(session: AsyncSession, verification_id: str) -> Sequence[Capture]:
    """A check's captures in the order they were taken, without their images (a
    check may have dozens, each a large ciphertext)."""
    listed = (
        select(Capture)
        .options(load_only(Capture.id, Capture.kind, Capture.created_at, *_WHAT_WAS_TOLD))
        .where(Capture.verification_id == verification_id)
        .order_by(Capture.created_at, Capture.id)
    )
    return (await session.scalars(listed)).all()


def _read_seq(row: Capture) -> int:
    return row.read_seq or 0


def withhold_number(mrz: dict[str, Any]) -> None:
    """Take the document number out of an MRZ reading's JSON (as
    :func:`media.vision.analysis.DocumentAnalysis.to_json` gives it): the field is
    null, its cells in the parsed lines are ``*``, and the raw lines and the
    corrections in those cells are left out."""
    mrz.pop("read_lines", None)
    if mrz.get("fields") is not None:
        mrz["fields"]["document_number"] = None
    if mrz.get("lines") and mrz.get("format"):
        masked = without_number(mrz["format"], mrz["lines"])
        mrz["lines"] = list(masked)
        mrz["corrections"] = [
            c for c in mrz.get("corrections", []) if masked[c["line"]][c["column"]] != WITHHELD
        ]
