"""The citizen's booking path: service → day → time and details → confirmation."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web

from office.catalogue import Service
from office.errors import OfficeError
from office.tokens import Audience
from signalling import cookies
from signalling.clients import secure_cookies
from signalling.keys import APPOINTMENTS, CLOCK, METRICS, OFFICE, SETTINGS, SIGNER, TOWN
from signalling.pages.services import attempt, posted_contact, service_of, walk_in_now
from signalling.render import redirect, render

routes = web.RouteTableDef()
DAYS_PER_PAGE = 14


def parse_day(value: str | None) -> date | None:
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    return render(request, "home.html", {"walk_in_now": await walk_in_now(request.app)})


async def slot_picker(
    request: web.Request, service: Service, chosen_day: date | None
) -> dict[str, object]:
    """What a page needs to let the citizen pick a day and a time."""
    appointments = request.app[APPOINTMENTS]
    town = request.app[TOWN]
    today = request.app[CLOCK]().astimezone(town.tz).date()
    last = today + timedelta(days=town.booking.horizon_days)
    first = parse_day(request.query.get("ab")) or today
    first = min(max(first, today), last)
    days = await appointments.days_with_slots(service, first, DAYS_PER_PAGE)
    if chosen_day is None and days:
        chosen_day = days[0]
    slots = await appointments.slots_of(service, chosen_day) if chosen_day else []
    return {
        "service": service,
        "days": days,
        "chosen_day": chosen_day,
        "slots": slots,
        "first": first,
        "earlier": first - timedelta(days=DAYS_PER_PAGE) if first > today else None,
        "later": first + timedelta(days=DAYS_PER_PAGE)
        if first + timedelta(days=DAYS_PER_PAGE) <= last
        else None,
    }


@routes.get("/buchen/{service_id}", name="book")
async def book_form(request: web.Request) -> web.Response:
    service = service_of(request)
    picker = await slot_picker(request, service, parse_day(request.query.get("tag")))
    return render(request, "book.html", {**picker, "values": {}, "errors": {}, "message": None})


@routes.post("/buchen/{service_id}")
async def book_submit(request: web.Request) -> web.StreamResponse:
    service = service_of(request)
    values = await posted_contact(request)
    if isinstance(values, web.Response):
        return values
    values["service_id"] = service.id
    chosen_day = parse_day(values.get("tag"))
    tried = await attempt(request, values, request.app[APPOINTMENTS].book)
    if tried.booked is not None:
        request.app[METRICS].bookings.labels("page").inc()
        receipt = request.app[SIGNER].issue(
            Audience.BOOKING_RECEIPT,
            tried.booked.appointment.id,
            request.app[CLOCK]() + timedelta(minutes=30),
        )
        response = redirect("/buchung/bestaetigt")
        response.set_cookie(
            cookies.BOOKING_RECEIPT,
            receipt,
            httponly=True,
            samesite="Strict",
            max_age=1800,
            path="/buchung/bestaetigt",
            secure=secure_cookies(request),
        )
        return response
    picker = await slot_picker(request, service, chosen_day)
    return render(
        request,
        "book.html",
        {**picker, "values": values, "errors": tried.errors, "message": tried.message},
        status=409 if tried.message else 400,
    )


@routes.get("/buchung/bestaetigt", name="booked")
async def booked(request: web.Request) -> web.Response:
    """Shows what was booked; the receipt cookie holds the id, not the link."""
    token = request.cookies.get(cookies.BOOKING_RECEIPT, "")
    try:
        claims = request.app[SIGNER].verify(Audience.BOOKING_RECEIPT, token)
        appointment = await request.app[APPOINTMENTS].get(str(claims["sub"]))
    except OfficeError:
        raise web.HTTPSeeOther("/") from None
    service = request.app[OFFICE].service_of(appointment)
    return render(request, "booked.html", {"appointment": appointment, "service": service})


@routes.get("/datenschutz", name="privacy")
async def privacy(request: web.Request) -> web.Response:
    """The privacy notice, with the retention periods this office is configured with."""
    settings = request.app[SETTINGS]
    this_year = request.app[CLOCK]().astimezone(request.app[TOWN].tz).year
    rules = settings.record_retention()
    retention = {
        "contact_days": settings.retention_days,
        "capture_days": settings.capture_retention_days,
        "accounting_years": rules.accounting_years,
        "feedback_days": rules.feedback_comment_days,
        "this_year": this_year,
        # The first year whose 1 January no longer keeps this year's records.
        "accounting_deleted": this_year + rules.adoption_years + rules.accounting_years + 1,
        "audit_deleted": this_year + rules.audit_years + 1,
    }
    context = {"retention": retention, "paypal": settings.paypal_enabled}
    return render(request, "privacy.html", context)
