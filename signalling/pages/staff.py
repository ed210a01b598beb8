"""Staff login (password, then TOTP; enrolment with a QR code), logout, the clerk
console and the admin dashboard (both live over Socket.IO: js/clerk.js, js/dashboard.js).

Single sign-on through the town's OpenID provider lives in ``signalling.pages.sso``;
with ``BB_STAFF_LOGIN=oidc`` the password and TOTP pages here refuse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps

import segno
from aiohttp import web

from common.i18n import N_
from office.catalogue import Town
from office.errors import AuthFailed, Conflict, OfficeError
from office.models import Clerk, Role
from office.tokens import Audience
from signalling import cookies
from signalling.clients import LOGIN, allow, secure_cookies
from signalling.keys import CLOCK, SETTINGS, SIGNER, SSO, STAFF, TOWN
from signalling.render import redirect, refuse, render, too_many_requests
from signalling.settings import StaffLogin

routes = web.RouteTableDef()
PENDING_TTL = timedelta(minutes=5)
STAFF_HOME = "/sachbearbeitung"
DASHBOARD = "/dashboard"
AUDIT_DESK = "/datenschutz/protokoll"
# Where each role lands after logging in: the officer on her desk, the only page hers.
HOME_OF = {Role.DPO: AUDIT_DESK}


async def staff_member(request: web.Request) -> Clerk | None:
    return await request.app[STAFF].session_clerk(request.cookies.get(cookies.STAFF, ""))


StaffHandler = Callable[[web.Request, Clerk], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Who works with citizens' data: every staff page admits these unless it names others.
# A data-protection officer audits; she reads no case, list or statement herself.
WORKING_ROLES = (Role.CLERK, Role.ADMIN)


def staff_page(*roles: Role) -> Callable[[StaffHandler], Handler]:
    """A page for logged-in staff of ``roles`` (default: clerks and admins). Without a
    session the browser goes to the login; another role gets a 403 page."""
    allowed = frozenset(roles or WORKING_ROLES)

    def decorate(handler: StaffHandler) -> Handler:
        @wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            clerk = await staff_member(request)
            if clerk is None:
                raise web.HTTPSeeOther("/anmelden")
            if clerk.role not in allowed:
                return refuse(request, 403, N_("Diese Seite ist für Ihre Rolle nicht freigegeben."))
            return await handler(request, clerk)

        return wrapper

    return decorate


login_required = staff_page()
LOCAL_LOGIN_OFF = (
    "Die Anmeldung mit Passwort ist abgeschaltet. Bitte melden Sie sich über den zentralen "
    "Anmeldedienst Ihrer Verwaltung an."
)


def login_page(request: web.Request, error: str | None, status: int = 200) -> web.Response:
    """The login page: the password form unless only single sign-on is allowed, and
    the button to the town's provider where one is set up."""
    context = {
        "error": error,
        "local_login": request.app[SETTINGS].staff_login is StaffLogin.LOCAL,
        "sso": request.app[SSO] is not None,
    }
    return render(request, "staff/login.html", context, status=status)


def local_login_only(handler: Handler) -> Handler:
    """A step of the password and TOTP login: refused while ``BB_STAFF_LOGIN=oidc``
    (the town's provider alone decides who works here)."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if request.app[SETTINGS].staff_login is not StaffLogin.LOCAL:
            return login_page(request, LOCAL_LOGIN_OFF, 403)
        return await handler(request)

    return wrapper


def _pending(request: web.Request) -> int | None:
    """The clerk whose password was right and who still owes the second factor."""
    try:
        claims = request.app[SIGNER].verify(
            Audience.LOGIN_SECOND_FACTOR, request.cookies.get(cookies.LOGIN_STEP, "")
        )
    except OfficeError:
        return None
    return int(claims["sub"])


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        cookies.STAFF,
        token,
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request),
        path="/",
    )


def home_of(clerk: Clerk | None) -> str:
    """Where a login lands: the console, or the data-protection officer's desk."""
    return HOME_OF.get(Role(clerk.role), STAFF_HOME) if clerk else STAFF_HOME


async def _start_session(request: web.Request, clerk_id: int) -> web.StreamResponse:
    # A new session id at every login; the browser's old one (if any) ends with it.
    staff = request.app[STAFF]
    token = await staff.open_session(clerk_id, replacing=request.cookies.get(cookies.STAFF))
    response = redirect(home_of(await staff.session_clerk(token)))
    set_session_cookie(request, response, token)
    response.del_cookie(cookies.LOGIN_STEP, path="/anmelden")
    return response


@routes.get("/anmelden", name="login")
async def login_form(request: web.Request) -> web.Response:
    return login_page(request, None)


@routes.post("/anmelden")
@local_login_only
async def login(request: web.Request) -> web.StreamResponse:
    if not await allow(request, "login", LOGIN):
        return too_many_requests(request)
    form = await request.post()
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return login_page(request, AuthFailed.message, 400)
    try:
        accepted = await request.app[STAFF].check_password(username, password)
    except AuthFailed as exc:
        return login_page(request, exc.message, 401)
    if not accepted.needs_code and not accepted.needs_enrolment:
        return await _start_session(request, accepted.clerk_id)
    target = "/anmelden/code" if accepted.needs_code else "/anmelden/einrichten"
    return second_factor_next(request, accepted.clerk_id, target)


