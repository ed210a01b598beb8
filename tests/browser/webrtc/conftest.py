"""What every WebRTC browser test shares: an app on the real clock and its own port,
and Chromium with a fake camera: moving stripes (``fake_camera``; a module may give
its own, as the identity check's tests give a card held to the camera).

These tests run in a network namespace with only loopback (``make test`` starts it
with ``unshare``); the server's capture peer may then use 127.0.0.1, which demo mode
allows and production refuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser
from sqlalchemy.ext.asyncio import AsyncEngine

from office.catalogue import Town
from signalling.app import create_app
from signalling.settings import Mode, Settings
from tests.helpers.browser import chromium_or_skip, serving
from tests.helpers.call_pages import write_fake_camera
from tests.helpers.constants import SECRET as APP_SECRET
from tests.helpers.coturn import SECRET, SHIPPED_CONFIG, TEST_CONFIG, Turn, coturn
from tests.helpers.services import free_port


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'webrtc.db'}"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, port: int) -> Settings:
    # Demo mode: production insists on an https:// public URL, and the browser must
    # reach the server at exactly its public URL (the Socket.IO origin check).
    return Settings(
        _env_file=None,
        mode=Mode.DEMO,
        secret_key=APP_SECRET,
        database_url=database_url,
        redis_url=None,
        public_url=f"http://127.0.0.1:{port}",
        data_dir=tmp_path / "var",
        capture_allow_loopback=True,  # the namespace has nothing but loopback
    )


@pytest.fixture
def app(settings: Settings, town: Town, engine: AsyncEngine) -> web.Application:
    bookable_now = town.model_copy(
        update={"booking": town.booking.model_copy(update={"lead_minutes": 0})}
    )
    return create_app(settings, town=bookable_now, run_jobs=False)  # the real clock


@pytest.fixture
async def server(app: web.Application, port: int) -> AsyncIterator[str]:
    async with serving(app, port) as base:
        yield base


@pytest.fixture
async def browser(fake_camera: Path) -> AsyncIterator[Browser]:
    async with chromium_or_skip(fake_camera) as launched:
        yield launched


@pytest.fixture
def turn_config() -> str:
    """ "test": relays between loopback peers (all there is in the namespace);
    "shipped": deploy/turnserver.conf, which refuses to relay into local networks."""
    return "test"


@pytest.fixture
def turn(tmp_path: Path, turn_config: str) -> Iterator[Turn]:
    """The town's coturn on loopback (tests/helpers/coturn.py), for a test that asks."""
    config = ["-c", str(SHIPPED_CONFIG)] if turn_config == "shipped" else TEST_CONFIG
    with coturn(tmp_path, SECRET, config) as started:
        yield started


@pytest.fixture
def fake_camera(tmp_path: Path) -> Iterator[Path]:
    path = write_fake_camera(tmp_path / "camera.y4m")
    yield path
    path.unlink()
