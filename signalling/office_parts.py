"""The office's parts as the settings choose them: the office itself (its database
sessions, link signer and mail settings), the staff desk, the mailer and PayPal.
``signalling.wiring`` builds a node from them; the command line uses the first two."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from office.cases import Cases
from office.catalogue import Town
from office.context import Office, utc_now
from office.mail import MailSettings
from office.outbox import FolderMailer, Mailer, SmtpMailer
from office.paypal_client import PaypalClient
from office.paypal_payments import PaypalConfig, PaypalPayments
from office.sealed import Sealer
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
