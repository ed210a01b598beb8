"""Typed keys for what the app holds (``app[KEY]``), in one place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from media.capture_desk import CaptureDesk
from media.copies import Image
from media.vault import CaptureVault
from office.absences import Absences
from office.appointments import Appointments
from office.case_actions import CaseActions
from office.cases import Cases
from office.catalogue import Town
from office.context import Office
from office.enrolment import Enrolment
from office.feedback import FeedbackDesk
from office.guests import Guests
from office.invoices import Invoices
from office.outbox import Mailer
from office.paypal_payments import PaypalPayments
from office.photo_uploads import PhotoUploads, UploadGrant
from office.reconciliation import Reconciliation
from office.sso_accounts import SingleSignOn
from office.staff import Staff
from office.tokens import Signer
from rooms.store import RoomStore
from signalling.api_contract import ApiContract
from signalling.csrf import CsrfGuard
from signalling.jobs import Jobs
from signalling.metrics import Metrics
from signalling.node_bus import NodeBus
from signalling.ratelimit import RateLimiter
from signalling.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
API_CONTRACT = web.AppKey("api_contract", ApiContract)
METRICS = web.AppKey("metrics", Metrics)
TOWN = web.AppKey("town", Town)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
SIGNER = web.AppKey("signer", Signer)
CSRF = web.AppKey("csrf", CsrfGuard)
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
OFFICE = web.AppKey("office", Office)
APPOINTMENTS = web.AppKey("appointments", Appointments)
ABSENCES = web.AppKey("absences", Absences)
ENROLMENT = web.AppKey("enrolment", Enrolment)
CASES = web.AppKey("cases", Cases)
FEEDBACK = web.AppKey("feedback", FeedbackDesk)
GUESTS = web.AppKey("guests", Guests)
INVOICES = web.AppKey("invoices", Invoices)
STAFF = web.AppKey("staff", Staff)
MAILER = web.AppKey("mailer", Mailer)
JOBS = web.AppKey("jobs", Jobs)
ROOM_STORE: web.AppKey[RoomStore] = web.AppKey("room_store")
CAPTURES = web.AppKey("captures", CaptureDesk)
VAULT = web.AppKey("vault", CaptureVault)
NODE_BUS = web.AppKey("node_bus", NodeBus)  # only with Redis (several nodes)
REDIS: web.AppKey[Redis | None] = web.AppKey("redis")  # None: one node, no Redis
PHOTO_UPLOADS = web.AppKey("photo_uploads", PhotoUploads)
# Staff single sign-on through the town's OpenID provider; None while none is set up.
SSO: web.AppKey[SingleSignOn | None] = web.AppKey("sso")


class PhotoReceiver(Protocol):
    """Where an uploaded photo goes: kept as a capture of the running check, and
    shown to the clerk (the socket layer's ``PhotoRequests``)."""

    async def receive(self, grant: UploadGrant, image: Image) -> dict[str, Any]: ...


PHOTO_REQUESTS: web.AppKey[PhotoReceiver] = web.AppKey("stills")


class IceServers(Protocol):
    """STUN and TURN for a browser, with fresh TURN credentials (the socket layer's
    ``IceConfig``)."""

    @property
    def transport_policy(self) -> str: ...

    def servers(self, user: str, now: float) -> list[dict[str, Any]]: ...


# The servers for the waiting room's connection check: their TURN credentials last
# minutes, not the hours of a call's (signalling/pages/connection_check.py).
CHECK_ICE: web.AppKey[IceServers] = web.AppKey("check_ice")
# The case panel's actions with their payment hooks, for the after-call pages too.
CASE_ACTIONS: web.AppKey[CaseActions] = web.AppKey("case_actions")
PAYPAL = web.AppKey("paypal", PaypalPayments)  # .enabled: whether to offer PayPal
RECONCILIATION = web.AppKey("reconciliation", Reconciliation)
