"""Signed, expiring tokens (JWT, HS256) for links and short-lived cookies.

Each use has its own audience, so a token made for one purpose (say, the emailed
join link) is refused everywhere else (say, as a login cookie).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import jwt

from office.errors import TokenExpired, TokenInvalid


class Audience(StrEnum):
    JOIN_LINK = "bb:join-link"  # the personal link in the confirmation mail
    APPOINTMENT_SESSION = "bb:appointment-session"  # the citizen's cookie after opening it
    LOGIN_SECOND_FACTOR = "bb:login-2fa"  # between password and TOTP code
    BOOKING_RECEIPT = "bb:booking-receipt"  # shows the confirmation page once after booking
    CAPTURE_VIEW = "bb:capture-view"  # a short-lived link to one ID capture
    CAPTURE_UPLOAD = "bb:capture-upload"  # one upload of a full-resolution photo (single use)
    GUEST_INVITE = "bb:guest-invite"  # an interpreter's or companion's link (single use)
    GUEST_SESSION = "bb:guest-session"  # the guest's cookie while the call lasts
    STAFF_ENROLMENT = "bb:staff-enrolment"  # a new account's link to set its password
    SSO_LOGIN = "bb:sso-login"  # a single sign-on under way: its state, nonce, PKCE verifier


class Signer:
    """Issues and checks tokens with one secret key."""

    algorithm = "HS256"

    def __init__(self, secret: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        if len(secret) < 32:
            raise ValueError("the signing secret must have at least 32 characters")
        self._secret = secret
        self._now = now

    def issue(self, audience: Audience, subject: str, expires_at: datetime, **claims: Any) -> str:
        payload = {
            **claims,
            "jti": secrets.token_hex(8),  # every token is unique, even two issued at once
            "aud": audience.value,
            "sub": subject,
            "iat": int(self._now().timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(payload, self._secret, algorithm=self.algorithm)

    def verify(self, audience: Audience, token: str) -> dict[str, Any]:
        """The claims of a genuine, unexpired token for this audience."""
        if not token or len(token) > 2048:
            raise TokenInvalid()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[self.algorithm],
                audience=audience.value,
                options={"require": ["exp", "sub", "aud"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid() from exc
        # Expiry is checked against our clock, not the library's, so tests and the
        # server agree on what "now" is.
        if claims["exp"] <= self._now().timestamp():
            raise TokenExpired()
        return claims
