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
from signalling import cookies, i18n
from signalling.clients import LINK, allow, secure_cookies
from signalling.keys import APPOINTMENTS, CLOCK, OFFICE
from signalling.pages.booking import parse_day, slot_picker
from signalling.render import error_page, redirect, render

routes = web.RouteTableDef()
NEXT_PAGES = {
    "loeschen": "/termin/daten-loeschen",
    "absagen": "/termin/absagen",
    "status": "/termin/status",
}


def _invalid_link(request: web.Request) -> web.Response:
    response = render(request, "link_invalid.html", status=404)
    response.del_cookie(cookies.APPOINTMENT, path="/")
    return response


def _set_session(
    request: web.Request, response: web.StreamResponse, appointment: Appointment
) -> None:
    token = request.app[OFFICE].issue_token(appointment, Audience.APPOINTMENT_SESSION)
    response.set_cookie(
        cookies.APPOINTMENT,
        token,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
        path="/",
    )


@routes.get("/t/{token}", name="join_link")
async def open_link(request: web.Request) -> web.StreamResponse:
    if not await allow(request, "link", LINK):
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
            request.cookies.get(cookies.APPOINTMENT, ""), Audience.APPOINTMENT_SESSION
        )
    except TokenInvalid:
        raise web.HTTPNotFound() from None


def _page(request: web.Request, appointment: Appointment, **extra: object) -> dict[str, object]:
    office = request.app[OFFICE]
    now = request.app[CLOCK]()
    checkin = office.checkin_window(appointment)
    return {
        "appointment": appointment,
        "service": office.service(appointment.service_id),
        "checkin": checkin,
        "checkin_open": checkin.start <= now < checkin.end,
        "checkin_over": now >= checkin.end,
        "before_minutes": office.town.booking.checkin_before_minutes,
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
    response.del_cookie(cookies.APPOINTMENT, path="/")
    return response


@routes.get("/termin/daten-loeschen")
async def delete_confirm(request: web.Request) -> web.Response:
    appointment = await current(request)
    return render(request, "delete.html", _page(request, appointment))


@routes.post("/termin/daten-loeschen")
async def delete_data(request: web.Request) -> web.Response:
    appointment = await current(request)
    await retention.forget(request.app[OFFICE], appointment.id)
    response = render(request, "deleted.html")
    response.del_cookie(cookies.APPOINTMENT, path="/")
    return response


@routes.get("/termin/verschieben")
async def reschedule_form(request: web.Request) -> web.Response:
    appointment = await current(request)
    service = request.app[OFFICE].service(appointment.service_id)
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


# The strings citizen.js shows: a JSON island in the page (the CSP runs no inline script).
WAITING_ROOM_SCRIPT_TEXTS = (
    "device_check_running",
    "device_check_ok",
    "problem_denied_title",
    "problem_denied",
    "problem_notfound_title",
    "problem_notfound",
    "problem_busy_title",
    "problem_busy",
    "problem_unsupported_title",
    "problem_unsupported",
    "problem_no_camera",
    "problem_no_microphone",
    "queue_joining",
    "queue_position",
    "queue_estimate",
    "queue_next_up",
    "queue_no_clerk",
    "notify_default",
    "notify_granted",
    "notify_denied",
    "notify_unsupported",
    "returned_requeued_by_clerk",
    "returned_clerk_lost",
    "error_checkin_not_open",
    "error_generic",
    "connection_lost",
    "connection_refused",
    "called_title",
    "called_body",
    "call_with",
    "call_connecting",
    "call_connected",
    "call_peer_left",
    "hang_up_confirm",
    "chat_me",
    "chat_clerk",
    "chat_failed",
    "status_pay_paypal",
)


@routes.get("/termin/warteraum")
async def waiting_room(request: web.Request) -> web.Response:
    """Device check, waiting room and call: one page that citizen.js switches between."""
    appointment = await current(request)
    page = _page(request, appointment)
    service = request.app[OFFICE].service(appointment.service_id)
    lang = i18n.language(request)
    texts = {key: i18n.translate(key, lang) for key in WAITING_ROOM_SCRIPT_TEXTS}
    texts["error_checkin_closed"] = i18n.translate("waiting_room_closed", lang)
    return render(
        request,
        "waiting_room.html",
        {
            **page,
            "service_name": service.display_name(lang),
            "documents": service.documents,
            "delivery": service.delivery.value,
            "language": lang,
            "script_texts": texts,
        },
    )