async def after_new_password(request: web.Request, clerk_id: int) -> web.StreamResponse:
    """A new account has just set its password (``pages/enrolment``): on to enrolling
    the second factor, or straight in where none is required (the demo)."""
    if not request.app[STAFF].require_second_factor:
        return await _start_session(request, clerk_id)
    return second_factor_next(request, clerk_id, "/anmelden/einrichten")


def second_factor_next(request: web.Request, clerk_id: int, target: str) -> web.Response:
    """The password was right: on to ``target`` with the short-lived cookie that says so."""
    pending = request.app[SIGNER].issue(
        Audience.LOGIN_SECOND_FACTOR, str(clerk_id), request.app[CLOCK]() + PENDING_TTL
    )
    response = redirect(target)
    response.set_cookie(
        cookies.LOGIN_STEP,
        pending,
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request),
        max_age=int(PENDING_TTL.total_seconds()),
        path="/anmelden",
    )
    return response


@routes.get("/anmelden/code")
@local_login_only
async def code_form(request: web.Request) -> web.StreamResponse:
    if _pending(request) is None:
        raise web.HTTPSeeOther("/anmelden")
    return render(request, "staff/code.html", {"error": None})


@routes.post("/anmelden/code")
@local_login_only
async def code(request: web.Request) -> web.StreamResponse:
    clerk_id = _pending(request)
    if clerk_id is None:
        raise web.HTTPSeeOther("/anmelden")
    if not await allow(request, "login", LOGIN):
        return too_many_requests(request)
    form = await request.post()
    value = form.get("code")
    try:
        await request.app[STAFF].check_code(clerk_id, value if isinstance(value, str) else "")
    except AuthFailed as exc:
        return render(request, "staff/code.html", {"error": exc.message}, status=401)
    return await _start_session(request, clerk_id)


@routes.get("/anmelden/einrichten")
@local_login_only
async def enrol_form(request: web.Request) -> web.StreamResponse:
    clerk_id = _pending(request)
    if clerk_id is None:
        raise web.HTTPSeeOther("/anmelden")
    try:
        uri = await request.app[STAFF].start_enrolment(clerk_id)
    except Conflict:
        raise web.HTTPSeeOther("/anmelden/code") from None
    return _enrol_page(request, uri, None, 200)


def _enrol_page(request: web.Request, uri: str, error: str | None, status: int) -> web.Response:
    qr = segno.make(uri, error="m")
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    return render(
        request,
        "staff/enrol.html",
        {
            "qr_svg": qr.svg_inline(scale=5, title="QR-Code für die Authenticator-App"),
            "secret": secret,
            "uri": uri,
            "error": error,
        },
        status=status,
    )


@routes.post("/anmelden/einrichten")
@local_login_only
async def enrol(request: web.Request) -> web.StreamResponse:
    clerk_id = _pending(request)
    if clerk_id is None:
        raise web.HTTPSeeOther("/anmelden")
    form = await request.post()
    value = form.get("code")
    try:
        await request.app[STAFF].confirm_enrolment(
            clerk_id, value if isinstance(value, str) else ""
        )
    except AuthFailed as exc:
        uri = await request.app[STAFF].start_enrolment(clerk_id)
        return _enrol_page(request, uri, exc.message, 401)
    except Conflict:
        raise web.HTTPSeeOther("/anmelden") from None
    return await _start_session(request, clerk_id)


@routes.post("/abmelden", name="logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """Log out this browser, or (``ueberall``) every session of the account; the
    sockets the ended sessions opened close too."""
    token = request.cookies.get(cookies.STAFF)
    form = await request.post()
    clerk = await staff_member(request)
    if clerk is not None and form.get("ueberall"):
        await request.app[STAFF].end_sessions(clerk.id)
    elif token:
        await request.app[STAFF].close_session(token)
    response = redirect(await _after_logout(request, clerk))
    response.del_cookie(cookies.STAFF, path="/")
    response.del_cookie(cookies.SSO_HINT, path="/abmelden")
    return response


async def _after_logout(request: web.Request, clerk: Clerk | None) -> str:
    """The login page; after a single sign-on first the provider's logout, so that
    its session ends too (RP-initiated logout) and the next login asks again."""
    sso, hint = request.app[SSO], request.cookies.get(cookies.SSO_HINT)
    if sso is None or not (hint or (clerk is not None and clerk.sso_subject is not None)):
        return "/anmelden"
    return await sso.provider.end_session_url(hint) or "/anmelden"


def transfer_skills(town: Town) -> list[tuple[str, str]]:
    """Each skill a call can be handed to, named by the services it serves."""
    names: dict[str, list[str]] = {}
    for service in town.services:
        names.setdefault(service.skill, []).append(service.name)
    return [(skill, ", ".join(served)) for skill, served in names.items()]


@routes.get(STAFF_HOME, name="staff_home")
@login_required
async def staff_home(request: web.Request, clerk: Clerk) -> web.Response:
    """The clerk console; an admin serves no citizens and gets a link to the dashboard."""
    skills = {s.skill for s in clerk.skills}
    services = [s.name for s in request.app[TOWN].services if s.skill in skills]
    return render(
        request,
        "staff/console.html",
        {
            "clerk": clerk,
            "is_admin": clerk.role == Role.ADMIN,
            "services": services,
            "case_services": request.app[TOWN].services,  # a call may cover several
            "transfer_skills": transfer_skills(request.app[TOWN]),
        },
    )


@routes.get(DASHBOARD, name="dashboard")
@staff_page(Role.ADMIN)
async def dashboard(request: web.Request, clerk: Clerk) -> web.Response:
    return render(request, "staff/dashboard.html", {"clerk": clerk})
