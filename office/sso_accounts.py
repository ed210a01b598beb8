"""Staff accounts of single sign-on: found by the provider's issuer and subject,
created at the first login, and their role and skills taken from the provider's
claims at every login.

The provider says who someone is and which groups they are in; the town's settings
say what those groups mean here (:class:`ClaimMapping`). Bürgerbüro keeps the last
word on whether an account may work at all: a deactivated account stays refused,
whatever the provider says.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from office import audit
from office.models import Clerk, ClerkSkill, Role, StaffSession
from office.oidc import Identity, OidcClient, SsoRefused
from office.staff import Staff

log = logging.getLogger(__name__)
ACTOR = "sso"  # the audit log's actor for what the provider's claims changed
# Several mapped groups: the first of these roles wins.
ROLE_ORDER = (Role.ADMIN, Role.CLERK, Role.DPO)
NO_PASSWORD = "!sso"  # noqa: S105 - not an argon2 hash: no password ever matches it
USERNAME = re.compile(r"[^a-z0-9.-]")
NO_ROLE = (
    "Ihr Konto beim Anmeldedienst ist für Bürgerbüro keiner Rolle zugeordnet. Bitte wenden "
    "Sie sich an die Administration."
)
INACTIVE = "Ihr Konto in Bürgerbüro ist deaktiviert. Bitte wenden Sie sich an die Administration."
USERNAME_TAKEN = (
    "Ihr Benutzername gehört in Bürgerbüro schon zu einem anderen Konto. Bitte wenden Sie "
    "sich an die Administration."
)
REFUSALS = {"no_role": NO_ROLE, "inactive": INACTIVE, "username_taken": USERNAME_TAKEN}


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The strings of a claim; a dotted path reaches into nested objects
    (Keycloak's ``realm_access.roles``)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass(frozen=True)
class ClaimMapping:
    """Which claims carry the role and the skills, and what their values mean."""

    role_claim: str
    roles: Mapping[str, Role]  # a group (or provider role) -> our role
    skill_claim: str
    skill_prefix: str  # "buergerbuero-skill-meldewesen" -> skill "meldewesen"
    username_claim: str = "preferred_username"
    link_by_username: bool = False

    def role(self, claims: Mapping[str, Any]) -> Role | None:
        granted = {self.roles[g] for g in claim_values(claims, self.role_claim) if g in self.roles}
        return next((role for role in ROLE_ORDER if role in granted), None)

    def skills(self, claims: Mapping[str, Any]) -> list[str]:
        prefix = self.skill_prefix
        return sorted(
            {
                value[len(prefix) :]
                for value in claim_values(claims, self.skill_claim)
                if value.startswith(prefix) and 0 < len(value) - len(prefix) <= 64
            }
        )

    def username(self, identity: Identity) -> str:
        """Our username for a new account: the provider's, in the characters ours
        allow; failing that, one made from the subject."""
        wanted = next(iter(claim_values(identity.claims, self.username_claim)), "")
        name = USERNAME.sub("-", wanted.strip().lower())[:64].strip(".-")
        if len(name) >= 3:
            return name
        return "sso-" + hashlib.sha256(identity.subject.encode()).hexdigest()[:12]


@dataclass
class _Outcome:
    clerk_id: int | None
    refused: str | None = None  # the reason, when refused
    sessions_ended: bool = False


class SsoAccounts:
    def __init__(self, staff: Staff, mapping: ClaimMapping) -> None:
        self.staff = staff
        self.mapping = mapping

    async def sign_in(self, identity: Identity) -> int:
        """The account this person works with, found or created, with the role and
        skills the claims give now; or :class:`SsoRefused`. The session is opened by
        the caller (``Staff.open_session``), as after a password login."""
        role = self.mapping.role(identity.claims)
        skills = self.mapping.skills(identity.claims)
        try:
            outcome = await self._apply(identity, role, skills)
        except IntegrityError:
            # Two first logins of one person at once, or a username taken in the
            # meantime: the second looks again, and finds what the first made.
            outcome = await self._apply(identity, role, skills)
        if outcome.sessions_ended and outcome.clerk_id is not None:
            await self._sessions_ended(outcome.clerk_id)
        if outcome.refused is not None or outcome.clerk_id is None:
            reason = outcome.refused or "unknown"
            await self.refused(reason, outcome.clerk_id)
            raise SsoRefused(reason, REFUSALS.get(reason))
        return outcome.clerk_id

    async def refused(self, reason: str, clerk_id: int | None = None) -> None:
        """Record a refused single sign-on (the reason is a code, never a claim)."""
        async with self.staff.sessions() as session, session.begin():
            subject = f"clerk:{clerk_id}" if clerk_id is not None else "clerk:unknown"
            audit.record(
                session, self.staff.now(), audit.SYSTEM, "staff.sso_refused", subject, reason=reason
            )

    async def _apply(
        self, identity: Identity, role: Role | None, skills: Sequence[str]
    ) -> _Outcome:
        now = self.staff.now()
        async with self.staff.sessions() as session, session.begin():
            clerk = await session.scalar(
                select(Clerk).where(
                    Clerk.sso_issuer == identity.issuer, Clerk.sso_subject == identity.subject
                )
            )
            if role is None:
                if clerk is None:
                    return _Outcome(None, refused="no_role")
                # The provider took every role away: no session opened before goes on.
                await session.execute(delete(StaffSession).where(StaffSession.clerk_id == clerk.id))
                return _Outcome(clerk.id, refused="no_role", sessions_ended=True)
            if clerk is None:
                found = await self._first_login(session, identity, role, skills, now)
                if isinstance(found, str):
                    return _Outcome(None, refused=found)
                return _Outcome(found)
            if not clerk.active:
                return _Outcome(clerk.id, refused="inactive")
            name = _display_name(identity)
            if name and name != clerk.display_name:
                clerk.display_name = name
            changed = _set_access(clerk, role, skills)
            if not changed:
                return _Outcome(clerk.id)
            # A privilege change takes effect at once: no session opened under the old
            # one goes on (as ``Staff.set_access``).
            await session.execute(delete(StaffSession).where(StaffSession.clerk_id == clerk.id))
            subject = f"clerk:{clerk.id}"
            audit.record(session, now, ACTOR, "staff.access_changed", subject, **changed)
            return _Outcome(clerk.id, sessions_ended=True)

    async def _first_login(
        self,
        session: AsyncSession,
        identity: Identity,
        role: Role,
        skills: Sequence[str],
        now: datetime,
    ) -> int | str:
        """A new account, or a local one of the same username taken over where the
        town allows it; the clerk's id, or the reason for a refusal."""
        username = self.mapping.username(identity)
        holder = await session.scalar(select(Clerk).where(Clerk.username == username))
        if holder is not None and (holder.sso_issuer, holder.sso_subject) == (
            identity.issuer,
            identity.subject,
        ):
            # The same person's other first login committed between our two reads
            # (each statement sees what has committed by then): that account is hers.
            return holder.id
        if holder is not None:
            if holder.sso_subject is not None or not self.mapping.link_by_username:
                return "username_taken"
            if not holder.active:
                return "inactive"
            holder.sso_issuer, holder.sso_subject = identity.issuer, identity.subject
            changed = _set_access(holder, role, skills)
            await session.execute(delete(StaffSession).where(StaffSession.clerk_id == holder.id))
            audit.record(session, now, ACTOR, "staff.sso_linked", f"clerk:{holder.id}", **changed)
            return holder.id
        clerk = Clerk(
            username=username,
            display_name=_display_name(identity) or username,
            role=role,
            password_hash=NO_PASSWORD,
            created_at=now,
            failed_attempts=0,
            active=True,
            totp_enabled=False,
            sso_issuer=identity.issuer,
            sso_subject=identity.subject,
            skills=[ClerkSkill(skill=s) for s in skills],
        )
        session.add(clerk)
        await session.flush()
        audit.record(
            session, now, ACTOR, "staff.created", f"clerk:{clerk.id}", role=str(role), skills=skills
        )
        return clerk.id

    async def _sessions_ended(self, clerk_id: int) -> None:
        # The live layer closes the sockets of the ended sessions (Staff's hooks).
        for hook in self.staff.sessions_ended_hooks:
            try:
                await hook(clerk_id)
            except Exception:
                log.exception("sessions of clerk %s ended: a hook failed", clerk_id)


def _display_name(identity: Identity) -> str:
    name = identity.claims.get("name")
    return name.strip()[:120] if isinstance(name, str) else ""


def _set_access(clerk: Clerk, role: Role, skills: Sequence[str]) -> dict[str, object]:
    """Give the account the role and skills; what changed, for the audit log."""
    changed: dict[str, object] = {}
    if clerk.role != role:
        clerk.role = role
        changed["role"] = str(role)
    wanted = set(skills)
    if {s.skill for s in clerk.skills} != wanted:
        kept = [s for s in clerk.skills if s.skill in wanted]
        have = {s.skill for s in kept}
        clerk.skills = kept + [ClerkSkill(skill=s) for s in sorted(wanted - have)]
        changed["skills"] = sorted(wanted)
    return changed


@dataclass(frozen=True)
class SingleSignOn:
    """The provider (who someone is) and the accounts (what they may do here)."""

    provider: OidcClient
    accounts: SsoAccounts
