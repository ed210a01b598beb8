"""Walk-in ("Jetzt beraten lassen"): for a service the town serves without booking,
while a clerk with its skill is on duty, a citizen goes straight to the waiting room.

The appointment is made for now (``Appointments.walk_in``); the page sets the same
session cookie as the mailed link and leads to the waiting room, where the check-in
is open at once. Whether a clerk is on duty comes from the room store, as the waiting
room's own estimate does.
"""

from __future__ import annotations

from aiohttp import web

from common.i18n import translate
from office.catalogue import Service
from signalling import i18n
from signalling.keys import APPOINTMENTS, CLOCK, METRICS
from signalling.pages.appointment import set_session
from signalling.pages.services import Attempt, attempt, posted_contact, service_of, walk_in_now
from signalling.render import redirect, render

routes = web.RouteTableDef()


def _walk_in_service(request: web.Request) -> Service:
    service = service_of(request)
    if not service.walk_in:
        raise web.HTTPNotFound()
    return service


@routes.get("/jetzt/{service_id}", name="walk_in")
async def walk_in_form(request: web.Request) -> web.Response:
    service = _walk_in_service(request)
    open_now = service.id in await walk_in_now(request.app)
    return render(
        request,
        "walk_in.html",
        {"service": service, "open_now": open_now, "values": {}, "errors": {}, "message": None},
    )


@routes.post("/jetzt/{service_id}")
async def walk_in_submit(request: web.Request) -> web.StreamResponse:
    service = _walk_in_service(request)
    values = await posted_contact(request)
    if isinstance(values, web.Response):
        return values
    if service.id not in await walk_in_now(request.app):
        message = translate(
            i18n.language(request), "Gerade ist niemand für dieses Anliegen erreichbar."
        )
        tried = Attempt(message=message)
    else:
        # starts_at only for the form's checks: a walk-in starts now.
        values = {**values, "service_id": service.id, "starts_at": request.app[CLOCK]().isoformat()}
        tried = await attempt(request, values, request.app[APPOINTMENTS].walk_in)
    if tried.booked is not None:
        request.app[METRICS].bookings.labels("walk_in").inc()
        response = redirect("/termin/warteraum")
        set_session(request, response, tried.booked.appointment)
        return response
    page = {
        "service": service,
        "open_now": tried.message is None,
        "values": values,
        "errors": tried.errors,
        "message": tried.message,
    }
    return render(request, "walk_in.html", page, status=409 if tried.message else 400)
