"""Building one node from the settings: every choice of backend, and every part's
lifetime, in one place.

The office (database, mailer, the desks, PayPal, the jobs), what the nodes share
(room store, rate limits, news between nodes, capture owners and the socket.io
manager: in Redis with ``REDIS_URL``, in this process without), and the socket layer
with the capture workers. ``build`` puts them into the aiohttp app under the keys of
``signalling.keys`` and ``signalling.sockets.keys``; one cleanup context starts them
in order and stops them in reverse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from media.capture_desk import CaptureDesk
from media.capture_workers import WorkerSettings
from media.vault import CaptureVault
from office.absences import Absences
from office.appointments import Appointments
from office.case_actions import CaseActions, forget_captures
from office.cases import Cases
from office.catalogue import Town
from office.context import Office
from office.db import create_engine, session_factory
from office.enrolment import Enrolment
from office.feedback import FeedbackDesk
from office.guests import Guests
from office.invoices import Invoices
from office.migrate import current_revision, head_revision, upgrade
from office.outbox import Mailer
from office.payment_requests import offer_paypal, send_invoice
from office.photo_uploads import PhotoUploads
from office.reconciliation import Reconciliation
from office.record_retention import purge_records
from office.verification import Verifications
from office.visits import Visits
from rooms.chat_log import ChatLog, MemoryChatLog, RedisChatLog
from rooms.memory import MemoryStore
from rooms.redis_store import RedisStore
from rooms.store import RoomStore
from signalling.jobs import Jobs
from signalling.keys import (
    ABSENCES,
    APPOINTMENTS,
    CAPTURES,
    CASE_ACTIONS,
    CASES,
    CHECK_ICE,
    CLOCK,
    ENGINE,
    ENROLMENT,
    FEEDBACK,
    GUESTS,
    INVOICES,
    JOBS,
    MAILER,
    METRICS,
    NODE_BUS,
    OFFICE,
    PAYPAL,
    PHOTO_REQUESTS,
    PHOTO_UPLOADS,
    RATE_LIMITER,
    RECONCILIATION,
    REDIS,
    ROOM_STORE,
    SESSIONS,
    SETTINGS,
    SIGNER,
    SSO,
    STAFF,
    TOWN,
    VAULT,
)
from signalling.metrics import CountedMailer, Metrics
from signalling.node_bus import LocalNodes, NodeBus, Nodes, new_node_id
from signalling.office_parts import mailer_for, office_for, paypal_for, sso_for, staff_for
from signalling.pages.connection_check import CHECK_TURN_TTL
from signalling.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from signalling.settings import Settings
from signalling.sockets import codec
from signalling.sockets.calls import Calls
from signalling.sockets.capture_commands import CallPort, register_capture
from signalling.sockets.capture_routing import CaptureOwners
from signalling.sockets.case_panel import CasePanel
from signalling.sockets.guests import CallGuests
from signalling.sockets.ice import IceConfig
from signalling.sockets.keys import CASE_PANEL, LOBBY, STAFF_SOCKETS
from signalling.sockets.lobby import Lobby
from signalling.sockets.managers import LocalManager, RedisManager
from signalling.sockets.namespaces import (
    CitizenNamespace,
    ClerkNamespace,
    DashboardNamespace,
    GuestNamespace,
    forbid_other_roles,
)
from signalling.sockets.notifier import Notifier
from signalling.sockets.packets import ProtocolServer
from signalling.sockets.photo_requests import register_photo_requests
from signalling.sockets.protocol import MAX_SDP
from signalling.sockets.staff_sockets import StaffSockets
from signalling.sockets.verification import register_verification

log = logging.getLogger(__name__)


# -- the office -------------------------------------------------------------------------


def _build_office(
    app: web.Application, settings: Settings, town: Town, mailer: Mailer | None
) -> None:
    now = app[CLOCK]
    engine = app[ENGINE] = create_engine(settings.database())  # connects lazily
    sessions = app[SESSIONS] = session_factory(engine)
    jobs: list[Jobs] = []  # the office needs a way to wake the mail job, made below
    office = app[OFFICE] = office_for(
        settings, sessions, town, now=now, mail_queued=lambda: jobs[0].wake_mail() if jobs else None
    )
    app[SIGNER] = office.signer
    app[MAILER] = CountedMailer(mailer or mailer_for(settings), app[METRICS])
    app[APPOINTMENTS] = Appointments(office)
    app[FEEDBACK] = FeedbackDesk(office)
    cases = app[CASES] = Cases(office)
    app[INVOICES] = Invoices(office)
    app[PHOTO_UPLOADS] = PhotoUploads(office)
    app[GUESTS] = Guests(office)
    app[RECONCILIATION] = Reconciliation(cases)
    app[PAYPAL] = paypal_for(settings, cases, town)
    app[STAFF] = staff_for(settings, sessions, town, now=now)
    app[ABSENCES] = Absences(office)
    app[ENROLMENT] = Enrolment(office, app[STAFF])
    app[SSO] = sso_for(settings, app[STAFF], now=now)
    app[CASE_ACTIONS] = CaseActions(cases)
    reminder_lead = timedelta(hours=settings.reminder_hours)
    jobs.append(
        Jobs(
            office, app[MAILER], retention_days=settings.retention_days, reminder_lead=reminder_lead
        )
    )
    app[JOBS] = jobs[0]
    app[JOBS].also_purge(app[PHOTO_UPLOADS].purge_spent)
    app[JOBS].also_purge(app[GUESTS].purge)
    retention = settings.record_retention()
    app[JOBS].also_purge(lambda: purge_records(office, retention))


# -- what the nodes share ---------------------------------------------------------------


@dataclass(frozen=True)
class Shared:
    """Live state and news, shared through Redis by every node, or held by this
    process alone."""

    store: RoomStore
    limiter: RateLimiter
    nodes: Nodes
    chat: ChatLog
    redis: Redis | None = None
    bus: NodeBus | None = None  # news and forwarded capture commands between nodes
    owners: CaptureOwners | None = None  # which node holds which capture peer
    manager: RedisManager | None = None  # socket.io's rooms across nodes


# Redis connections of a node. Under load commands wait for a free one (a few seconds
# at most) instead of failing: with redis-py's default pool, the 101st command in
# flight failed at once, and at 2,500 relayed messages a second that lost thousands.
REDIS_CONNECTIONS = 64
REDIS_WAIT_SECONDS = 5.0
# socket.io's manager publishes through a pool of its own, which cannot be made to
# wait (python-socketio builds it): room enough for a burst of publishes instead.
SOCKETIO_REDIS_CONNECTIONS = 512


def redis_for(url: str) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS
    )
    return Redis(connection_pool=pool)


def shared_for(settings: Settings) -> Shared:
    if not settings.redis_url:
        return Shared(MemoryStore(), MemoryRateLimiter(), LocalNodes(), MemoryChatLog())
    redis = redis_for(settings.redis_url)
    prefix = settings.redis_prefix
    node_id = new_node_id()
    bus = NodeBus(redis, prefix, node_id)
    return Shared(
        RedisStore(redis, prefix),
        RedisRateLimiter(redis, prefix),
        bus,
        RedisChatLog(redis, prefix),
        redis=redis,
        bus=bus,
        owners=CaptureOwners(redis, prefix, node_id),
        manager=RedisManager(
            settings.redis_url,
            node_id=node_id,
            channel=f"{prefix}:socketio",
            json=codec,
            redis_options={"max_connections": SOCKETIO_REDIS_CONNECTIONS},
        ),
    )


# -- the socket layer -------------------------------------------------------------------


def ice_config(settings: Settings) -> IceConfig:
    return IceConfig(
        stun_urls=tuple(settings.stun_urls),
        turn_urls=tuple(settings.turn_urls),
        turn_secret=settings.turn_secret.get_secret_value() if settings.turn_secret else None,
        turn_ttl_seconds=settings.turn_ttl_seconds,
        relay_only=settings.ice_relay_only,
    )


def socket_server_for(settings: Settings, shared: Shared) -> ProtocolServer:
    """Websocket only, so a load balancer needs no sticky sessions."""
    public = urlsplit(settings.public_url)
    return ProtocolServer(
        async_mode="aiohttp",
        client_manager=shared.manager or LocalManager(),
        transports=["websocket"],
        max_http_buffer_size=2 * MAX_SDP,
        cors_allowed_origins=[f"{public.scheme}://{public.netloc}"],
        json=codec,
    )


@dataclass(frozen=True)
class Sockets:
    sio: ProtocolServer
    lobby: Lobby
    staff_sockets: StaffSockets
    desk: CaptureDesk


def _build_sockets(app: web.Application, settings: Settings, shared: Shared) -> Sockets:
    if not settings.demo and not (settings.turn_urls and settings.turn_secret):
        log.warning(
            "no TURN server (BB_TURN_URLS, BB_TURN_SECRET): calls between two home "
            "networks will mostly fail to connect"
        )
    office = app[OFFICE]
    sio = socket_server_for(settings, shared)
    sio.attach(app)
    notifier = Notifier(sio)
    visits = Visits(office)
    ice = ice_config(settings)
    # The waiting room's connection check: the same servers, credentials for minutes.
    app[CHECK_ICE] = replace(ice, turn_ttl_seconds=min(ice.turn_ttl_seconds, CHECK_TURN_TTL))
    lobby = app[LOBBY] = Lobby(
        notifier,
        shared.store,
        visits,
        office.town,
        metrics=app[METRICS],
        no_show_grace_minutes=settings.no_show_grace_minutes,
        clock=app[CLOCK],
    )
    calls = Calls(
        lobby,
        notifier,
        shared.store,
        visits,
        ice,
        shared.nodes,
        shared.chat,
        metrics=app[METRICS],
        reconnect_grace=settings.reconnect_grace_seconds,
    )
    # Cancelled, moved, deleted, missed: out of the waiting room, on every node.
    office.closed_hooks.append(calls.appointment_closed)
    staff_sockets = app[STAFF_SOCKETS] = StaffSockets(notifier, app[STAFF], shared.nodes)
    _share_service_settings(app[OFFICE], shared.nodes)
    citizens = CitizenNamespace(calls, app[APPOINTMENTS])
    clerks = ClerkNamespace(calls, app[STAFF], staff_sockets)
    checks = Verifications(office, settings.signing_key())
    register_verification(citizens, clerks, calls, checks)
    panel = app[CASE_PANEL] = CasePanel(notifier, app[CASES], app[CASE_ACTIONS], clerks)
    panel.register(clerks)
    actions = app[CASE_ACTIONS]
    actions.payment_requested.append(send_invoice(app[INVOICES], app[APPOINTMENTS]))
    if app[PAYPAL].enabled:
        actions.payment_requested.append(offer_paypal(app[PAYPAL], panel.show_payment_link))
    vault = app[VAULT] = CaptureVault(office, settings.capture_key_bytes(), office.signer)
    actions.case_ended.append(forget_captures(app[CASES], checks, vault))
    app[JOBS].also_purge(lambda: vault.purge(timedelta(days=settings.capture_retention_days)))
    workers = WorkerSettings(
        max_sessions=settings.max_capture_sessions,
        capture_key=vault.key,
        allow_loopback=settings.capture_allow_loopback,
        log_level=settings.log_level,
        log_format=settings.log_format,
    )
    desk = app[CAPTURES] = CaptureDesk(
        CallPort(calls),
        checks,
        visits,
        vault,
        app[STAFF],
        workers=workers,
        worker_count=settings.capture_worker_count(),
        ice_servers=lambda: ice.server_peer("capture-peer", time.time()),
        observe_analysis=app[METRICS].observe_analysis,
        observe_closed=app[METRICS].capture_closed,
        records=shared.owners,
    )
    register_capture(desk, citizens, clerks, calls, shared.owners, shared.bus)
    # Full-resolution photos come over HTTPS (signalling/pages/photo_upload.py), to any node.
    app[PHOTO_REQUESTS] = register_photo_requests(clerks, calls, checks, desk, app[PHOTO_UPLOADS])
    dashboards = DashboardNamespace(calls, app[STAFF], staff_sockets)
    guests = GuestNamespace(calls, CallGuests(calls, app[GUESTS]).register(clerks))
    namespaces = [citizens, clerks, dashboards, guests]
    forbid_other_roles(namespaces)
    for namespace in namespaces:
        sio.register_namespace(namespace)
    return Sockets(sio, lobby, staff_sockets, desk)


# -- one node ---------------------------------------------------------------------------


def build(
    app: web.Application,
    settings: Settings,
    town: Town,
    *,
    now: Callable[[], datetime],
    mailer: Mailer | None,
    run_jobs: bool,
) -> None:
    """Build every part of one node into ``app`` and tie their lifetimes to it."""
    app[SETTINGS] = settings
    app[TOWN] = town
    app[CLOCK] = now
    app[METRICS] = Metrics()
    _build_office(app, settings, town, mailer)
    shared = shared_for(settings)
    app[ROOM_STORE] = shared.store
    app[RATE_LIMITER] = shared.limiter
    app[REDIS] = shared.redis
    if shared.bus is not None:
        app[NODE_BUS] = shared.bus
    sockets = _build_sockets(app, settings, shared)
    app.cleanup_ctx.append(_lifetime(settings, shared, sockets, run_jobs))

    async def disconnect_sockets(app: web.Application) -> None:
        await sockets.sio.close_transports()  # clients move to another node at once
        await sockets.sio.shutdown()

    app.on_shutdown.append(disconnect_sockets)


def _share_service_settings(office: Office, nodes: Nodes) -> None:
    """A change an admin saved on one node: every node reloads the services' settings."""
    settings = office.service_settings

    async def reload(_: Any) -> None:
        await settings.load()

    async def tell_all() -> None:
        await nodes.tell_all("service_settings_changed", {})

    nodes.serve("service_settings_changed", reload)
    settings.changed_hooks.append(tell_all)


