"""The citizen's own appointment: opened from the mailed link, then by cookie.

``/t/{token}`` checks the link, swaps it for an HttpOnly session cookie and
redirects to a URL without the token, so the token does not stay in the address
bar, the history or any later Referer.
"""

from __future__ import annotations

from aiohttp import web

from office import retention
from office.booking_request import parse_starts_at
from office.errors import OfficeError, TokenInvalid
from office.models import Appointment
from office.tokens import Audience
from signalling import i18n
from signalling.clients import LINK, allow, secure_cookies
from signalling.keys import APPOINTMENTS, CLOCK
from signalling.pages.booking import parse_day, slot_picker
from signalling.render import error_page, redirect, render

routes = web.RouteTableDef()
COOKIE = "bb_termin"
NEXT_PAGES = {"loeschen": "/termin/daten-loeschen", "absagen": "/termin/absagen"}


def _invalid_link(request: web.Request) -> web.Response:
    response = render(request, "link_invalid.html", status=404)
    response.del_cookie(COOKIE, path="/")
    return response


def _set_session(
    request: web.Request, response: web.StreamResponse, appointment: Appointment
) -> None:
    token = request.app[APPOINTMENTS].issue_token(appointment, Audience.APPOINTMENT_SESSION)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Lax", secure=secure_cookies(request), path="/"
    )


@routes.get("/t/{token}", name="join_link")
async def open_link(request: web.Request) -> web.StreamResponse:
    if not allow(request, "link", LINK):
        return error_page(request, 429, i18n.translate("rate_limited", i18n.language(request)))
    try:
        appointment = await request.app[APPOINTMENTS].open_token(
            request.match_info["token"], Audience.JOIN_LINK
        )
    except TokenInvalid:
        return _invalid_link(request)
    response = redirect(NEXT_PAGES.get(request.query.get("next", ""), "/termin"))
    _set_session(request, response, appointment)
    return response


async def current(request: web.Request) -> Appointment:
    """The appointment of this browser's session cookie."""
    try:
        return await request.app[APPOINTMENTS].open_token(
            request.cookies.get(COOKIE, ""), Audience.APPOINTMENT_SESSION
        )
    except TokenInvalid:
        raise web.HTTPNotFound() from None


def _page(request: web.Request, appointment: Appointment, **extra: object) -> dict[str, object]:
    desk = request.app[APPOINTMENTS]
    now = request.app[CLOCK]()
    checkin = desk.checkin_window(appointment)
    return {
        "appointment": appointment,
        "service": desk.service(appointment.service_id),
        "checkin": checkin,
        "checkin_open": checkin.start <= now < checkin.end,
        "checkin_over": now >= checkin.end,
        "before_minutes": desk.town.booking.checkin_before_minutes,
        **extra,
    }


@routes.get("/termin", name="appointment")
async def appointment_page(request: web.Request) -> web.Response:
    try:
        appointment = await current(request)
    except web.HTTPNotFound:
        return _invalid_link(request)
    notice = request.query.get("hinweis")
    return render(request, "appointment.html", _page(request, appointment, notice=notice))


@routes.get("/termin/absagen")
async def cancel_confirm(request: web.Request) -> web.Response:
    appointment = await current(request)
    return render(request, "cancel.html", _page(request, appointment))


@routes.post("/termin/absagen")
async def cancel(request: web.Request) -> web.Response:
    appointment = await current(request)
    try:
        await request.app[APPOINTMENTS].cancel(appointment.id)
    except OfficeError as exc:
        lang = i18n.language(request)
        return error_page(request, 409, i18n.error_text(exc.code, exc.message, lang))
    response = render(request, "cancelled.html")
    response.del_cookie(COOKIE, path="/")
    return response


@routes.get("/termin/daten-loeschen")
async def delete_confirm(request: web.Request) -> web.Response:
    appointment = await current(request)
    return render(request, "delete.html", _page(request, appointment))


@routes.post("/termin/daten-loeschen")
async def delete_data(request: web.Request) -> web.Response:
    appointment = await current(request)
    await retention.forget(request.app[APPOINTMENTS], appointment.id)
    response = render(request, "deleted.html")
    response.del_cookie(COOKIE, path="/")
    return response


@routes.get("/termin/verschieben")
async def reschedule_form(request: web.Request) -> web.Response:
    appointment = await current(request)
    service = request.app[APPOINTMENTS].service(appointment.service_id)
    picker = await slot_picker(request, service, parse_day(request.query.get("tag")))
    return render(request, "reschedule.html", {**_page(request, appointment), **picker})


@routes.post("/termin/verschieben")
async def reschedule(request: web.Request) -> web.StreamResponse:
    appointment = await current(request)
    form = await request.post()
    raw = form.get("starts_at")
    starts_at = parse_starts_at(raw) if isinstance(raw, str) else None
    lang = i18n.language(request)
    if starts_at is None:
        return error_page(request, 400, i18n.translate("slot_unavailable", lang))
    try:
        moved = await request.app[APPOINTMENTS].reschedule(appointment.id, starts_at)
    except OfficeError as exc:
        return error_page(request, 409, i18n.error_text(exc.code, exc.message, lang))
    response = redirect("/termin?hinweis=verschoben")
    _set_session(request, response, moved.appointment)
    return response


@routes.get("/termin/warteraum")
async def waiting_room(request: web.Request) -> web.Response:
    appointment = await current(request)
    return render(request, "waiting_room.html", _page(request, appointment))
