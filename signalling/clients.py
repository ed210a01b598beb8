"""Who is asking: the client address (behind a proxy or not) and rate limits on it."""

from __future__ import annotations

from aiohttp import web

from signalling.keys import RATE_LIMITER, SETTINGS
from signalling.ratelimit import Limit

BOOKING = Limit(count=10, seconds=600)
LOGIN = Limit(count=20, seconds=600)
LINK = Limit(count=60, seconds=60)
# The waiting room's connection check, per appointment: one check is four requests
# (the ICE servers, two downloads, one upload), so this is five checks in ten minutes.
CONNECTION_CHECK = Limit(count=20, seconds=600)


def client_ip(request: web.Request) -> str:
    if request.app[SETTINGS].behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        # The proxy appends the address it saw: the last entry is the one to trust.
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.remote or "unknown"


async def allow(request: web.Request, action: str, limit: Limit) -> bool:
    """Whether this client may do ``action`` once more now (office-wide with Redis)."""
    return await request.app[RATE_LIMITER].allow(f"{action}:{client_ip(request)}", limit)


def secure_cookies(request: web.Request) -> bool:
    """Cookies get the Secure flag when citizens reach us over https.

    Decided by the public URL, not by the request: behind a TLS-terminating proxy
    the request itself arrives over plain http.
    """
    return request.app[SETTINGS].public_url.startswith("https://")
