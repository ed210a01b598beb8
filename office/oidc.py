"""Single sign-on for staff: the client side of OpenID Connect's authorization code
flow with PKCE (S256), against the town's own provider (Keycloak, ADFS, Entra ID).

Authlib's client (over httpx2) builds the authorization request and exchanges the
code; joserfc checks the ID token: its signature against the keys the provider
publishes (JWKS), the issuer, the audience, the expiry and the nonce this browser's
login began with. The provider's metadata comes from its discovery document and is
kept for an hour. Nothing but the configured provider is ever asked anything.

What the person may do here is decided elsewhere (``office.sso_accounts``); this
module only establishes who they are.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2
from authlib.common.urls import add_params_to_uri
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from office.errors import AuthFailed, Unavailable

log = logging.getLogger(__name__)
DISCOVERY_TTL = 3600.0  # seconds the provider's metadata is trusted before asking again
JWKS_REFRESH_MIN = 60.0  # an unknown key id fetches the keys again, at most this often
LEEWAY = 30  # seconds of clock difference tolerated in exp and iat
TIMEOUT = 10.0
# Signed with the provider's private key only: a shared-secret (HS*) token could be
# made by anyone who knows the client secret, and "none" is no signature at all.
RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
ASYMMETRIC = frozenset((*RSA, "ES256", "ES384", "ES512", "EdDSA", "Ed25519"))


class SsoRefused(AuthFailed):
    """The provider's answer does not prove who this is (or the person said no)."""

    code = "sso_refused"
    message = (
        "Die Anmeldung über den Anmeldedienst ist fehlgeschlagen. Bitte versuchen Sie es erneut."
    )

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason  # a short code for the audit log, never personal data
        super().__init__(message)


class SsoUnavailable(Unavailable):
    """The provider cannot be reached, or its metadata makes no sense."""

    code = "sso_unavailable"
    message = (
        "Der Anmeldedienst Ihrer Verwaltung ist gerade nicht erreichbar. Bitte versuchen Sie "
        "es in einigen Minuten erneut."
    )


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str | None  # None: a public client, PKCE alone
    scopes: tuple[str, ...]
    redirect_uri: str  # our callback, registered at the provider
    post_logout_redirect_uri: str  # where the provider sends the browser after logout


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and what its login must come back with."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """A person the provider vouched for: the ID token's claims, completed by the
    userinfo endpoint's where the ID token leaves them out."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]
    id_token: str  # kept by the browser for the logout at the provider


