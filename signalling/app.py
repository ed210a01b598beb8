"""The app factory: the aiohttp application with its middlewares, templates and
routes. Its parts are built from the settings by ``signalling.wiring``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp_jinja2
import jinja2
from aiohttp import web

from common import i18n
from common.assets import asset_dir
from office.catalogue import Town, load_town
from office.context import utc_now
from office.outbox import Mailer
from signalling import api, middleware, openapi, wiring
from signalling.api_contract import ApiContract
from signalling.csrf import CsrfGuard
from signalling.demo import demo_town
from signalling.keys import API_CONTRACT, CSRF, TOWN
from signalling.pages import (
    absences,
    accessibility,
    administration,
    appointment,
    audit_desk,
    bank,
    booking,
    capture_images,
    casework,
    connection_check,
    dev,
    enrolment,
    feedback,
    guest,
    operations,
    paypal,
    photo_upload,
    service_admin,
    sso,
    staff,
    statistics,
    status,
    walk_in,
)
from signalling.settings import Settings

log = logging.getLogger(__name__)


async def town_css(request: web.Request) -> web.Response:
    """The town's colour on top of the KERN theme (a file, so the CSP needs no inline style)."""
    colour = request.app[TOWN].town.primary_colour
    return web.Response(
        text=f':root[data-kern-theme="light"] {{ --kern-color-action-default: {colour}; }}\n',
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def town_for(settings: Settings) -> Town:
    """The configured town file; in demo mode with bookings possible from now on."""
    town = load_town(settings.town_config)
    return demo_town(town) if settings.demo else town


def create_app(
    settings: Settings,
    *,
    town: Town | None = None,
    now: Callable[[], datetime] = utc_now,
    mailer: Mailer | None = None,
    run_jobs: bool = True,
) -> web.Application:
    """Build the app. Tests pass their own clock and may drive the jobs themselves."""
    if problems := settings.problems():
        raise SystemExit("Refusing to start in production mode:\n  - " + "\n  - ".join(problems))
    town = town or town_for(settings)
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
    wiring.build(app, settings, town, now=now, mailer=mailer, run_jobs=run_jobs)
    app[API_CONTRACT] = ApiContract(openapi.spec(town))
    secure = settings.public_url.startswith("https://")
    app[CSRF] = CsrfGuard(settings.signing_key(), secure_cookies=secure)
    templates = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(asset_dir("templates")),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    i18n.install(templates)  # _() in the page's language (the context's "lang")
    app.router.add_routes(operations.routes)
    app.router.add_get("/town.css", town_css)
    app.router.add_static("/static", asset_dir("static"), append_version=True, name="static")
    app.router.add_routes(booking.routes)
    app.router.add_routes(appointment.routes)
    app.router.add_routes(staff.routes)
    app.router.add_routes(enrolment.routes)
    app.router.add_routes(administration.routes)
    app.router.add_routes(absences.routes)
    app.router.add_routes(service_admin.routes)
    app.router.add_routes(sso.routes)
    app.router.add_routes(bank.routes)
    app.router.add_routes(statistics.routes)
    app.router.add_routes(casework.routes)
    app.router.add_routes(audit_desk.routes)
    app.router.add_routes(capture_images.routes)
    app.router.add_routes(photo_upload.routes)
    app.router.add_routes(connection_check.routes)
    app.router.add_routes(status.routes)
    app.router.add_routes(feedback.routes)
    app.router.add_routes(walk_in.routes)
    app.router.add_routes(guest.routes)
    app.router.add_routes(accessibility.routes)
    app.router.add_routes(paypal.routes)
    app.router.add_routes(api.routes)
    if settings.demo:
        app.router.add_routes(dev.routes)
    return app
