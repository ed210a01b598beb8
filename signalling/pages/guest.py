"""The pages of an interpreter or companion (``office/guests.py``).

``/gast/{token}`` shows what the link is for and a button; only the button (a POST)
spends the link, so a mail scanner that fetches it spends nothing. The POST swaps
the link for a session cookie and leads to ``/gast``, the call page (``guest.js``),
which connects to the ``/guest`` namespace with that cookie.
"""

from __future__ import annotations

from aiohttp import web

from office.errors import GuestLinkInvalid
from office.guests import SESSION_TTL, Guest
from signalling import cookies
from signalling.clients import LINK, allow, secure_cookies
from signalling.keys import GUESTS, ROOM_STORE, TOWN
from signalling.render import redirect, render, too_many_requests

routes = web.RouteTableDef()
PATH = "/gast"


def _invalid(request: web.Request) -> web.Response:
    response = render(request, "guest_invalid.html", status=404)
    response.del_cookie(cookies.GUEST, path="/")
    return response


def _context(request: web.Request, guest: Guest) -> dict[str, object]:
    return {"kind": guest.kind, "office_name": request.app[TOWN].town.office_name}


@routes.get(PATH + "/{token}", name="guest_link")
async def invitation(request: web.Request) -> web.StreamResponse:
    if not await allow(request, "link", LINK):
        return too_many_requests(request)
    try:
        guest = await request.app[GUESTS].invited(request.match_info["token"])
    except GuestLinkInvalid:
        return _invalid(request)
    return render(request, "guest_invited.html", _context(request, guest))


@routes.post(PATH + "/{token}")
async def join(request: web.Request) -> web.StreamResponse:
    if not await allow(request, "link", LINK):
        return too_many_requests(request)
    try:
        _guest, session = await request.app[GUESTS].join(request.match_info["token"])
    except GuestLinkInvalid:
        return _invalid(request)
    response = redirect(PATH)
    response.set_cookie(
        cookies.GUEST,
        session,
        httponly=True,
        samesite="Strict",  # only ever sent by the office's own pages
        secure=secure_cookies(request),
        path="/",  # the socket's handshake (/socket.io/) needs it too
        max_age=int(SESSION_TTL.total_seconds()),
    )
    return response


@routes.get(PATH, name="guest_call")
async def call_page(request: web.Request) -> web.StreamResponse:
    try:
        guest = await request.app[GUESTS].of_session(request.cookies.get(cookies.GUEST, ""))
    except GuestLinkInvalid:
        return _invalid(request)
    call = await request.app[ROOM_STORE].call_of_appointment(guest.appointment_id)
    if call is None or call.call_id != guest.call_id:  # the call is over
        return _invalid(request)
    return render(request, "guest.html", _context(request, guest))
