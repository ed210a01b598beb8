"""A new staff account's link from the invitation mail (``office.enrolment``): set a
password, then on to enrolling the second factor as at any first login.

Opening the link changes nothing (mail scanners fetch links); only the form's POST
spends it.
"""

from __future__ import annotations

from aiohttp import web

from office.enrolment import PATH
from office.errors import InvalidInput, TokenInvalid
from office.staff import PASSWORD_MAX, PASSWORD_MIN
from signalling.clients import LOGIN, allow
from signalling.i18n import field_errors, language
from signalling.keys import ENROLMENT
from signalling.pages.staff import after_new_password, local_login_only
from signalling.render import render, too_many_requests

routes = web.RouteTableDef()
LINK = PATH + "{token}"


def _page(request: web.Request, context: dict[str, object], status: int = 200) -> web.Response:
    return render(
        request,
        "staff/password.html",
        {
            "invalid": False,
            "errors": {},
            "minimum": PASSWORD_MIN,
            "maximum": PASSWORD_MAX,
            "action": request.path,
            **context,
        },
        status=status,
    )


@routes.get(LINK)
@local_login_only
async def password_form(request: web.Request) -> web.Response:
    try:
        clerk = await request.app[ENROLMENT].account(request.match_info["token"])
    except TokenInvalid:
        return _page(request, {"invalid": True}, status=410)
    # The link is a credential: the site's Referrer-Policy (same-origin) keeps it from
    # other sites. (no-referrer would make Chromium send "Origin: null" with the form,
    # which the CSRF check rightly refuses.)
    return _page(request, {"clerk": clerk})


@routes.post(LINK)
@local_login_only
async def set_password(request: web.Request) -> web.StreamResponse:
    if not await allow(request, "login", LOGIN):
        return too_many_requests(request)
    token = request.match_info["token"]
    form = await request.post()
    password, repeated = form.get("password"), form.get("repeated")
    if not isinstance(password, str) or not isinstance(repeated, str):
        raise web.HTTPBadRequest()
    enrolment = request.app[ENROLMENT]
    try:
        clerk_id = await enrolment.set_password(token, password, repeated)
    except TokenInvalid:
        return _page(request, {"invalid": True}, status=410)
    except InvalidInput as exc:
        clerk = await enrolment.account(token)
        errors = field_errors(exc.fields, language(request))
        return _page(request, {"clerk": clerk, "errors": errors}, status=400)
    return await after_new_password(request, clerk_id)
