"""Real Chromium for end-to-end tests (Debian's package, driven by Playwright).

Never ``playwright install``: it downloads a browser. The flags are those measured
in shared/TESTING.md: fake camera and microphone, loopback ICE, nothing phoning home.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from tests.helpers.services import REQUIRE_SERVICES

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def chromium_path() -> str | None:
    explicit = os.environ.get("BB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def chromium_flags(fake_video: Path | None = None) -> list[str]:
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-loopback-in-peer-connection",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
    ]
    if fake_video is not None:
        flags.append(f"--use-file-for-fake-video-capture={fake_video.resolve()}")
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    return flags


@asynccontextmanager
async def chromium(fake_video: Path | None = None) -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("Chromium is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=path, headless=True, args=chromium_flags(fake_video)
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def chromium_or_skip(fake_video: Path | None = None) -> AsyncIterator[Browser]:
    """Chromium for a fixture: a test without it is skipped, or fails under CI."""
    try:
        async with chromium(fake_video) as launched:
            yield launched
    except FileNotFoundError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[str]:
    """The app on a real loopback port, for a browser to reach; its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def accessibility_violations(page: Page) -> list[str]:
    """WCAG 2.1 A/AA violations axe-core finds on the page, as readable lines."""
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
