"""Middlewares: error pages, security headers, CSRF checks, the language cookie."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import InterfaceError, OperationalError

from common.i18n import languages, translate
from office.errors import OfficeError, Unavailable
from signalling import cookies, i18n
from signalling.errors import api_error, api_error_from, status_of
from signalling.keys import CSRF, METRICS, SETTINGS
from signalling.logs import REQUEST_ID, request_id
from signalling.metrics import route_of
from signalling.render import error_page

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AnyHandler = TypeVar("AnyHandler", bound=Callable[..., Awaitable[web.StreamResponse]])

# What the database driver raises while PostgreSQL is down or restarting (connections
# refused or cut); SQLAlchemy wraps most, a refused connection may come through bare.
DATABASE_DOWN = (OperationalError, InterfaceError, ConnectionRefusedError, ConnectionResetError)
API_PREFIX = "/api/"
STATIC_PREFIX = "/static/"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DIRECTIVES = (
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY = "; ".join(DIRECTIVES)


@functools.cache
def content_security_policy(sso_issuer: str = "") -> str:
    """The policy of every answer. With single sign-on, "Abmelden" goes on to the
    provider's logout: Chromium applies form-action to a form's redirects too, so the
    provider's origin is allowed there (and nowhere else)."""
    if not sso_issuer:
        return CONTENT_SECURITY_POLICY
    issuer = urlsplit(sso_issuer)
    origin = f"{issuer.scheme}://{issuer.netloc}"
    return "; ".join(
        f"form-action 'self' {origin}" if d == "form-action 'self'" else d for d in DIRECTIVES
    )


def is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn HTTP errors and crashes into a German page or a JSON error."""
    lang = i18n.language(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        if is_api(request):
            code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
                exc.status, "http_error"
            )
            return api_error(exc.status, code, exc.reason)
        message = translate(lang, "Diese Seite gibt es nicht.") if exc.status == 404 else exc.reason
        return error_page(request, exc.status, message)
    except OfficeError as exc:
        if is_api(request):
            return api_error_from(exc)
        return error_page(request, status_of(exc), i18n.error_text(exc, lang))
    except DATABASE_DOWN as exc:
        # PostgreSQL restarting or unreachable: nothing was committed, and trying again
        # shortly will work. Said so, instead of an internal error.
        log.warning("database unavailable in %s %s: %s", request.method, route_of(request), exc)
        down = Unavailable()
        if is_api(request):
            return api_error_from(down)
        return error_page(request, 503, i18n.error_text(down, lang))
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.rel_url.path)
        if is_api(request):
            return api_error(500, "internal_error", "Interner Fehler.")
        return error_page(
            request,
            500,
            translate(
                lang,
                "Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später noch "
                "einmal.",
            ),
        )


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@web.middleware
async def observed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost step: the request's id for its log lines (and the answer's
    ``X-Request-Id``), and its count by method, route pattern and status."""
    REQUEST_ID.set(request_id(request))  # read by the access log after the answer too
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = REQUEST_ID.get()
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-Id"] = REQUEST_ID.get()
        raise
    finally:
        method = request.method if request.method in _METHODS else "other"
        request.app[METRICS].requests.labels(method, route_of(request), str(status)).inc()


def _secure(headers: MutableMapping[str, str], https: bool, policy: str) -> None:
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Links carry tokens in their path: never let them leave in a Referer header to
    # another site. ("no-referrer" would also make Chromium send "Origin: null" on
    # our own form posts, which the CSRF check must refuse.)
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    headers.setdefault("Server", "buergerbuero")  # not aiohttp's name and version
    # Pages, API answers and documents may hold personal data: no cache keeps them,
    # unless a response says otherwise (static files, the town's stylesheet).
    headers.setdefault("Cache-Control", "no-store")
    if https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: every answer gets the headers, also the error pages
    made further in and the redirects and JSON errors that pass through as exceptions."""
    settings = request.app[SETTINGS]
    https = settings.public_url.startswith("https://")
    policy = content_security_policy(settings.oidc_issuer)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc.headers, https, policy)
        raise
    if request.path.startswith(STATIC_PREFIX):
        # Versioned file names (?v=hash), nothing personal: a browser may keep them.
        # (A missing file's 404 is decided only when the file answer is sent.)
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
    _secure(response.headers, https, policy)
    return response


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None  # old browsers send none; "null" is a sandboxed frame
    public = urlsplit(request.app[SETTINGS].public_url)
    allowed = {f"{public.scheme}://{public.netloc}", f"{request.scheme}://{request.host}"}
    return origin in allowed


_BODY_LIMIT = "bb_body_limit"


def allow_large_body(limit: int) -> Callable[[AnyHandler], AnyHandler]:
    """Let one page take a body of up to ``limit`` bytes (an uploaded photo); every
    other page keeps the app's small limit. The CSRF check reads the body with it."""

    def mark(handler: AnyHandler) -> AnyHandler:
        setattr(handler, _BODY_LIMIT, limit)
        return handler

    return mark


_SENDER_SIGNED = "bb_sender_signed"


def signed_by_sender(handler: AnyHandler) -> AnyHandler:
    """Mark a route that no browser calls: a server-to-server POST (PayPal's webhook)
    that carries neither our cookies nor a CSRF token, and whose handler checks the
    sender's signature itself and acts on nothing of a browser's session. CSRF
    protects such a session, so the check is skipped there, and only there."""
    setattr(handler, _SENDER_SIGNED, True)
    return handler


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse cross-site form posts; hand out the CSRF cookie with the first form."""
    guard = request.app[CSRF]
    if getattr(request.match_info.handler, _SENDER_SIGNED, False):
        return await handler(request)
    if request.method in UNSAFE and not is_api(request):
        limit = getattr(request.match_info.handler, _BODY_LIMIT, None)
        if isinstance(limit, int):
            request = request.clone(client_max_size=limit)
        form = await request.post()
        submitted = form.get("csrf")
        if (
            not _same_origin(request)
            or not isinstance(submitted, str)
            or not guard.valid(request, submitted)
        ):
            return error_page(
                request,
                403,
                translate(
                    i18n.language(request),
                    "Die Sicherheitsprüfung des Formulars ist fehlgeschlagen. Bitte laden Sie die "
                    "Seite neu und versuchen Sie es noch einmal.",
                ),
            )
    response = await handler(request)
    guard.set_cookie(request, response)
    return response


@web.middleware
async def language_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    chosen = request.query.get("lang")
    if chosen in languages() and request.cookies.get(cookies.LANGUAGE) != chosen:
        response.set_cookie(
            cookies.LANGUAGE, chosen, max_age=365 * 86400, samesite="Lax", httponly=True, path="/"
        )
    return response
