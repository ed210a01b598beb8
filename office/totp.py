"""The second factor's codes (TOTP, RFC 6238) and its secret, sealed at rest."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from office.errors import AuthFailed
from office.sealed import SealBroken, Sealer, is_sealed

STEP = 30
UNREADABLE = (
    "Ihr zweiter Faktor muss neu eingerichtet werden. Bitte wenden Sie sich an die Administration."
)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, name: str, issuer_name: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=name, issuer_name=issuer_name)


def matching_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step whose code matches (±1 step for clock drift), if not used yet."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now.timestamp()) // STEP
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue  # replay of a code that was already accepted
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def seal(sealer: Sealer | None, secret: str, clerk_id: int) -> str:
    """Without a sealer (tools, benchmarks) the secret is kept as it is."""
    return sealer.seal(secret, f"clerk:{clerk_id}") if sealer else secret


def unseal(sealer: Sealer | None, stored: str, clerk_id: int) -> str:
    if sealer is None:
        if is_sealed(stored):
            raise AuthFailed(UNREADABLE)
        return stored
    try:
        return sealer.open(stored, f"clerk:{clerk_id}")
    except SealBroken:
        raise AuthFailed(UNREADABLE) from None
