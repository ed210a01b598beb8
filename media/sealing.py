"""Turning a capture into the encrypted lawful copy the vault keeps.

Pure image work and encryption, no database: it runs wherever the image is (a media
worker, or a thread of the signalling process for a photo kept directly), while the
vault decides beforehand what to black out and records the result afterwards.

The copy is marked "KOPIE"; the CAN of a German ID card's front is blacked out, and
the document number wherever the document's layout puts it
(:mod:`media.document_number`). The capture's id and kind are the AES-GCM associated
data, so a ciphertext cannot be moved to another record.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from media.copies import Image, black_out, black_out_can, encode_jpeg, mark_as_copy
from media.document_number import DocumentType, shown


@dataclass(frozen=True, slots=True)
class SealOrder:
    """What the vault decided for one capture before its image is sealed."""

    capture_id: str
    kind: str
    nonce: bytes
    number_of: DocumentType | None  # the document whose number is blacked out, if any
    german_id_front: bool  # the console says: a German ID card's front (black out the CAN)


def associated_data(capture_id: str, kind: str) -> bytes:
    return f"capture:{capture_id}:{kind}".encode()


_NONCE = 12


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, image: Image, order: SealOrder) -> bytes:
        """The lawful copy of ``image`` as an encrypted JPEG; ``image`` is not changed.

        The CAN goes when the console says this is a German ID card's front and,
        whatever the console says, on every capture the layout recognises as an ID
        card's front (tilted captures for the hologram too) while numbers are redacted.
        Marking, locating the MRZ rows (about 50 ms) and JPEG encoding take 0.1-1.5 s
        for a large photo: never call it on an event loop."""
        side = shown(image, order.number_of, order.kind) if order.number_of is not None else None
        if order.german_id_front or (side is not None and side.id_card_front):
            image = black_out_can(image)
        if side is not None:
            image = black_out(image, side.number_regions())
        data = encode_jpeg(mark_as_copy(image))
        return self._aead.encrypt(order.nonce, data, associated_data(order.capture_id, order.kind))

    def open(self, nonce: bytes, ciphertext: bytes, capture_id: str, kind: str) -> bytes:
        """The JPEG; ``cryptography.exceptions.InvalidTag`` for a wrong key or tampering."""
        return self._aead.decrypt(nonce, ciphertext, associated_data(capture_id, kind))

    def seal_json(self, value: Any, capture_id: str, kind: str, part: str) -> bytes:
        """``value`` as JSON, encrypted for capture ``capture_id`` under a fresh nonce
        (stored in front). What the console was told of a capture is as personal as
        the image: it is kept the same way, and ``part`` keeps one part from being
        opened as another."""
        nonce = os.urandom(_NONCE)
        data = json.dumps(value, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, data, _part_data(capture_id, kind, part))

    def open_json(self, sealed: bytes, capture_id: str, kind: str, part: str) -> Any:
        """What :meth:`seal_json` sealed; ``InvalidTag`` for a wrong key or tampering."""
        nonce, ciphertext = sealed[:_NONCE], sealed[_NONCE:]
        return json.loads(self._aead.decrypt(nonce, ciphertext, _part_data(capture_id, kind, part)))


def _part_data(capture_id: str, kind: str, part: str) -> bytes:
    return associated_data(capture_id, kind) + b":" + part.encode()
