"""CSRF protection for HTML forms: a signed double-submit token.

The browser holds a random value in an HttpOnly, SameSite=Strict cookie; every form
carries an HMAC of it. A forged cross-site POST has neither the cookie (SameSite)
nor a way to compute the HMAC. The JSON API is not covered: it accepts only
``application/json``, which a cross-site form cannot send without CORS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web

from signalling import cookies

_VALUE = web.RequestKey("csrf_cookie", str)
_NEW_VALUE = web.RequestKey("csrf_cookie_new", str)
FIELD = "csrf"


class CsrfGuard:
    def __init__(self, secret: str, secure_cookies: bool) -> None:
        self._key = hashlib.sha256(b"csrf:" + secret.encode()).digest()
        self._secure = secure_cookies

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def token(self, request: web.Request) -> str:
        """The token to put in a form; creates the cookie value on first use."""
        value = request.get(_VALUE) or request.cookies.get(cookies.CSRF)
        if not value or len(value) > 100:
            value = secrets.token_urlsafe(32)
            request[_NEW_VALUE] = value
        request[_VALUE] = value
        return self._sign(value)

    def set_cookie(self, request: web.Request, response: web.StreamResponse) -> None:
        if (value := request.get(_NEW_VALUE)) is not None:
            response.set_cookie(
                cookies.CSRF, value, httponly=True, samesite="Strict", secure=self._secure, path="/"
            )

    def valid(self, request: web.Request, submitted: str) -> bool:
        value = request.cookies.get(cookies.CSRF)
        if not value or not submitted:
            return False
        return hmac.compare_digest(self._sign(value), submitted)
