"""The office's parts as the settings choose them: the office itself (its database
sessions, link signer and mail settings), the staff desk, the mailer, PayPal and
staff single sign-on.
``signalling.wiring`` builds a node from them; the command line uses the first two."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from office.cases import Cases
from office.catalogue import Town
from office.context import Office, utc_now
from office.mail import MailSettings
from office.models import Role
from office.oidc import OidcClient, OidcConfig
from office.outbox import FolderMailer, Mailer, SmtpMailer
from office.paypal_client import PaypalClient
from office.paypal_payments import PaypalConfig, PaypalPayments
from office.sealed import Sealer
from office.sso_accounts import ClaimMapping, SingleSignOn, SsoAccounts
from office.staff import Staff
from office.tokens import Signer
from signalling.settings import Settings

Sessions = async_sessionmaker[AsyncSession]


def office_for(
    settings: Settings,
    sessions: Sessions,
    town: Town,
    *,
    now: Callable[[], datetime] = utc_now,
    mail_queued: Callable[[], None] = lambda: None,
) -> Office:
    return Office(
        town,
        sessions,
        Signer(settings.signing_key(), now),
        MailSettings(settings.sender(), settings.public_url, settings.retention_days),
        now=now,
        mail_queued=mail_queued,
    )


def staff_for(
    settings: Settings, sessions: Sessions, town: Town, *, now: Callable[[], datetime] = utc_now
) -> Staff:
    return Staff(
        sessions,
        require_second_factor=not settings.demo,
        sealer=Sealer(settings.signing_key(), "totp"),
        issuer=town.town.office_name,
        now=now,
    )


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls={"starttls": True, "tls": False, "none": False}[settings.smtp_tls],
            use_tls=settings.smtp_tls == "tls",
        )
    return FolderMailer(settings.outbox_dir())


def paypal_for(settings: Settings, cases: Cases, town: Town) -> PaypalPayments:
    """The PayPal desk; without a client id it is there but not enabled."""
    client = None
    if settings.paypal_enabled and settings.paypal_client_id:
        secret = settings.paypal_secret.get_secret_value() if settings.paypal_secret else ""
        client = PaypalClient(settings.paypal_base_url, settings.paypal_client_id, secret)
    config = PaypalConfig(settings.public_url, settings.paypal_webhook_id, town.town.office_name)
    return PaypalPayments(cases, client, config)


def sso_for(
    settings: Settings, staff: Staff, *, now: Callable[[], datetime] = utc_now
) -> SingleSignOn | None:
    """Single sign-on through the town's OpenID provider; None while none is set up."""
    if not settings.sso_enabled:
        return None
    secret = settings.oidc_client_secret
    config = OidcConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=tuple(settings.oidc_scopes),
        redirect_uri=f"{settings.public_url}/anmelden/sso/zurueck",
        post_logout_redirect_uri=f"{settings.public_url}/anmelden",
    )
    mapping = ClaimMapping(
        role_claim=settings.oidc_role_claim,
        roles={group: Role(role) for group, role in settings.oidc_roles.items()},
        skill_claim=settings.oidc_skill_claim,
        skill_prefix=settings.oidc_skill_prefix,
        username_claim=settings.oidc_username_claim,
        link_by_username=settings.oidc_link_by_username,
    )
    return SingleSignOn(OidcClient(config, now), SsoAccounts(staff, mapping))
