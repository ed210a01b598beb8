"""A new staff account's first steps: the admin's invitation by mail, the password its
owner sets through the link, then (at the login) the second factor.

No password ever travels by mail or passes through the admin's hands. The link is a
signed token naming the account and a nonce stored on it: a newer link, or the
password being set, replaces the nonce and so ends every older link. The address is
used for the mail and not kept.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import update

from common.i18n import N_
from office import audit
from office.context import Office
from office.errors import InvalidInput, NotFound, TokenInvalid
from office.mail import MailKind, compose_staff_invitation
from office.models import Clerk
from office.outbox import enqueue
from office.staff import Staff
from office.tokens import Audience

LINK_TTL = timedelta(hours=72)
PATH = "/anmelden/einladung/"


def mail_address(email: str) -> str:
    """The address, normalised, or :class:`InvalidInput`."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidInput({"email": N_("Bitte eine gültige E-Mail-Adresse angeben.")}) from None


class Enrolment:
    def __init__(self, office: Office, staff: Staff) -> None:
        self.office = office
        self.staff = staff

    async def send_link(self, clerk_id: int, email: str, *, actor: str) -> datetime:
        """Mail the account's owner a link to set a password; older links stop working.
        Returns when the new link expires."""
        address = mail_address(email)
        now = self.office.now()
        expires_at = now + LINK_TTL
        nonce = secrets.token_hex(16)
        async with self.office.sessions() as session, session.begin():
            clerk = await session.get(Clerk, clerk_id, with_for_update=True)
            if clerk is None or not clerk.active:
                raise NotFound(N_("Dieses Konto gibt es nicht oder es ist deaktiviert."))
            clerk.enrolment_nonce = nonce
            token = self.office.signer.issue(
                Audience.STAFF_ENROLMENT, str(clerk.id), expires_at, tid=nonce
            )
            message = compose_staff_invitation(
                town=self.office.town,
                settings=self.office.mail,
                to=address,
                display_name=clerk.display_name,
                username=clerk.username,
                link=f"{self.office.mail.public_url.rstrip('/')}{PATH}{token}",
                expires_at=expires_at,
                now=now,
            )
            enqueue(session, MailKind.STAFF_INVITATION, message, now)
            audit.record(session, now, actor, "staff.enrolment_sent", f"clerk:{clerk.id}")
        self.office.mail_queued()
        return expires_at

    async def account(self, token: str) -> Clerk:
        """The account an open link belongs to, or :class:`TokenInvalid`."""
        claims = self.office.signer.verify(Audience.STAFF_ENROLMENT, token)
        try:
            clerk = await self.staff.get(int(claims["sub"]))
        except (NotFound, ValueError):
            raise TokenInvalid() from None
        nonce = claims.get("tid")
        if not clerk.active or not nonce or clerk.enrolment_nonce != nonce:
            raise TokenInvalid()
        return clerk

    async def set_password(self, token: str, password: str, repeated: str) -> int:
        """Spend the link: the account gets its password, the link and its second
        factor (if one was set before) are gone; the login continues with enrolling a
        new one. Returns the account's id."""
        clerk = await self.account(token)
        if password != repeated:
            raise InvalidInput({"repeated": N_("Die beiden Passwörter stimmen nicht überein.")})
        password_hash = self.staff.password_hash(password)
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            # The nonce in the WHERE makes the link single-use even if two tabs race.
            spent = await session.scalar(
                update(Clerk)
                .where(Clerk.id == clerk.id, Clerk.enrolment_nonce == clerk.enrolment_nonce)
                .values(
                    password_hash=password_hash,
                    enrolment_nonce=None,
                    totp_secret=None,
                    totp_enabled=False,
                    totp_last_step=None,
                    failed_attempts=0,
                    locked_until=None,
                )
                .returning(Clerk.id)
            )
            if spent is None:
                raise TokenInvalid()
            audit.record(
                session, now, f"clerk:{clerk.id}", "staff.password_set", f"clerk:{clerk.id}"
            )
        return clerk.id
