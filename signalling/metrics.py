"""How the office is doing, in Prometheus's format at ``/metrics``.

Figures of the office as a whole (waiting citizens, calls, clerks by state) are read
from the room store at each scrape, so every node reports the same (take the maximum
over nodes). Counters and histograms (joins, relayed messages, requests, bookings,
mails, analysis times) count what this process did (sum them over nodes).

No label ever carries personal data or names a clerk: services, states, events,
routes (their pattern, never the path with its tokens) and status codes only. Staff
councils forbid per-clerk figures, so clerks appear only as counts per state.

``/metrics`` answers addresses in ``BB_METRICS_ALLOW`` (loopback by default; behind a
proxy, the address it names) or a request with ``Authorization: Bearer
<BB_METRICS_TOKEN>``; everyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import Counter as CounterMetric

from office.catalogue import Town
from office.outbox import Mailer
from rooms.state import ClerkState
from rooms.store import RoomStore

# Capture analysis and MRZ reading take tenths of a second to seconds.
ANALYSIS_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)


class Metrics:
    """One app's instruments, in a registry of its own (two apps in one process,
    as in the tests, do not mix their counts)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.waiting = Gauge(
            "bb_waiting_citizens", "Citizens in the waiting room", ["service"], registry=registry
        )
        self.longest_wait = Gauge(
            "bb_longest_wait_seconds",
            "How long the longest-waiting citizen has waited since checking in",
            ["service"],
            registry=registry,
        )
        self.calls = Gauge("bb_calls_in_progress", "Calls in progress", registry=registry)
        self.clerks = Gauge(
            "bb_clerks", "Clerks on duty, by state (counts only)", ["state"], registry=registry
        )
        self.capture_sessions = Gauge(
            "bb_capture_sessions", "Capture connections open on this node", registry=registry
        )
        self.captures_closed = CounterMetric(
            "bb_capture_sessions_closed",
            "Capture connections ended, by reason",
            ["reason"],
            registry=registry,
        )
        self.joins = CounterMetric(
            "bb_queue_joins", "Check-ins to the waiting room (rejoins included)", registry=registry
        )
        self.relayed = CounterMetric(
            "bb_relayed_messages", "Signalling messages relayed", ["event"], registry=registry
        )
        self.bookings = CounterMetric(
            "bb_bookings", "Appointments booked", ["channel"], registry=registry
        )
        self.mails = CounterMetric(
            "bb_mails", "Mails handed to the mail server", ["outcome"], registry=registry
        )
        self.requests = CounterMetric(
            "bb_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.analysis_seconds = Histogram(
            "bb_capture_analysis_seconds",
            "A capture's whole document analysis",
            buckets=ANALYSIS_BUCKETS,
            registry=registry,
        )
        self.mrz_seconds = Histogram(
            "bb_mrz_seconds", "Reading a capture's MRZ", buckets=ANALYSIS_BUCKETS, registry=registry
        )

    async def refresh(self, store: RoomStore, town: Town, capture_sessions: int) -> None:
        """Read the office-wide figures from the room store (at each scrape)."""
        now = time.time()
        waiting = await store.waiting()
        for service in town.services:
            tickets = [t for t in waiting if t.service_id == service.id]
            self.waiting.labels(service.id).set(len(tickets))
            oldest = min((t.checked_in_at for t in tickets), default=now)
            self.longest_wait.labels(service.id).set(max(now - oldest, 0.0))
        self.calls.set(len(await store.calls()))
        states = Counter(presence.state.value for presence in await store.clerks())
        for state in ClerkState:
            self.clerks.labels(state.value).set(states[state.value])
        self.capture_sessions.set(capture_sessions)

    def capture_closed(self, reason: str) -> None:
        self.captures_closed.labels(reason).inc()

    def observe_analysis(self, timings_ms: dict[str, float]) -> None:
        if "total" in timings_ms:
            self.analysis_seconds.observe(timings_ms["total"] / 1000)
        if "mrz" in timings_ms:
            self.mrz_seconds.observe(timings_ms["mrz"] / 1000)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_of(request: web.Request) -> str:
    """The route's pattern (``/t/{token}``), never the path itself: paths carry tokens
    and ids. A request that matched no route is ``unmatched``."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    canonical = resource.canonical
    return canonical if canonical.startswith("/") else "unmatched"


MetricsSource = Callable[[], Awaitable[None]]  # refreshes the office-wide figures


def allowed(request: web.Request, networks: list[str], token: str | None, client: str) -> bool:
    """Whether this request may read the figures: a matching bearer token, or a client
    address within the allowed networks."""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def exposition_response(metrics: Metrics) -> web.Response:
    response = web.Response(body=metrics.exposition())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


@dataclass(frozen=True)
class CountedMailer:
    """The mailer, counting what it delivered and what the mail server refused."""

    mailer: Mailer
    metrics: Metrics

    async def send(self, message: EmailMessage) -> None:
        try:
            await self.mailer.send(message)
        except Exception:
            self.metrics.mails.labels("failed").inc()
            raise
        self.metrics.mails.labels("sent").inc()
