"""An access log that keeps no personal data: no client address, no link tokens."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

# Join links, capture view links and one-time photo upload links carry tokens.
_TOKEN_PATH = re.compile(r"^(/t|/erfassungen(?:/hochladen)?)/[^/?]+")


def redact(path: str) -> str:
    return _TOKEN_PATH.sub(r"\1/…", path)


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = redact(request.path)
        self.logger.info(
            '"%s %s" %d %.1f ms',
            request.method,
            path,
            response.status,
            time * 1000,
            # As fields of their own in JSON logs (BB_LOG_FORMAT=json).
            extra={
                "method": request.method,
                "path": path,
                "status": response.status,
                "duration_ms": round(time * 1000, 1),
            },
        )
