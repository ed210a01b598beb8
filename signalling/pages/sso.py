"""Staff single sign-on through the town's OpenID provider: the way out to its login
and the way back (``office.oidc`` checks the answer, ``office.sso_accounts`` decides
the account). The session afterwards is the same as after a password login, so the
console, its sockets and "Abmelden" work unchanged (the logout goes on to the
provider: ``signalling.pages.staff``).

The login's state, nonce and PKCE verifier travel in a signed, ten-minute cookie
bound to this browser: a callback brought by another browser (a link planted by
someone else, to log a clerk into the wrong account) finds no such cookie and fails.
The cookie is SameSite=Lax, unlike our others: the provider sends the browser back
from its own site, and a Strict cookie would stay behind.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from aiohttp import web

from office.errors import OfficeError
from office.oidc import SsoRefused
from office.sso_accounts import SingleSignOn
from office.tokens import Audience
from signalling import cookies
from signalling.clients import LOGIN, allow, secure_cookies
from signalling.keys import CLOCK, SIGNER, SSO, STAFF
from signalling.pages.staff import home_of, login_page, set_session_cookie
from signalling.render import redirect, render, too_many_requests

routes = web.RouteTableDef()
START = "/anmelden/sso"
CALLBACK = "/anmelden/sso/zurueck"  # registered at the provider as the redirect URI
STEP_TTL = timedelta(minutes=10)
HINT_MAX = 3500  # an ID token longer than this does not fit a cookie: logout without hint
STARTED_ELSEWHERE = (
    "Die Anmeldung ist abgelaufen oder wurde in einem anderen Browserfenster begonnen. "
    "Bitte melden Sie sich erneut an."
)
DECLINED = "Der Anmeldedienst hat die Anmeldung nicht bestätigt. Bitte versuchen Sie es erneut."


def _sso(request: web.Request) -> SingleSignOn:
    sso = request.app[SSO]
    if sso is None:
        raise web.HTTPNotFound()
    return sso


@routes.get(START, name="sso_login")
async def start(request: web.Request) -> web.StreamResponse:
    """Off to the provider's login, with a fresh state, nonce and PKCE verifier."""
    sso = _sso(request)
    # Not rate-limited: it costs nothing but a signature (the provider's metadata is
    # cached), and a town hall's staff share one address; the way back is limited.
    login = await sso.provider.begin()
    step = request.app[SIGNER].issue(
        Audience.SSO_LOGIN,
        "sso",
        request.app[CLOCK]() + STEP_TTL,
        state=login.state,
        nonce=login.nonce,
        verifier=login.code_verifier,
    )
    response = redirect(login.url)
    response.set_cookie(
        cookies.SSO_STEP,
        step,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
        max_age=int(STEP_TTL.total_seconds()),
        path=START,
    )
    return response


async def _refused(
    request: web.Request, sso: SingleSignOn, reason: str, message: str, status: int
) -> web.Response:
    await sso.accounts.refused(reason)
    response = login_page(request, message, status)
    response.del_cookie(cookies.SSO_STEP, path=START)
    return response


@routes.get(CALLBACK)
async def callback(request: web.Request) -> web.StreamResponse:
    """Back from the provider: the state must be this browser's, the ID token
    genuine, for us and for this login; then the account decides."""
    sso = _sso(request)
    if not await allow(request, "login", LOGIN):
        return too_many_requests(request)
    try:
        step = request.app[SIGNER].verify(
            Audience.SSO_LOGIN, request.cookies.get(cookies.SSO_STEP, "")
        )
    except OfficeError:
        return await _refused(request, sso, "no_login_started", STARTED_ELSEWHERE, 400)
    query = request.query
    if not hmac.compare_digest(query.get("state", "").encode(), str(step["state"]).encode()):
        return await _refused(request, sso, "state", STARTED_ELSEWHERE, 400)
    if "error" in query:  # the person cancelled, or the provider would not let them in
        return await _refused(request, sso, "provider_error", DECLINED, 401)
    # Where the provider names itself in its answer (RFC 9207), it must be ours: an
    # answer of another provider mixed into this login is refused.
    if query.get("iss", sso.provider.config.issuer) != sso.provider.config.issuer:
        return await _refused(request, sso, "iss", DECLINED, 401)
    code = query.get("code", "")
    if not code or len(code) > 2048:
        return await _refused(request, sso, "no_code", DECLINED, 400)
    try:
        identity = await sso.provider.finish(code, str(step["verifier"]), str(step["nonce"]))
    except SsoRefused as exc:
        return await _refused(request, sso, exc.reason, exc.message, 401)
    try:
        clerk_id = await sso.accounts.sign_in(identity)
    except SsoRefused as exc:  # recorded by the accounts
        response = login_page(request, exc.message, 403)
        response.del_cookie(cookies.SSO_STEP, path=START)
        return response
    staff = request.app[STAFF]
    token = await staff.open_session(clerk_id, replacing=request.cookies.get(cookies.STAFF))
    target = home_of(await staff.session_clerk(token))
    response = render(request, "staff/sso_done.html", {"target": target})
    set_session_cookie(request, response, token)
    if len(identity.id_token) <= HINT_MAX:
        response.set_cookie(
            cookies.SSO_HINT,
            identity.id_token,
            httponly=True,
            samesite="Strict",
            secure=secure_cookies(request),
            max_age=int(staff.session_ttl.total_seconds()),
            path="/abmelden",
        )
    response.del_cookie(cookies.SSO_STEP, path=START)
    return response
