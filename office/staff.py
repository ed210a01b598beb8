"""Staff accounts: clerks and admins, their passwords, second factor and sessions.

Login is two steps: the password, then a TOTP code (RFC 6238) from the clerk's
authenticator app. Both count towards the lockout. A session is a random token in a
cookie; only its SHA-256 is stored, so a leaked database does not log anyone in.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.i18n import N_
from office import audit, totp
from office.errors import AccountLocked, AuthFailed, Conflict, InvalidInput, NotFound
from office.models import Clerk, ClerkHours, ClerkSkill, Role, StaffSession
from office.sealed import Sealer, is_sealed

log = logging.getLogger(__name__)
PASSWORD_MIN = 12
PASSWORD_MAX = 128  # longer ones are refused, never cut short (ASVS 2.1.2, 2.1.3)
# The numbers are in the text: a catalogue translates fixed texts (tests hold them equal).
PASSWORD_LENGTH = N_("Das Passwort braucht mindestens 12 und höchstens 128 Zeichen.")


@dataclass(frozen=True)
class WorkingTime:
    weekday: int  # 0 = Monday
    start: time
    end: time


@dataclass(frozen=True)
class PasswordAccepted:
    clerk_id: int
    needs_enrolment: bool  # no second factor yet: enrol before the first session
    needs_code: bool  # a TOTP code must follow


def _check_hours(hours: Sequence[WorkingTime]) -> None:
    for h in hours:
        if not (0 <= h.weekday <= 6 and h.start < h.end):
            raise InvalidInput({"hours": N_("Arbeitszeit: Beginn muss vor dem Ende liegen.")})


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Staff:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        require_second_factor: bool = True,
        sealer: Sealer | None = None,
        issuer: str = "Bürgerbüro",
        lockout_threshold: int = 5,
        lockout_duration: timedelta = timedelta(minutes=15),
        session_ttl: timedelta = timedelta(hours=10),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.require_second_factor = require_second_factor
        self.issuer = issuer
        self.lockout_threshold = lockout_threshold
        self.lockout_duration = lockout_duration
        self.session_ttl = session_ttl
        self.now = now
        # Seals TOTP secrets at rest; without one (tools, benchmarks) they are kept as
        # they are. The app always passes one (BB_SECRET_KEY).
        self._sealer = sealer
        self._hasher = PasswordHasher()
        # Verified against when the username is unknown, so the reply takes as long
        # as for a known one and does not reveal which usernames exist.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        # Told (after the commit) whose sessions ended: logout, a changed account, a
        # reset second factor. The live layer closes the sockets they had opened.
        self.sessions_ended_hooks: list[Callable[[int], Awaitable[None]]] = []

    # -- accounts ----------------------------------------------------------------

    def password_hash(self, password: str) -> str:
        """The argon2 hash of an acceptable password, or :class:`InvalidInput`."""
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise InvalidInput({"password": PASSWORD_LENGTH})
        return self._hasher.hash(password)

    async def create(
        self,
        username: str,
        display_name: str,
        password: str | None,
        *,
        role: Role = Role.CLERK,
        skills: Sequence[str] = (),
        hours: Sequence[WorkingTime] = (),
        actor: str = audit.SYSTEM,
    ) -> Clerk:
        """A new account. Without a password (an admin's invitation, ``office.enrolment``)
        it cannot log in until its owner sets one through the enrolment link."""
        username = username.strip().lower()
        if (
            not (3 <= len(username) <= 64)
            or not username.replace(".", "").replace("-", "").isalnum()
        ):
            raise InvalidInput(
                {"username": N_("Benutzername: 3–64 Zeichen, Buchstaben, Ziffern, . und -.")}
            )
        _check_hours(hours)
        now = self.now()
        clerk = Clerk(
            username=username,
            display_name=" ".join(display_name.split())[:120] or username,
            role=role,
            # No password yet: a hash of a secret nobody knows, so no password matches.
            password_hash=self.password_hash(password or secrets.token_urlsafe(32)),
            created_at=now,
            failed_attempts=0,
            active=True,
            totp_enabled=False,
            skills=[ClerkSkill(skill=s) for s in sorted(set(skills))],
            hours=[ClerkHours(weekday=h.weekday, start=h.start, end=h.end) for h in hours],
        )
        try:
            async with self.sessions() as session, session.begin():
                session.add(clerk)
                await session.flush()
                audit.record(
                    session, now, actor, "staff.created", f"clerk:{clerk.id}", role=str(role)
                )
        except IntegrityError as exc:
            raise Conflict(f"Den Benutzernamen {username!r} gibt es schon.") from exc
        return clerk

    async def all(self) -> Sequence[Clerk]:
        async with self.sessions() as session:
            return (await session.scalars(select(Clerk).order_by(Clerk.username))).all()

    async def get(self, clerk_id: int) -> Clerk:
        async with self.sessions() as session:
            clerk = await session.get(Clerk, clerk_id)
        if clerk is None:
            raise NotFound()
        return clerk

    async def edit(
        self, clerk_id: int, *, display_name: str, hours: Sequence[WorkingTime], actor: str
    ) -> None:
        """Change the name shown and the weekly working time. No session ends: neither
        changes what the account may do. New hours count for new bookings; what is
        booked stays (an absence is the way to take booked time away)."""
        _check_hours(hours)
        now = self.now()
        async with self.sessions() as session, session.begin():
            clerk = await session.get(Clerk, clerk_id)
            if clerk is None:
                raise NotFound(N_("Dieses Konto gibt es nicht."))
            clerk.display_name = " ".join(display_name.split())[:120] or clerk.username
            clerk.hours = [ClerkHours(weekday=h.weekday, start=h.start, end=h.end) for h in hours]
            audit.record(session, now, actor, "staff.edited", f"clerk:{clerk_id}")

    async def reset_second_factor(self, username: str, *, actor: str = audit.SYSTEM) -> None:
        """Forget the clerk's authenticator (lost phone); they enrol again at next login."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            clerk = await session.scalar(select(Clerk).where(Clerk.username == username.lower()))
            if clerk is None:
                raise NotFound(f"Kein Konto {username!r}.")
            clerk.totp_secret = None
            clerk.totp_enabled = False
            clerk.totp_last_step = None
            await session.execute(delete(StaffSession).where(StaffSession.clerk_id == clerk.id))
            audit.record(session, now, actor, "staff.second_factor_reset", f"clerk:{clerk.id}")
        await self._sessions_ended(clerk.id)

    async def set_access(
        self,
        username: str,
        *,
        role: Role | None = None,
        skills: Sequence[str] | None = None,
        active: bool | None = None,
        actor: str = audit.SYSTEM,
    ) -> Clerk:
        """Change what an account may do. Every session of it ends: a privilege
        change takes effect at once, never on a session opened under the old one."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            clerk = await session.scalar(
                select(Clerk).where(Clerk.username == username.strip().lower())
            )
            if clerk is None:
                raise NotFound(f"Kein Konto {username!r}.")
            changed: dict[str, object] = {}
            if role is not None:
                clerk.role = role
                changed["role"] = str(role)
            if skills is not None:
                wanted = set(skills)
                kept = [s for s in clerk.skills if s.skill in wanted]
                have = {s.skill for s in kept}
                clerk.skills = kept + [ClerkSkill(skill=s) for s in sorted(wanted - have)]
                changed["skills"] = sorted(wanted)
            if active is not None:
                clerk.active = active
                changed["active"] = active
            await session.execute(delete(StaffSession).where(StaffSession.clerk_id == clerk.id))
            audit.record(
                session, now, actor, "staff.access_changed", f"clerk:{clerk.id}", **changed
            )
        await self._sessions_ended(clerk.id)
        return await self.get(clerk.id)

    # -- login -------------------------------------------------------------------

    async def _fail(self, clerk_id: int | None, reason: str) -> None:
        """Record a refused attempt: one audit entry, and for an account that is not
        locked yet a failure that counts towards the lockout. Every refusal of a
        password writes here, unknown names included, so all take the same time."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            subject = "clerk:unknown" if clerk_id is None else f"clerk:{clerk_id}"
            audit.record(session, now, audit.SYSTEM, "staff.login_failed", subject, reason=reason)
            if clerk_id is None or reason == "locked":
                return
            attempts = await session.scalar(
                update(Clerk)
                .where(Clerk.id == clerk_id)
                .values(failed_attempts=Clerk.failed_attempts + 1)
                .returning(Clerk.failed_attempts)
            )
            if attempts is not None and attempts >= self.lockout_threshold:
                await session.execute(
                    update(Clerk)
                    .where(Clerk.id == clerk_id)
                    .values(failed_attempts=0, locked_until=now + self.lockout_duration)
                )
                audit.record(session, now, audit.SYSTEM, "staff.locked", f"clerk:{clerk_id}")

    def _locked(self, clerk: Clerk) -> bool:
        return clerk.locked_until is not None and clerk.locked_until > self.now()

    def _refuse_if_locked(self, clerk: Clerk) -> None:
        """For the second factor: whoever gets here knew the password, so telling
        them of the lock reveals nothing new."""
        if self._locked(clerk):
            raise AccountLocked()

    async def check_password(self, username: str, password: str) -> PasswordAccepted:
        """The clerk whose password this is, or :class:`AuthFailed`.

        An unknown name, a deactivated or locked account and a wrong password are
        refused alike: the same error, after the same work (one password hash checked,
        one audit entry written), so an answer never confirms that an account exists.
        """
        async with self.sessions() as session:
            clerk = await session.scalar(
                select(Clerk).where(Clerk.username == username.strip().lower()[:64])
            )
        if clerk is None or not clerk.active:
            await self._verify(self._decoy_hash, password)
            await self._fail(None, "unknown")
            raise AuthFailed()
        matches = await self._verify(clerk.password_hash, password)
        if self._locked(clerk):
            await self._fail(clerk.id, "locked")
            raise AuthFailed()
        if not matches:
            await self._fail(clerk.id, "password")
            raise AuthFailed()
        needs_code = clerk.totp_enabled
        needs_enrolment = not clerk.totp_enabled and self.require_second_factor
        if not needs_code and not needs_enrolment:
            await self._succeed(clerk.id)
        return PasswordAccepted(clerk.id, needs_enrolment, needs_code)

    async def _verify(self, password_hash: str, password: str) -> bool:
        """Check a password against its argon2 hash in a thread: a check takes about
        0.1 s of CPU, which must not stall every other request on the event loop."""
        return await asyncio.to_thread(self._verify_now, password_hash, password)

    def _verify_now(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _succeed(self, clerk_id: int, totp_step: int | None = None) -> None:
        async with self.sessions() as session, session.begin():
            values: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
            if totp_step is not None:
                values["totp_last_step"] = totp_step
            await session.execute(update(Clerk).where(Clerk.id == clerk_id).values(**values))

    async def check_code(self, clerk_id: int, code: str) -> None:
        clerk = await self.get(clerk_id)
        self._refuse_if_locked(clerk)
        if not clerk.totp_enabled or clerk.totp_secret is None:
            raise AuthFailed()
        secret = totp.unseal(self._sealer, clerk.totp_secret, clerk.id)
        step = totp.matching_step(secret, code, clerk.totp_last_step, self.now())
        if step is None:
            await self._fail(clerk.id, "code")
            raise AuthFailed("Der Code stimmt nicht. Bitte geben Sie den aktuellen Code ein.")
        await self._succeed(clerk.id, step)
        if self._sealer is not None and not is_sealed(clerk.totp_secret):
            # A secret from before sealing: sealed now that it has proved itself.
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(Clerk)
                    .where(Clerk.id == clerk.id)
                    .values(totp_secret=totp.seal(self._sealer, secret, clerk.id))
                )

    async def start_enrolment(self, clerk_id: int) -> str:
        """A new provisional TOTP secret, as an otpauth:// URI for the QR code."""
        clerk = await self.get(clerk_id)
        if clerk.totp_enabled:
            raise Conflict("Die Zwei-Faktor-Anmeldung ist bereits eingerichtet.")
        secret = totp.new_secret()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Clerk)
                .where(Clerk.id == clerk_id)
                .values(totp_secret=totp.seal(self._sealer, secret, clerk_id))
            )
        return totp.provisioning_uri(secret, name=clerk.username, issuer_name=self.issuer)

    async def confirm_enrolment(self, clerk_id: int, code: str) -> None:
        clerk = await self.get(clerk_id)
        self._refuse_if_locked(clerk)
        if clerk.totp_enabled or clerk.totp_secret is None:
            raise Conflict("Bitte starten Sie die Einrichtung neu.")
        step = totp.matching_step(
            totp.unseal(self._sealer, clerk.totp_secret, clerk.id), code, None, self.now()
        )
        if step is None:
            await self._fail(clerk.id, "code")
            raise AuthFailed("Der Code stimmt nicht. Bitte scannen Sie den QR-Code erneut.")
        now = self.now()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Clerk).where(Clerk.id == clerk_id).values(totp_enabled=True)
            )
            audit.record(
                session,
                now,
                f"clerk:{clerk_id}",
                "staff.second_factor_enrolled",
                f"clerk:{clerk_id}",
            )
        await self._succeed(clerk_id, step)

    # -- sessions ----------------------------------------------------------------

    async def open_session(self, clerk_id: int, replacing: str | None = None) -> str:
        """A new session. The one the browser brought (``replacing``) ends in the same
        step: a login never carries on a session id from before it (fixation)."""
        token = secrets.token_urlsafe(32)
        now = self.now()
        async with self.sessions() as session, session.begin():
            if replacing:
                await session.execute(
                    delete(StaffSession).where(StaffSession.token_hash == _hash_token(replacing))
                )
            session.add(
                StaffSession(
                    token_hash=_hash_token(token),
                    clerk_id=clerk_id,
                    created_at=now,
                    expires_at=now + self.session_ttl,
                )
            )
            audit.record(session, now, f"clerk:{clerk_id}", "staff.login", f"clerk:{clerk_id}")
        return token

    async def session_clerk(self, token: str) -> Clerk | None:
        if not token or len(token) > 128:
            return None
        async with self.sessions() as session:
            row = await session.get(StaffSession, _hash_token(token))
            if row is None or row.expires_at <= self.now():
                return None
            clerk = await session.get(Clerk, row.clerk_id)
        return clerk if clerk is not None and clerk.active else None

    async def close_session(self, token: str) -> None:
        """Log out this session (this browser)."""
        async with self.sessions() as session, session.begin():
            clerk_id = await session.scalar(
                delete(StaffSession)
                .where(StaffSession.token_hash == _hash_token(token))
                .returning(StaffSession.clerk_id)
            )
        if clerk_id is not None:
            await self._sessions_ended(clerk_id)

    async def end_sessions(self, clerk_id: int) -> None:
        """Log the clerk out everywhere: every browser, every device."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            await session.execute(delete(StaffSession).where(StaffSession.clerk_id == clerk_id))
            audit.record(
                session,
                now,
                audit.staff_actor(clerk_id),
                "staff.logged_out_everywhere",
                f"clerk:{clerk_id}",
            )
        await self._sessions_ended(clerk_id)

    async def _sessions_ended(self, clerk_id: int) -> None:
        for hook in self.sessions_ended_hooks:
            try:
                await hook(clerk_id)
            except Exception:
                log.exception("sessions of clerk %s ended: a hook failed", clerk_id)
