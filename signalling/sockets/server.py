"""Wiring Socket.IO into the app: the room store, the manager, the namespaces.

With ``REDIS_URL`` the room store is Redis and socket.io's ``AsyncRedisManager``
carries events between nodes; without it, both live in this process. Transport is
websocket only, so a load balancer needs no sticky sessions. With Redis each process
also gets a node id and a :class:`NodeBus`, over which the clerk's capture commands
reach the node that holds the citizen's capture peer (``capture_routing``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import socketio
from aiohttp import web

from media.capture_peer import CaptureRegistry
from media.vault import CaptureVault
from office.case_actions import forget_captures
from office.payment_requests import offer_paypal, send_invoice
from office.verification import Verifications
from office.visits import Visits
from rooms.redis_store import RedisStore
from signalling.keys import (
    APPOINTMENTS,
    CAPTURES,
    CASE_ACTIONS,
    CASES,
    CLOCK,
    INVOICES,
    JOBS,
    METRICS,
    NODE_BUS,
    OFFICE,
    PAYPAL,
    PHOTO_REQUESTS,
    PHOTO_UPLOADS,
    ROOM_STORE,
    SETTINGS,
    SIGNER,
    STAFF,
    TOWN,
    VAULT,
)
from signalling.node_bus import LocalNodes, NodeBus, new_node_id
from signalling.settings import Settings
from signalling.sockets.capture_commands import register_capture
from signalling.sockets.capture_routing import CaptureOwners
from signalling.sockets.case_panel import CasePanel
from signalling.sockets.ice import IceConfig
from signalling.sockets.keys import CAPTURE_COMMANDS, CASE_PANEL, LOBBY, STAFF_SOCKETS
from signalling.sockets.lobby import Lobby
from signalling.sockets.namespaces import (
    CitizenNamespace,
    ClerkNamespace,
    DashboardNamespace,
    forbid_other_roles,
)
from signalling.sockets.packets import ProtocolServer
from signalling.sockets.photo_requests import register_photo_requests
from signalling.sockets.protocol import MAX_SDP
from signalling.sockets.staff_sockets import StaffSockets
from signalling.sockets.verification import register_verification

log = logging.getLogger(__name__)


def ice_config(settings: Settings) -> IceConfig:
    return IceConfig(
        stun_urls=tuple(settings.stun_urls),
        turn_urls=tuple(settings.turn_urls),
        turn_secret=settings.turn_secret.get_secret_value() if settings.turn_secret else None,
        turn_ttl_seconds=settings.turn_ttl_seconds,
        relay_only=settings.ice_relay_only,
    )


def secret_of(app: web.Application) -> str:
    return app[SETTINGS].signing_key()


def attach_realtime(app: web.Application) -> None:
    settings = app[SETTINGS]
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio")
        if settings.redis_url
        else None
    )
    if not settings.demo and not (settings.turn_urls and settings.turn_secret):
        log.warning(
            "no TURN server (BB_TURN_URLS, BB_TURN_SECRET): calls between two home "
            "networks will mostly fail to connect"
        )
    public = urlsplit(settings.public_url)
    sio = ProtocolServer(
        async_mode="aiohttp",
        client_manager=manager,
        transports=["websocket"],
        max_http_buffer_size=2 * MAX_SDP,
        cors_allowed_origins=[f"{public.scheme}://{public.netloc}"],
    )
    sio.attach(app)
    store = app[ROOM_STORE]
    bus, owners = None, None
    if isinstance(store, RedisStore):  # several nodes: news and capture commands travel
        node_id = new_node_id()
        bus = NodeBus(store.redis, store.prefix, node_id)
        owners = CaptureOwners(store, node_id)
        app[NODE_BUS] = bus
    lobby = Lobby(
        sio,
        store,
        Visits(app[OFFICE]),
        app[TOWN],
        ice_config(settings),
        bus or LocalNodes(),
        metrics=app[METRICS],
        reconnect_grace=settings.reconnect_grace_seconds,
        no_show_grace_minutes=settings.no_show_grace_minutes,
        clock=app[CLOCK],
    )
    # Cancelled, moved, deleted, missed: out of the waiting room, on every node.
    app[OFFICE].closed_hooks.append(lobby.appointment_closed)
    staff_sockets = StaffSockets(sio, app[STAFF], bus or lobby.nodes)
    citizens = CitizenNamespace(lobby, app[APPOINTMENTS])
    clerks = ClerkNamespace(lobby, app[STAFF], staff_sockets)
    checks = Verifications(app[OFFICE], secret_of(app))
    register_verification(citizens, clerks, lobby, checks)
    cases = CasePanel(lobby, app[CASES], clerks)
    cases.register(clerks, citizens)
    cases.actions.payment_requested.append(send_invoice(app[INVOICES], app[APPOINTMENTS]))
    if app[PAYPAL].enabled:
        cases.actions.payment_requested.append(offer_paypal(app[PAYPAL], cases.show_payment_link))
    app[CASE_PANEL] = cases
    app[CASE_ACTIONS] = cases.actions  # the after-call pages act with the same hooks
    ice = lobby.ice
    captures = CaptureRegistry(
        max_sessions=settings.max_capture_sessions,
        ice_servers=lambda: ice.server_peer("capture-peer", time.time()),
        allow_loopback=settings.capture_allow_loopback,
        on_close=owners.session_closed if owners is not None else None,
    )
    vault = CaptureVault(app[OFFICE], settings.capture_key_bytes(), app[SIGNER])
    cases.actions.case_ended.append(forget_captures(app[CASES], checks, vault))
    desk = register_capture(
        citizens, clerks, lobby, checks, captures, vault, app[STAFF], app[METRICS], owners, bus
    )
    # Full-resolution photos come over HTTPS (signalling/pages/photo_upload.py), to any node.
    uploads = app[PHOTO_UPLOADS]
    stills = register_photo_requests(clerks, lobby, checks, desk, uploads)
    app[CAPTURES] = captures
    app[VAULT] = vault
    app[CAPTURE_COMMANDS] = desk
    app[PHOTO_REQUESTS] = stills
    retention = timedelta(days=settings.capture_retention_days)
    app[JOBS].also_purge(lambda: vault.purge(retention))
    app[JOBS].also_purge(uploads.purge_spent)
    namespaces = [citizens, clerks, DashboardNamespace(lobby, app[STAFF], staff_sockets)]
    forbid_other_roles(namespaces)
    for namespace in namespaces:
        sio.register_namespace(namespace)
    app[LOBBY] = lobby
    app[STAFF_SOCKETS] = staff_sockets

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if isinstance(store, RedisStore):
            try:
                await store.ping()
            except Exception as exc:
                raise SystemExit(f"Redis at REDIS_URL is not reachable: {exc}") from exc
        if bus is not None and owners is not None:
            await bus.start()
            owners.start()
        lobby.start()
        staff_sockets.start()
        yield
        await staff_sockets.stop()
        await captures.close_all()
        desk.close()
        if bus is not None and owners is not None:
            await owners.stop()  # after close_all: the closed sessions' records are gone
            await bus.stop()
        await lobby.stop()
        await store.close()

    async def disconnect_sockets(app: web.Application) -> None:
        await sio.close_transports()  # clients move to another node at once
        await sio.shutdown()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(disconnect_sockets)
