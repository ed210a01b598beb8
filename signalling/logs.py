"""Log lines as text or as JSON (``BB_LOG_FORMAT=json``), each with the id of the
request it belongs to, so one request's lines can be found together.

Nothing personal goes in: log records name things by id, the access log keeps no
client address and no link token (``signalling.access_log``). The request id is
random, or taken from the proxy's ``X-Request-Id`` when that is a plain token, and is
sent back in the answer's ``X-Request-Id``. Socket.IO events log with the id of the
websocket's request.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TextIO

from aiohttp import web

from common.log_format import formatter

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """One handler on the root logger (to stderr), in the chosen format."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format, TEXT_FORMAT, "request_id"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id(request: web.Request) -> str:
    offered = request.headers.get("X-Request-Id", "")
    return offered if _ACCEPTED_ID.fullmatch(offered) else secrets.token_hex(8)