class OidcClient:
    def __init__(self, config: OidcConfig, now: Callable[[], datetime]) -> None:
        self.config = config
        self._now = now
        # Shared and long-lived: the discovery document, the keys, and building the
        # authorization URL (which holds no per-login state on the client).
        self._http = self._client()
        self._metadata: dict[str, Any] | None = None
        self._metadata_until = 0.0
        self._keys: KeySet | None = None
        self._keys_fetched = 0.0
        self._lock = asyncio.Lock()

    def _client(self, method: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            token_endpoint_auth_method=method,
            scope=" ".join(self.config.scopes),
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT,
        )

    async def close(self) -> None:
        await self._http.aclose()

    # -- the provider's metadata and keys ----------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.request("GET", url, withhold_token=True)
            response.raise_for_status()
            document = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("OpenID provider: %s failed: %s", url, exc)
            raise SsoUnavailable() from exc
        if not isinstance(document, dict):
            raise SsoUnavailable()
        return document

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once an hour."""
        async with self._lock:
            if self._metadata is None or time.monotonic() >= self._metadata_until:
                url = f"{self.config.issuer}/.well-known/openid-configuration"
                document = await self._get_json(url)
                # The document must speak for the issuer we trust (Discovery 1.0, 4.3).
                if document.get("issuer") != self.config.issuer:
                    log.error("OpenID provider: discovery names issuer %r", document.get("issuer"))
                    raise SsoUnavailable()
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(document.get(key), str):
                        log.error("OpenID provider: discovery lacks %s", key)
                        raise SsoUnavailable()
                self._metadata = document
                self._metadata_until = time.monotonic() + DISCOVERY_TTL
            return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        metadata = await self.metadata()
        async with self._lock:
            stale = refresh and time.monotonic() - self._keys_fetched >= JWKS_REFRESH_MIN
            if self._keys is None or stale:
                document = await self._get_json(metadata["jwks_uri"])
                try:
                    self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError) as exc:
                    log.error("OpenID provider: unreadable JWKS: %s", exc)
                    raise SsoUnavailable() from exc
                self._keys_fetched = time.monotonic()
            return self._keys

    def _algorithms(self, metadata: Mapping[str, Any]) -> list[str]:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        allowed = [a for a in offered if a in ASYMMETRIC]
        return allowed or ["RS256"]

    # -- the flow ------------------------------------------------------------------------

    async def begin(self) -> LoginStart:
        """A new login: the authorization URL with a fresh state, nonce and PKCE
        verifier, which the browser must bring back (in a signed cookie)."""
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters (RFC 7636: 43 to 128)
        url, _state = self._http.create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
        return LoginStart(str(url), state, nonce, verifier)

    def _auth_method(self, metadata: Mapping[str, Any]) -> str:
        if not self.config.client_secret:
            return "none"
        offered = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" not in offered and "client_secret_post" in offered:
            return "client_secret_post"
        return "client_secret_basic"

    async def finish(self, code: str, code_verifier: str, nonce: str) -> Identity:
        """Exchange the code (with the PKCE verifier) and check the ID token."""
        metadata = await self.metadata()
        async with self._client(self._auth_method(metadata)) as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
            except OAuthError as exc:
                log.info("OpenID provider refused the code: %s", exc.error)
                raise SsoRefused("token_exchange") from exc
            except httpx2.HTTPError as exc:
                log.warning("OpenID provider: token exchange failed: %s", exc)
                raise SsoUnavailable() from exc
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise SsoRefused("no_id_token")
            claims = await self.check_id_token(id_token, nonce)
            userinfo = await self._userinfo(client, metadata, claims["sub"])
        return Identity(self.config.issuer, claims["sub"], {**userinfo, **claims}, id_token)

    async def _userinfo(
        self, client: AsyncOAuth2Client, metadata: Mapping[str, Any], subject: str
    ) -> dict[str, Any]:
        """What the userinfo endpoint says of the person; many providers put groups
        and names only there. Its subject must be the ID token's (Core 5.3.2)."""
        endpoint = metadata.get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        try:
            response = await client.get(endpoint)
            response.raise_for_status()
            info = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("OpenID provider: userinfo failed: %s", exc)
            raise SsoUnavailable() from exc
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise SsoRefused("userinfo_subject")
        return info

    async def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of a genuine ID token for this client and this login
        (OpenID Connect Core 3.1.3.7), or :class:`SsoRefused` with the reason."""
        metadata = await self.metadata()
        algorithms = self._algorithms(metadata)
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except InvalidKeyIdError:
                # A key we do not know: the provider may have rotated its keys.
                token = jwt.decode(id_token, await self._key_set(True), algorithms=algorithms)
        except (JoseError, ValueError, TypeError) as exc:
            raise SsoRefused(_reason(exc)) from exc
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._now().timestamp()),
            leeway=LEEWAY,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SsoRefused(_reason(exc)) from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        authorized = claims.get("azp", self.config.client_id if len(audiences) == 1 else None)
        if authorized != self.config.client_id:
            raise SsoRefused("claim:azp")
        expected = claims.get("nonce")
        if not isinstance(expected, str) or not hmac.compare_digest(expected, nonce):
            raise SsoRefused("claim:nonce")
        if not isinstance(claims["sub"], str):
            raise SsoRefused("claim:sub")
        return claims

    async def end_session_url(self, id_token_hint: str | None) -> str | None:
        """Where to send the browser to end its session at the provider too
        (RP-initiated logout), or None when the provider offers no such endpoint
        or cannot be reached just now (then only our session ends)."""
        try:
            metadata = await self.metadata()
        except SsoUnavailable:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        params = [
            ("client_id", self.config.client_id),
            ("post_logout_redirect_uri", self.config.post_logout_redirect_uri),
        ]
        if id_token_hint:
            params.append(("id_token_hint", id_token_hint))
        return str(add_params_to_uri(endpoint, params))


def _reason(error: Exception) -> str:
    """A short, stable reason for the audit log."""
    if isinstance(error, BadSignatureError):
        return "signature"
    if isinstance(error, ExpiredTokenError):
        return "expired"
    if isinstance(error, (InvalidClaimError, MissingClaimError)):
        return f"claim:{error.claim}"
    if isinstance(error, InvalidKeyIdError):
        return "unknown_key"
    return "malformed"
