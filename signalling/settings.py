"""Settings, read from the environment and an optional ``.env`` file.

Every setting has the prefix ``BB_`` except the two that deployment tools name by
convention, ``DATABASE_URL`` and ``REDIS_URL``. ``BB_MODE=demo`` runs on the embedded
defaults; ``production`` (the default) refuses to start while anything a real
deployment needs is missing, and says what.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from office.record_retention import RecordRetention

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class Mode(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class StaffLogin(StrEnum):
    LOCAL = "local"  # password and TOTP of our own (an SSO button too when one is set up)
    OIDC = "oidc"  # only the town's OpenID provider: password and TOTP are refused


STAFF_ROLES = frozenset({"clerk", "admin", "dpo"})  # office.models.Role's values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    mode: Mode = Mode.PRODUCTION
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = ""  # empty: http://HOST:PORT
    data_dir: Path = Path("var")
    town_config: Path | None = None  # None: the built-in Ostfildern configuration
    secret_key: SecretStr | None = None

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BB_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BB_REDIS_URL", "REDIS_URL")
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    mail_from: str | None = None

    retention_days: int = Field(default=7, ge=1, le=365)
    # Invoices and bank entries are Belege: GemHVO BW § 39 Abs. 2 keeps them six years
    # from the January after the annual accounts are adopted, which GemO BW § 95b wants
    # within a year (office.record_retention). A town whose accounts come later, or
    # whose books do not name payer and reason (then ten years), raises these.
    accounting_retention_years: int = Field(default=6, ge=1, le=30)
    annual_accounts_adopted_within_years: int = Field(default=1, ge=0, le=10)
    # The audit log: deleted at the end of this many calendar years after the year of
    # writing (as § 40 Abs. 4 BMG and § 76 Abs. 4 BDSG do for access logs).
    audit_retention_years: int = Field(default=1, ge=1, le=10)
    feedback_comment_retention_days: int = Field(default=365, ge=1, le=3650)
    reminder_hours: float = Field(default=24, gt=0, le=24 * 14)
    redis_prefix: str = Field(default="bb", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    stun_urls: list[str] = []  # e.g. ["stun:turn.stadt.de:3478"]
    turn_urls: list[str] = []  # e.g. ["turn:turn.stadt.de:3478?transport=udp", "turns:…:5349"]
    turn_secret: SecretStr | None = None  # coturn's static-auth-secret
    turn_ttl_seconds: int = Field(default=6 * 3600, ge=60, le=7 * 86400)
    ice_relay_only: bool = False  # every browser connection through TURN (hides addresses)
    reconnect_grace_seconds: float = Field(default=60, ge=1, le=3600)
    no_show_grace_minutes: int = Field(default=15, ge=1, le=240)
    # The statistics' small-cell rule (office/statistics_rule.py): a service's figures
    # for a period show only when they rest on this many held appointments ...
    stats_min_appointments: int = Field(default=5, ge=1, le=1000)
    # ... served by at least this many different clerks (never fewer than two).
    stats_min_clerks: int = Field(default=2, ge=2, le=20)
    capture_key: SecretStr | None = None  # base64 of 32 random bytes (AES-256-GCM)
    capture_retention_days: int = Field(default=7, ge=1, le=90)
    max_capture_sessions: int = Field(default=10, ge=1, le=200)
    capture_allow_loopback: bool = False  # tests in a loopback-only namespace; never in production
    # Media worker processes that hold the capture peers and do the image work; 0: one
    # per core. Each starts when first needed (``serve`` starts them all at once).
    capture_workers: int = Field(default=0, ge=0, le=64)
    # Server processes on one port (``serve``), each a node of the multi-node set-up;
    # 0: one per core when Redis joins them, else one.
    workers: int = Field(default=0, ge=0, le=64)
    behind_proxy: bool = False  # trust X-Forwarded-For/-Proto from the reverse proxy
    # Socket.IO connections a client address may open a minute (office-wide with Redis);
    # generous, since many citizens may share one address (a mobile carrier's NAT).
    socket_connects_per_minute: int = Field(default=300, ge=10, le=100_000)
    log_level: str = "INFO"
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # Who may read /metrics: these networks (direct, or as the proxy names the client),
    # or anyone with the token as a bearer.
    metrics_allow: list[str] = ["127.0.0.1/32", "::1/128"]
    metrics_token: SecretStr | None = None
    # PayPal (Orders v2): off while no client id is set. The sandbox unless told.
    paypal_base_url: str = "https://api-m.sandbox.paypal.com"
    paypal_client_id: str | None = None
    paypal_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None
    # Staff single sign-on (OpenID Connect, authorization code flow with PKCE); off
    # while no issuer is set. See "Single sign-on for staff" in the README.
    staff_login: StaffLogin = StaffLogin.LOCAL
    oidc_issuer: str = ""  # e.g. https://login.stadt.de/realms/verwaltung
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None  # none: a public client (PKCE alone)
    oidc_scopes: list[str] = ["openid", "profile", "email"]
    # Where the provider names a person's groups or roles (a dotted path reaches into
    # nested claims: realm_access.roles), and which of them mean which role here.
    oidc_role_claim: str = "groups"
    oidc_roles: dict[str, str] = {}  # e.g. {"buergerbuero-admin": "admin"}
    # Skills: the values of this claim that start with the prefix, without it.
    oidc_skill_claim: str = "groups"
    oidc_skill_prefix: str = "buergerbuero-skill-"
    oidc_username_claim: str = "preferred_username"
    # A first login whose username a local account holds takes that account over
    # (moving a town's accounts to SSO). Only where the provider alone sets usernames.
    oidc_link_by_username: bool = False

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        for network in networks:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return networks

    @field_validator("oidc_roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(roles.values()) - STAFF_ROLES)
        if unknown:
            raise ValueError(f"BB_OIDC_ROLES: unknown role {unknown[0]!r} (clerk, admin, dpo)")
        return roles

    @model_validator(mode="after")
    def _sso_complete(self) -> Settings:
        self.oidc_issuer = self.oidc_issuer.rstrip("/")
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("BB_OIDC_ISSUER needs BB_OIDC_CLIENT_ID")
        if self.staff_login is StaffLogin.OIDC and not self.oidc_issuer:
            raise ValueError("BB_STAFF_LOGIN=oidc needs BB_OIDC_ISSUER and BB_OIDC_CLIENT_ID")
        if self.oidc_issuer and "openid" not in self.oidc_scopes:
            raise ValueError("BB_OIDC_SCOPES must contain openid")
        return self

    @model_validator(mode="after")
    def _relay_needs_turn(self) -> Settings:
        if self.ice_relay_only and not (self.turn_urls and self.turn_secret):
            raise ValueError("BB_ICE_RELAY_ONLY needs BB_TURN_URLS and BB_TURN_SECRET")
        return self

    @property
    def demo(self) -> bool:
        return self.mode is Mode.DEMO

    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'buergerbuero.db'}"

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def paypal_enabled(self) -> bool:
        return bool(self.paypal_client_id)

    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def sender(self) -> str:
        return self.mail_from or "buergerbuero@localhost"

    def problems(self) -> list[str]:
        """What stops this configuration from running in production mode."""
        if self.demo:
            return []
        found = []
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(key) < 32 or key.startswith("change-me"):
            found.append("BB_SECRET_KEY must be set to a random value of at least 32 characters")
        if not self.smtp_host:
            found.append("BB_SMTP_HOST must name the SMTP server that sends the mails")
        elif self.smtp_tls == "none" and self.smtp_host not in LOOPBACK_HOSTS:
            # Mails carry personal links; plain SMTP is only for a relay on this host.
            found.append("BB_SMTP_TLS=none is only for an SMTP relay on this host (localhost)")
        if not self.mail_from:
            found.append("BB_MAIL_FROM must be the sender address, e.g. buergerbuero@stadt.de")
        if not self.public_url.startswith("https://"):
            found.append("BB_PUBLIC_URL must be the https:// address citizens use")
        if not self.capture_key:
            found.append(
                "BB_CAPTURE_KEY must be set (base64 of 32 random bytes) to encrypt ID captures"
            )
        if self.capture_allow_loopback:
            found.append("BB_CAPTURE_ALLOW_LOOPBACK is for tests only and must be off")
        if not self.paypal_base_url.startswith("https://"):
            found.append("BB_PAYPAL_BASE_URL must be an https:// address")
        if self.paypal_enabled and not (self.paypal_secret and self.paypal_webhook_id):
            found.append("BB_PAYPAL_SECRET and BB_PAYPAL_WEBHOOK_ID must be set with the client id")
        return found + self._sso_problems()

    def _sso_problems(self) -> list[str]:
        if not self.sso_enabled:
            return []
        found = []
        issuer = urlsplit(self.oidc_issuer)
        # Tokens and the client secret travel to the provider: plain http only on this host.
        if issuer.scheme != "https" and issuer.hostname not in LOOPBACK_HOSTS:
            found.append("BB_OIDC_ISSUER must be an https:// address")
        if not self.oidc_roles:
            found.append("BB_OIDC_ROLES must map the provider's groups to clerk, admin or dpo")
        return found

    def record_retention(self) -> RecordRetention:
        return RecordRetention(
            accounting_years=self.accounting_retention_years,
            adoption_years=self.annual_accounts_adopted_within_years,
            audit_years=self.audit_retention_years,
            feedback_comment_days=self.feedback_comment_retention_days,
        )

    def capture_worker_count(self) -> int:
        return self.capture_workers or os.cpu_count() or 1

    def worker_count(self) -> int:
        """Server processes ``serve`` runs: several only where Redis joins them."""
        return self.workers or ((os.cpu_count() or 1) if self.redis_url else 1)

    def for_worker(self, workers: int) -> Settings:
        """A worker's share of the machine: with several server processes on it, the
        media workers of all of them together make one per core."""
        if self.capture_workers or workers == 1:
            return self
        cores = os.cpu_count() or 1
        return self.model_copy(update={"capture_workers": max(1, cores // workers)})

    def capture_key_bytes(self) -> bytes:
        """The capture encryption key. In demo mode a random one is kept in the data folder."""
        if self.capture_key is not None:
            return base64.b64decode(self.capture_key.get_secret_value(), validate=True)
        if not self.demo:
            raise RuntimeError("BB_CAPTURE_KEY is not set")
        path = self.data_dir / "demo-capture-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            path.chmod(0o600)
        return base64.b64decode(path.read_text().strip())

    def signing_key(self) -> str:
        """The secret for tokens. In demo mode a random one is kept in the data folder."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if not self.demo:
            raise RuntimeError("BB_SECRET_KEY is not set")
        path = self.data_dir / "demo-secret-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
