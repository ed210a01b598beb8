"""Single sign-on in real Chromium through a real OpenID provider (oidc-provider under
Node): a clerk logs in on the provider's own login and consent pages and lands in the
console with the skills of her groups, an admin with his role; "Abmelden" ends the
provider's session too.

The app is at ``localhost``, the provider at ``127.0.0.1``: two sites, as a town hall's
office and its login server are, so the browser's SameSite rules apply between them
as they would there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page
from pydantic import SecretStr

from signalling.keys import STAFF
from signalling.settings import Mode, Settings
from tests.helpers.browser import accessibility_violations, serving
from tests.helpers.clock import Clock
from tests.helpers.oidc_provider import OidcProvider, running_provider, sso_settings
from tests.helpers.services import free_port

APP_PORT = free_port()
BASE = f"http://localhost:{APP_PORT}"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), [BASE]) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, provider: OidcProvider, clock: Clock) -> Settings:
    clock.set(datetime.now(UTC))  # the provider's tokens carry the real time
    sso = sso_settings(provider)
    sso["oidc_client_secret"] = SecretStr(sso["oidc_client_secret"])
    # Demo mode only for the plain-http public URL (production insists on https).
    return settings.model_copy(update={"mode": Mode.DEMO, "public_url": BASE, **sso})


@pytest.fixture
async def server(app: web.Application) -> AsyncIterator[str]:
    async with serving(app, APP_PORT):
        yield BASE


async def sign_in(page: Page, server: str, provider: OidcProvider, login: str) -> None:
    await page.goto(f"{server}/anmelden")
    await page.click("#sso-login")
    await page.wait_for_url(f"{provider.issuer}/interaction/**")
    await page.fill("input[name=login]", provider.account(login).sub)
    await page.fill("input[name=password]", "any password: the test provider's")
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Continue")  # the consent page
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server}/sachbearbeitung")


async def test_a_clerk_and_an_admin_sign_in_at_the_provider_and_out_again(
    server: str, browser: Browser, provider: OidcProvider, app: web.Application
) -> None:
    clerk = await browser.new_context()
    page = await clerk.new_page()
    await page.goto(f"{server}/anmelden")
    assert await accessibility_violations(page) == []
    await sign_in(page, server, provider, "lena.sso")
    # The console, with the services of her two skills and none of the others.
    greeting = await page.text_content("#console-heading + p") or ""
    assert greeting.startswith("Angemeldet als Lena Lang")
    assert "Meldebescheinigung" in greeting and "Allgemeine Beratung" in greeting
    assert "Führungszeugnis" not in greeting
    assert await page.locator("a[href='/dashboard']").count() == 0

    admin = await browser.new_context()
    admin_page = await admin.new_page()
    await sign_in(admin_page, server, provider, "otto.sso")
    await admin_page.click("a[href='/dashboard']")
    await admin_page.wait_for_url(f"{server}/dashboard")
    accounts = {c.username: c.role for c in await app[STAFF].all()}
    assert accounts == {"lena.sso": "clerk", "otto.sso": "admin"}

    # Logging out goes on to the provider, which asks, then sends the browser back.
    await page.click("form.bb-logout button:not([name])")
    await page.wait_for_url(f"{provider.issuer}/session/end**")
    await page.click("button[name=logout][value=yes]")
    await page.wait_for_url(f"{server}/anmelden")
    await page.goto(f"{server}/sachbearbeitung")
    assert page.url == f"{server}/anmelden"
    # The provider's session ended too: the next single sign-on asks for the login again.
    await page.click("#sso-login")
    await page.wait_for_selector("input[name=login]")
    await clerk.close()
    await admin.close()
