"""Every cookie the office sets, by name, and reading one from a Socket.IO handshake.

Each holds a random or signed token and nothing else, is HttpOnly, and is Secure
whenever citizens reach the office over https (``signalling.clients.secure_cookies``).
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any

APPOINTMENT = "bb_termin"  # the citizen's session, set when the mailed link is opened
STAFF = "bb_staff"  # a clerk's or admin's session
LOGIN_STEP = "bb_login"  # between the password and the second factor
BOOKING_RECEIPT = "bb_booked"  # shows the confirmation page once after booking
CSRF = "bb_csrf"  # the double-submit value behind every form's token
LANGUAGE = "bb_lang"  # the page language the citizen chose
GUEST = "bb_gast"  # an interpreter's or companion's session, while the call lasts
SSO_STEP = "bb_sso"  # a single sign-on under way, until the provider sends the browser back
SSO_HINT = "bb_sso_hint"  # the provider's ID token, for its logout (id_token_hint)


def from_handshake(environ: dict[str, Any], name: str) -> str:
    """A cookie the browser sent with the websocket's handshake ("" if none)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:  # a malformed Cookie header is a missing cookie
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""
