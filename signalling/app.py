"""The app factory: builds the aiohttp application from settings.

The choice of backends (database, mailer, room store and rate limits) happens here
and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from office.appointments import Appointments
from office.cases import Cases
from office.catalogue import Town, load_town
from office.db import create_engine, session_factory
from office.invoices import Invoices
from office.migrate import current_revision, head_revision, upgrade
from office.outbox import Mailer
from office.photo_uploads import PhotoUploads
from office.reconciliation import Reconciliation
from office.tokens import Signer
from rooms.redis_store import RedisStore
from signalling import api, middleware, openapi
from signalling.api_contract import ApiContract
from signalling.csrf import CsrfGuard
from signalling.jobs import Jobs
from signalling.keys import (
    API_CONTRACT,
    APPOINTMENTS,
    CASES,
    CLOCK,
    CSRF,
    ENGINE,
    INVOICES,
    JOBS,
    MAILER,
    METRICS,
    OFFICE,
    PAYPAL,
    PHOTO_UPLOADS,
    RATE_LIMITER,
    RECONCILIATION,
    ROOM_STORE,
    SESSIONS,
    SETTINGS,
    SIGNER,
    STAFF,
    TOWN,
)
from signalling.metrics import CountedMailer, Metrics
from signalling.pages import (
    appointment,
    bank,
    booking,
    capture_images,
    casework,
    dev,
    operations,
    paypal,
    photo_upload,
    staff,
    status,
)
from signalling.ratelimit import MemoryRateLimiter, RedisRateLimiter
from signalling.settings import Settings
from signalling.sockets.server import attach_realtime
from signalling.wiring import mailer_for, office_for, paypal_for, room_store_for, staff_for

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(str(resources.files("signalling")))


async def town_css(request: web.Request) -> web.Response:
    """The town's colour on top of the KERN theme (a file, so the CSP needs no inline style)."""
    colour = request.app[TOWN].town.primary_colour
    return web.Response(
        text=f':root[data-kern-theme="light"] {{ --kern-color-action-default: {colour}; }}\n',
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def create_app(
    settings: Settings,
    *,
    town: Town | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    mailer: Mailer | None = None,
    run_jobs: bool = True,
) -> web.Application:
    """Build the app. Tests pass their own clock and may drive the jobs themselves."""
    if problems := settings.problems():
        raise SystemExit("Refusing to start in production mode:\n  - " + "\n  - ".join(problems))
    town = town or load_town(settings.town_config)
    secret = settings.signing_key()
    app = web.Application(
        middlewares=[
            middleware.observed,
            middleware.security_headers,
            middleware.errors,
            middleware.language_cookie,
            middleware.csrf,
        ],
        client_max_size=64 * 1024,
    )
    app[SETTINGS] = settings
    app[TOWN] = town
    app[API_CONTRACT] = ApiContract(openapi.spec(town))
    app[CLOCK] = now
    app[SIGNER] = Signer(secret, now)
    app[CSRF] = CsrfGuard(secret, secure_cookies=settings.public_url.startswith("https://"))
    app[METRICS] = Metrics()
    app[MAILER] = CountedMailer(mailer or mailer_for(settings), app[METRICS])

    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("signalling", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )

    # Everything is built here, before the app starts; the engine connects lazily.
    engine = create_engine(settings.database())
    app[ENGINE] = engine
    app[SESSIONS] = session_factory(engine)
    jobs: list[Jobs] = []  # filled below; the desk needs a way to wake the mail job
    office = app[OFFICE] = office_for(
        settings,
        app[SESSIONS],
        town,
        now=now,
        mail_queued=lambda: jobs[0].wake_mail() if jobs else None,
    )
    app[APPOINTMENTS] = Appointments(office)
    app[CASES] = Cases(office)
    app[PHOTO_UPLOADS] = PhotoUploads(office)
    app[INVOICES] = Invoices(office)
    app[RECONCILIATION] = Reconciliation(app[CASES])
    app[PAYPAL] = paypal_for(settings, app[CASES], town)
    app.on_cleanup.append(paypal.close)
    app[STAFF] = staff_for(settings, app[SESSIONS], town, now=now)
    jobs.append(
        Jobs(
            office,
            app[MAILER],
            retention_days=settings.retention_days,
            reminder_lead=timedelta(hours=settings.reminder_hours),
        )
    )
    app[JOBS] = jobs[0]

    async def database(app: web.Application) -> AsyncIterator[None]:
        if settings.demo:
            await upgrade(engine)
        elif await current_revision(engine) != head_revision():
            await engine.dispose()
            raise SystemExit("The database schema is not current: run `buergerbuero migrate`.")
        if run_jobs:
            app[JOBS].start()
        yield
        await app[JOBS].stop()
        await engine.dispose()

    app.cleanup_ctx.append(database)
    # Live state and rate limits: in this process alone, or shared through Redis.
    store = app[ROOM_STORE] = room_store_for(settings)
    app[RATE_LIMITER] = (
        RedisRateLimiter(store.redis, store.prefix)
        if isinstance(store, RedisStore)
        else MemoryRateLimiter()
    )
    attach_realtime(app)
    app.router.add_routes(operations.routes)
    app.router.add_get("/town.css", town_css)
    app.router.add_static("/static", PACKAGE_DIR / "static", append_version=True, name="static")
    app.router.add_routes(booking.routes)
    app.router.add_routes(appointment.routes)
    app.router.add_routes(staff.routes)
    app.router.add_routes(bank.routes)
    app.router.add_routes(casework.routes)
    app.router.add_routes(capture_images.routes)
    app.router.add_routes(photo_upload.routes)
    app.router.add_routes(status.routes)
    app.router.add_routes(paypal.routes)
    app.router.add_routes(api.routes)
    if settings.demo:
        app.router.add_routes(dev.routes)
    return app
