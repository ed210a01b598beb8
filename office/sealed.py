"""Small secrets sealed at rest: AES-256-GCM under a key derived from the
application's secret key (HKDF-SHA256, one key per purpose).

Used for the clerks' TOTP secrets, so a copy of the database alone (a backup, a
leaked dump) does not let anyone produce their second-factor codes. Each value is
bound to the row it belongs to (associated data), so a sealed secret copied onto
another row does not open. Values stored before sealing existed (no prefix) are read
as they are and sealed at the next write.

Changing BB_SECRET_KEY makes sealed values unreadable: clerks then enrol their
second factor again (``buergerbuero clerk reset-2fa``).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "s1:"
_NONCE = 12


class SealBroken(Exception):
    """A sealed value does not open: another secret key, or another row's value."""


class Sealer:
    def __init__(self, secret_key: str, purpose: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is needed to seal values")
        self._purpose = purpose.encode()
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"buergerbuero:" + self._purpose
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, row: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._bound(row))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, row: str) -> str:
        if not is_sealed(stored):
            return stored  # stored before sealing existed
        raw = base64.urlsafe_b64decode(stored.removeprefix(PREFIX))
        try:
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._bound(row)).decode()
        except InvalidTag:
            raise SealBroken() from None

    def _bound(self, row: str) -> bytes:
        return self._purpose + b":" + row.encode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
