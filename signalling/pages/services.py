"""The town's services as the citizens' pages look them up: by the path's id, and
which of them can be served right now without an appointment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from common.i18n import translate
from office.appointments import Booked
from office.booking_request import BookingRequest, parse_booking
from office.catalogue import Service
from office.errors import InvalidInput, NotFound, OfficeError
from rooms import waiting as rules
from signalling import i18n
from signalling.clients import BOOKING, allow
from signalling.keys import OFFICE, ROOM_STORE
from signalling.render import error_page, too_many_requests

HONEYPOT = "website"  # a form field only bots fill in (hidden from people)


def service_of(request: web.Request) -> Service:
    """The path's service, if it is offered for booking (an admin may switch one off)."""
    try:
        service = request.app[OFFICE].service(request.match_info["service_id"])
    except NotFound:
        raise web.HTTPNotFound() from None
    if not service.bookable:
        raise web.HTTPNotFound()
    return service


async def walk_in_now(app: web.Application) -> set[str]:
    """The services a citizen can be served for now, without an appointment: marked
    ``walk_in`` in the town file, while a clerk with the skill is on duty."""
    on_duty = rules.on_duty(await app[ROOM_STORE].clerks())
    return {
        s.id for s in app[OFFICE].town.services if s.walk_in and s.bookable and on_duty[s.skill] > 0
    }


def bot_refused(request: web.Request) -> web.Response:
    """A form whose hidden field was filled: only bots do that. Refused without
    saying why."""
    message = translate(
        i18n.language(request),
        "Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.",
    )
    return error_page(request, 400, message)


async def posted_contact(request: web.Request) -> dict[str, str] | web.Response:
    """The fields of a posted booking or walk-in form, or the answer that refuses it
    (too many from this address, or a bot)."""
    if not await allow(request, "book", BOOKING):
        return too_many_requests(request)
    form = await request.post()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if values.get(HONEYPOT):
        return bot_refused(request)
    return values


@dataclass(frozen=True)
class Attempt:
    """A booking or walk-in tried from a form: what it made, or why not (in the
    page's language): the fields that are wrong, or what stood in the way."""

    booked: Booked | None = None
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None


async def attempt(
    request: web.Request,
    values: dict[str, str],
    make: Callable[[BookingRequest], Awaitable[Booked]],
) -> Attempt:
    lang = i18n.language(request)
    try:
        # A ticked checkbox sends "on"; consent itself is a yes or no.
        wanted = parse_booking(
            {**values, "language": lang, "consent": values.get("consent") == "on"}
        )
        return Attempt(booked=await make(wanted))
    except InvalidInput as exc:
        return Attempt(errors=i18n.field_errors(exc.fields, lang))
    except OfficeError as exc:
        return Attempt(message=i18n.error_text(exc, lang))
