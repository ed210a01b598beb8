"""Fixtures of the browser tests: the app (the root fixtures' production set-up) served
on a port of its own, on SQLite (the pages are under test, not the storage), and a
real Chromium. The WebRTC tests below ``webrtc/`` bring their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser

from tests.helpers.browser import chromium_or_skip, serving
from tests.helpers.services import free_port


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    # The browser path is about pages, not storage: SQLite is enough here.
    return f"sqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
async def server(app: web.Application) -> AsyncIterator[str]:
    async with serving(app, free_port()) as base:
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium_or_skip() as launched:
        yield launched
