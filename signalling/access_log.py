"""An access log that keeps no personal data: no client address, no link tokens."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

_TOKEN_PATH = re.compile(r"^/t/[^/?]+")


def redact(path: str) -> str:
    return _TOKEN_PATH.sub("/t/…", path)


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '"%s %s" %d %.1f ms', request.method, redact(request.path), response.status, time * 1000
        )
