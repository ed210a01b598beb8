"""A real OpenID provider for the single sign-on tests: panva's oidc-provider (OpenID
Certified) run by Node from ``tests/oidc_provider/`` (installed from its npm lock by
``make test``), with its own login and consent pages.

It listens on loopback only, under ``http://127.0.0.1:PORT``. Two clients are
registered: ours, and another application of the town's (for tokens made out to
someone else). Its accounts live in a JSON file it reads at every lookup, so a test
can move a person to other groups between two logins.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest

from tests.helpers.constants import ROOT
from tests.helpers.services import REQUIRE_SERVICES, free_port

PROVIDER_DIR = ROOT / "tests" / "oidc_provider"
CLIENT_ID = "buergerbuero"
CLIENT_SECRET = "test-client-secret-7dQ2pX9vL4mK8sR1"
OTHER_CLIENT_ID = "andere-anwendung"  # another application at the same provider
OTHER_SECRET = "other-client-secret-3Hf6Tz0bN5wC2yE8"
CALLBACK = "/anmelden/sso/zurueck"
# Groups as a town's directory might name them, and their meaning (BB_OIDC_ROLES).
ROLES = {"bb-sachbearbeitung": "clerk", "bb-verwaltung": "admin", "bb-datenschutz": "dpo"}
SKILL_PREFIX = "bb-skill-"


@dataclass
class Account:
    login: str  # the username (preferred_username)
    sub: str  # the provider's opaque subject; its login page takes it as the login
    name: str
    groups: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "claims": {"name": self.name, "preferred_username": self.login, "groups": self.groups},
        }


def default_accounts() -> list[Account]:
    return [
        Account(
            "lena.sso",
            "7f1c2a9e-sub-lena",
            "Lena Lang",
            ["bb-sachbearbeitung", "bb-skill-meldewesen", "bb-skill-beratung", "kantine"],
        ),
        Account("otto.sso", "c0ffee01-sub-otto", "Otto Ohm", ["bb-verwaltung"]),
        Account("gast.sso", "0bad0bad-sub-gast", "Gabi Gast", ["kantine"]),  # no role here
    ]


class OidcProvider:
    """The running provider: its issuer, and its accounts to change."""

    def __init__(self, folder: Path, redirect_bases: list[str]) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.accounts = default_accounts()
        self._config = folder / "provider.json"
        self._log = folder / "provider.log"
        self._redirect_bases = redirect_bases
        self._process: subprocess.Popen[bytes] | None = None

    def _client(self, client_id: str, secret: str) -> dict[str, Any]:
        return {
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": [f"{base}{CALLBACK}" for base in self._redirect_bases],
            "post_logout_redirect_uris": [f"{base}/anmelden" for base in self._redirect_bases],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid profile email groups",
        }

    def save_accounts(self) -> None:
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "clients": [
                self._client(CLIENT_ID, CLIENT_SECRET),
                self._client(OTHER_CLIENT_ID, OTHER_SECRET),
            ],
            "accounts": [account.as_json() for account in self.accounts],
        }
        self._config.write_text(json.dumps(config))

    def account(self, login: str) -> Account:
        return next(a for a in self.accounts if a.login == login)

    async def sign_in(self, authorization_url: str, login: str, back_to: str) -> str:
        """:func:`sign_in_at_provider` as the person of this username."""
        return await sign_in_at_provider(authorization_url, self.account(login).sub, back_to)

    def start(self) -> None:
        self.save_accounts()
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own script
                [_node(), str(PROVIDER_DIR / "provider.mjs"), str(self._config)],
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=PROVIDER_DIR,
            )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # "ready", or nothing when it died
        if line.strip() != b"ready":
            self.stop()
            raise AssertionError(f"the OpenID provider did not start: {self._log.read_text()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()


def _node() -> str:
    """Node with the provider's packages installed, or skip (fail in CI) saying how."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "Node.js is not installed (apt-get install nodejs npm)"
    elif not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        problem = f"the test OpenID provider is not installed: run `npm ci` in {PROVIDER_DIR}"
    if problem is not None or node is None:
        message = problem or "Node.js is not installed"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}; CI requires it", pytrace=False)
        pytest.skip(message)
    return node


@contextlib.contextmanager
def running_provider(folder: Path, redirect_bases: list[str]) -> Iterator[OidcProvider]:
    provider = OidcProvider(folder, redirect_bases)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def sso_settings(provider: OidcProvider, **overrides: Any) -> dict[str, Any]:
    """The settings that point the app at the test provider."""
    return {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_scopes": ["openid", "profile", "groups"],
        "oidc_roles": ROLES,
        "oidc_skill_prefix": SKILL_PREFIX,
        **overrides,
    }


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)
_PROMPT = re.compile(r'name="prompt" value="(\w+)"')


async def sign_in_at_provider(authorization_url: str, subject: str, back_to: str) -> str:
    """Go through the provider's login and consent pages as a browser would, with a
    jar of its own (another browser than the app's test client); the URL the provider
    sends the browser back to (which starts with ``back_to``)."""
    jar = aiohttp.CookieJar(unsafe=True)  # the provider is on an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        url = authorization_url
        for _ in range(12):
            response = await browser.get(url, allow_redirects=False)
            while response.status in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if url.startswith(back_to):
                    return url
                response = await browser.get(url, allow_redirects=False)
            page = await response.text()
            form, prompt = _FORM.search(page), _PROMPT.search(page)
            assert response.status == 200 and form and prompt, f"{response.status}: {page[:500]}"
            data = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                data |= {"login": subject, "password": "any password: the test provider's"}
            response = await browser.post(
                urljoin(url, form.group(1)), data=data, allow_redirects=False
            )
            assert response.status in (302, 303), await response.text()
            url = urljoin(url, response.headers["Location"])
            if url.startswith(back_to):
                return url
    raise AssertionError("the provider never sent the browser back")


def path_of(url: str) -> str:
    """The path and query of a URL (the test client knows the host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
