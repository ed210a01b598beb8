"""Interpreters and companions: a third person in a call, invited by its clerk.

The clerk asks for a link (shown in the console, and mailed when she gives an
address). The link is good once, for 30 minutes, and for the call it was made in:
opening it shows what it is for, and only the button on that page spends it (a mail
scanner that fetches the link spends nothing). Spending it swaps the link for a
session cookie, which holds while the call lasts (the socket layer checks the call)
and the clerk has not removed the guest. A call has room for one guest at a time.

Each row names the call, the kind of guest and the inviting clerk, never the guest:
their name or address is not asked for, and a mailed address goes into the outbox
only. Invitations, joins and removals are in the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from office import audit
from office.context import Office
from office.errors import GuestLimit, GuestLinkInvalid, InvalidInput, TokenInvalid
from office.mail import MailKind, compose_guest_invitation
from office.models import CallGuest
from office.outbox import enqueue
from office.tokens import Audience

GuestKind = Literal["interpreter", "companion"]
KINDS: frozenset[str] = frozenset(get_args(GuestKind))
LINK_TTL = timedelta(minutes=30)
SESSION_TTL = timedelta(hours=4)  # a backstop: the session ends with the call


@dataclass(frozen=True)
class Guest:
    id: str
    appointment_id: str
    call_id: str
    kind: GuestKind


@dataclass(frozen=True)
class Invitation:
    link: str
    expires_at: str  # ISO 8601


def _guest(row: CallGuest) -> Guest:
    kind: GuestKind = "companion" if row.kind == "companion" else "interpreter"
    return Guest(row.id, row.appointment_id, row.call_id, kind)


def guest_actor(guest_id: str) -> str:
    return f"guest:{guest_id[:8]}"


class Guests:
    def __init__(self, office: Office) -> None:
        self.office = office

    async def invite(
        self,
        appointment_id: str,
        call_id: str,
        clerk_id: int,
        kind: str,
        email: str | None = None,
    ) -> Invitation:
        """A link for one guest of the call; refused while another guest is invited
        or in the call."""
        if kind not in KINDS:
            raise InvalidInput({"kind": "interpreter | companion"})
        now = self.office.now()
        expires_at = now + LINK_TTL
        guest_id = secrets.token_hex(16)
        token = self.office.signer.issue(Audience.GUEST_INVITE, guest_id, expires_at)
        link = f"{self.office.mail.public_url.rstrip('/')}/gast/{token}"
        session: AsyncSession
        async with self.office.sessions() as session, session.begin():
            if await session.scalar(_open_guests(call_id, now)):
                raise GuestLimit()
            session.add(
                CallGuest(
                    id=guest_id,
                    appointment_id=appointment_id,
                    call_id=call_id,
                    kind=kind,
                    invited_by=clerk_id,
                    invited_at=now,
                    expires_at=expires_at,
                )
            )
            audit.record(
                session,
                now,
                audit.staff_actor(clerk_id),
                "guest.invited",
                f"appointment:{appointment_id}",
                kind=kind,
                call=call_id,
                guest=guest_actor(guest_id),
                mailed=email is not None,
            )
            if email is not None:
                message = compose_guest_invitation(
                    town=self.office.town,
                    settings=self.office.mail,
                    to=email,
                    kind=kind,
                    link=link,
                    expires_at=expires_at,
                    now=now,
                )
                enqueue(session, MailKind.GUEST_INVITATION, message, now, appointment_id)
        if email is not None:
            self.office.mail_queued()
        return Invitation(link, expires_at.isoformat())

    async def invited(self, token: str) -> Guest:
        """The invitation behind a link that can still be used (for the page that
        offers to join; nothing is spent)."""
        guest_id = self._subject(Audience.GUEST_INVITE, token)
        async with self.office.sessions() as session:
            row = await session.get(CallGuest, guest_id)
        if row is None or row.joined_at or row.removed_at or row.expires_at <= self.office.now():
            raise GuestLinkInvalid()
        return _guest(row)

    async def join(self, token: str) -> tuple[Guest, str]:
        """Spend the link (once, on any node); the guest and their session token."""
        guest_id = self._subject(Audience.GUEST_INVITE, token)
        now = self.office.now()
        expires_at = now + SESSION_TTL
        session: AsyncSession
        async with self.office.sessions() as session, session.begin():
            spent = await session.execute(
                update(CallGuest)
                .where(
                    CallGuest.id == guest_id,
                    CallGuest.joined_at.is_(None),
                    CallGuest.removed_at.is_(None),
                    CallGuest.expires_at > now,
                )
                .values(joined_at=now, expires_at=expires_at)
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                raise GuestLinkInvalid()
            row = await session.get_one(CallGuest, guest_id)  # updated just now
            audit.record(
                session,
                now,
                guest_actor(guest_id),
                "guest.joined",
                f"appointment:{row.appointment_id}",
                kind=row.kind,
                call=row.call_id,
            )
            guest = _guest(row)
        return guest, self.office.signer.issue(Audience.GUEST_SESSION, guest_id, expires_at)

    async def of_session(self, token: str) -> Guest:
        """The guest behind a session cookie, unless removed or expired."""
        guest_id = self._subject(Audience.GUEST_SESSION, token)
        async with self.office.sessions() as session:
            row = await session.get(CallGuest, guest_id)
        if row is None or row.removed_at or row.expires_at <= self.office.now():
            raise GuestLinkInvalid()
        return _guest(row)

    async def remove(self, call_id: str, clerk_id: int) -> int:
        """The clerk withdraws the call's guest (and an unused link): their session
        ends; how many there were."""
        now = self.office.now()
        session: AsyncSession
        async with self.office.sessions() as session, session.begin():
            rows = (await session.scalars(_guests_of(call_id, now))).all()
            for row in rows:
                row.removed_at = now
                audit.record(
                    session,
                    now,
                    audit.staff_actor(clerk_id),
                    "guest.removed",
                    f"appointment:{row.appointment_id}",
                    call=call_id,
                    guest=guest_actor(row.id),
                )
        return len(rows)

    async def purge(self) -> int:
        """Forget invitations and sessions that have expired anyway."""
        session: AsyncSession
        async with self.office.sessions() as session, session.begin():
            result = await session.execute(
                delete(CallGuest).where(CallGuest.expires_at < self.office.now())
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _subject(self, audience: Audience, token: str) -> str:
        try:
            subject = str(self.office.signer.verify(audience, token)["sub"])
        except TokenInvalid:  # expired included
            raise GuestLinkInvalid() from None
        if not subject:
            raise GuestLinkInvalid()
        return subject


def _guests_of(call_id: str, now: datetime) -> Select[CallGuest]:
    """The call's guests whose link or session still holds."""
    return select(CallGuest).where(
        CallGuest.call_id == call_id,
        CallGuest.removed_at.is_(None),
        CallGuest.expires_at > now,
    )


def _open_guests(call_id: str, now: datetime) -> Select[int]:
    return select(func.count()).select_from(_guests_of(call_id, now).subquery())
