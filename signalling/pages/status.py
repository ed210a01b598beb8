"""The citizen's status page: each case of their appointment as a timeline, like
parcel tracking (verified, invoice sent / paid, posted or forwarded), with the way to
pay while the fee is open.

Reached with the appointment's session cookie (the mailed link sets it), so a citizen
sees only their own appointment's cases; anything else is "not found".
"""

from __future__ import annotations

from aiohttp import web

from office.cases import CaseView
from signalling.keys import APPOINTMENTS, CASES
from signalling.pages.appointment import current
from signalling.render import render

routes = web.RouteTableDef()


async def own_case(request: web.Request, case_id: str) -> CaseView:
    """The case, if it belongs to this browser's appointment; else 404 (never 403:
    whether another citizen's case exists is not to be told)."""
    appointment = await current(request)
    for case in await request.app[CASES].of_appointment(appointment.id):
        if case.id == case_id:
            return case
    raise web.HTTPNotFound()


@routes.get("/termin/status", name="status")
async def status_page(request: web.Request) -> web.Response:
    appointment = await current(request)
    desk = request.app[APPOINTMENTS]
    cases = await request.app[CASES].of_appointment(appointment.id)
    return render(
        request,
        "status.html",
        {
            "appointment": appointment,
            "cases": [{"case": case, "service": desk.service(case.service_id)} for case in cases],
            "notice": request.query.get("hinweis"),
        },
    )
