"""One mapping from domain errors to HTTP: statuses and the JSON error shape."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from office.errors import (
    AuthFailed,
    Conflict,
    InvalidInput,
    NotFound,
    OfficeError,
    TokenInvalid,
    Unavailable,
)

STATUS: list[tuple[type[OfficeError], int]] = [
    (InvalidInput, 400),
    (TokenInvalid, 404),  # a bad link reveals no more than a missing page
    (NotFound, 404),
    (Conflict, 409),
    (AuthFailed, 401),
    (Unavailable, 503),
]


def status_of(error: OfficeError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 400)


def api_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def api_error_from(error: OfficeError) -> web.Response:
    extra = {"fields": error.fields} if isinstance(error, InvalidInput) and error.fields else {}
    return api_error(status_of(error), error.code, error.message, **extra)
