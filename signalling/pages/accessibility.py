"""The accessibility statement (BITV 2.0 § 7) with its form for reporting a barrier,
and the service explained in Leichte Sprache (easy-to-read German)."""

from __future__ import annotations

from aiohttp import web

from common.i18n import catalogue
from office.barrier_reports import parse_report, send_report
from office.errors import InvalidInput
from signalling import i18n
from signalling.clients import BOOKING, allow
from signalling.keys import OFFICE, TOWN
from signalling.pages.services import HONEYPOT, bot_refused
from signalling.render import render, too_many_requests

routes = web.RouteTableDef()


def _statement(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    sent: bool = False,
    status: int = 200,
) -> web.Response:
    town = request.app[TOWN]
    page = {
        "values": values or {},
        "errors": errors or {},
        "sent": sent,
        "statement": town.accessibility,
        "contact": town.accessibility.contact_email or town.town.email,
    }
    return render(request, "accessibility.html", page, status=status)


@routes.get("/barrierefreiheit", name="accessibility")
async def statement(request: web.Request) -> web.Response:
    return _statement(request)


@routes.post("/barrierefreiheit")
async def report_barrier(request: web.Request) -> web.Response:
    if not await allow(request, "report", BOOKING):
        return too_many_requests(request)
    form = await request.post()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if values.get(HONEYPOT):
        return bot_refused(request)
    try:
        report = parse_report(values)
    except InvalidInput as exc:
        messages = catalogue(i18n.language(request))
        errors = {field: messages.gettext(text) for field, text in exc.fields.items()}
        return _statement(request, values=values, errors=errors, status=400)
    await send_report(request.app[OFFICE], report)
    return _statement(request, sent=True)


@routes.get("/leichte-sprache", name="easy_read")
async def easy_read(request: web.Request) -> web.Response:
    return render(request, "easy_read.html")