def _lifetime(
    settings: Settings, shared: Shared, sockets: Sockets, run_jobs: bool
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        engine = app[ENGINE]
        if settings.demo:
            # The demo migrates itself at every start; the steps would bury its guide.
            logging.getLogger("alembic").setLevel(logging.WARNING)
            await upgrade(engine)
        elif await current_revision(engine) != head_revision():
            await engine.dispose()
            raise SystemExit("The database schema is not current: run `buergerbuero migrate`.")
        await app[OFFICE].service_settings.load()
        if shared.redis is not None:
            try:
                await shared.redis.ping()
            except Exception as exc:
                await engine.dispose()
                raise SystemExit(f"Redis at REDIS_URL is not reachable: {exc}") from exc
        if run_jobs:
            app[JOBS].start()
        if shared.bus is not None and shared.owners is not None:
            await shared.bus.start()
            shared.owners.start()
        sockets.lobby.start()
        sockets.staff_sockets.start()
        yield
        await sockets.staff_sockets.stop()
        await sockets.desk.close()
        if shared.bus is not None and shared.owners is not None:
            await shared.owners.stop()  # after close_all: the closed sessions' records are gone
            await shared.bus.stop()
        await sockets.lobby.stop()
        await shared.store.close()
        await app[JOBS].stop()
        await app[PAYPAL].close()
        if (sso := app[SSO]) is not None:
            await sso.provider.close()
        await engine.dispose()

    return lifetime
