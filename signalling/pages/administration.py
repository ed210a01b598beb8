"""Administration in the browser (admins only): staff accounts. Absences, closing days
and the appointments to rebook are in ``pages/absences``.

Every change goes through the office's staff desk, which audits it with the admin as
actor. An admin cannot lock themselves out: their own account can be neither
deactivated nor demoted here (another admin, or the command line, can).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from common.i18n import N_
from office import audit
from office.enrolment import mail_address
from office.errors import Conflict, InvalidInput, NotFound
from office.models import Clerk, Role
from office.staff import WorkingTime
from signalling.i18n import field_errors, language
from signalling.keys import ENROLMENT, SETTINGS, STAFF, TOWN
from signalling.pages.staff import staff_page, transfer_skills
from signalling.render import redirect, refuse, render
from signalling.settings import StaffLogin

routes = web.RouteTableDef()
HOME = "/verwaltung"
STAFF_LIST = HOME + "/personal"
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
ROLE_NAMES = {
    Role.CLERK: N_("Sachbearbeitung"),
    Role.ADMIN: N_("Administration"),
    Role.DPO: N_("Datenschutzbeauftragte:r"),
}
NOTICES = {
    "eingeladen": N_(
        "Das Konto ist angelegt; der Link zum Festlegen des Passworts ist verschickt."
    ),
    "link": N_("Ein neuer Link ist verschickt; ältere Links gelten nicht mehr."),
    "gespeichert": N_("Die Änderungen sind gespeichert."),
    "deaktiviert": N_("Das Konto ist deaktiviert; alle seine Sitzungen sind beendet."),
    "aktiviert": N_("Das Konto ist wieder aktiv."),
    "faktor": N_(
        "Der zweite Faktor ist zurückgesetzt; er wird bei der nächsten Anmeldung neu eingerichtet."
    ),
}
_SPAN = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})\s*$")


def _text(form: MultiDictProxy[Any], name: str, limit: int = 200) -> str:
    value = form.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput({name: N_("Ungültige Eingabe.")})
    return value.strip()


def parse_hours(form: MultiDictProxy[Any]) -> list[WorkingTime]:
    """One field per weekday, e.g. ``08:00-12:00, 13:00-16:30``; empty: not working."""
    hours = []
    for weekday in range(7):
        name = f"hours-{weekday}"
        for part in filter(None, (p.strip() for p in _text(form, name).split(","))):
            match = _SPAN.match(part)
            try:
                if match is None:
                    raise ValueError(part)
                h1, m1, h2, m2 = (int(g) for g in match.groups())
                start, end = time(h1, m1), time(h2, m2)
            except ValueError:
                raise InvalidInput({name: N_("Bitte als 08:00-12:00 angeben.")}) from None
            if end <= start:
                raise InvalidInput({name: N_("Das Ende muss nach dem Beginn liegen.")})
            hours.append(WorkingTime(weekday, start, end))
    return hours


def hours_fields(clerk: Clerk | None) -> dict[str, str]:
    spans: dict[int, list[str]] = {}
    for h in sorted(clerk.hours if clerk else [], key=lambda h: (h.weekday, h.start)):
        spans.setdefault(h.weekday, []).append(f"{h.start:%H:%M}-{h.end:%H:%M}")
    return {f"hours-{d}": ", ".join(spans.get(d, [])) for d in range(7)}


def _role(form: MultiDictProxy[Any]) -> Role:
    try:
        return Role(_text(form, "role"))
    except ValueError:
        raise InvalidInput({"role": N_("Bitte eine Rolle wählen.")}) from None


def _skills(request: web.Request, form: MultiDictProxy[Any]) -> list[str]:
    known = request.app[TOWN].skills
    chosen = [s for s in form.getall("skills", []) if isinstance(s, str)]
    if any(s not in known for s in chosen):
        raise InvalidInput({"skills": N_("Unbekannte Zuständigkeit.")})
    return sorted(set(chosen))


def _skill_names(request: web.Request) -> list[tuple[str, str]]:
    return sorted(transfer_skills(request.app[TOWN]))


def _local_login(request: web.Request) -> bool:
    """Passwords and second factors are ours (not the town's single sign-on alone)."""
    return request.app[SETTINGS].staff_login is StaffLogin.LOCAL


def _context(request: web.Request, admin: Clerk, **extra: Any) -> dict[str, Any]:
    return {
        "clerk": admin,
        "local_login": _local_login(request),
        "weekdays": WEEKDAYS,
        "roles": ROLE_NAMES,
        "skill_names": _skill_names(request),
        "notice": NOTICES.get(request.query.get("hinweis", "")),
        "errors": {},
        "values": {},
        **extra,
    }


@routes.get(HOME, name="administration")
@staff_page(Role.ADMIN)
async def home(request: web.Request, admin: Clerk) -> web.Response:
    return render(request, "staff/admin_home.html", {"clerk": admin})


async def _list_page(
    request: web.Request,
    admin: Clerk,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> web.Response:
    accounts: Sequence[Clerk] = await request.app[STAFF].all()
    errors = field_errors(errors or {}, language(request))
    context = _context(request, admin, accounts=accounts, errors=errors, values=values)
    return render(request, "staff/admin_staff.html", context, status=400 if errors else 200)


@routes.get(STAFF_LIST)
@staff_page(Role.ADMIN)
async def staff_list(request: web.Request, admin: Clerk) -> web.Response:
    return await _list_page(request, admin, {"role": Role.CLERK.value, **hours_fields(None)})


@routes.post(STAFF_LIST)
@staff_page(Role.ADMIN)
async def create(request: web.Request, admin: Clerk) -> web.StreamResponse:
    """A new account without a password; its owner gets the link to set one. Not
    while only single sign-on logs in: the accounts come from the town's provider."""
    if not _local_login(request):
        return refuse(request, 403, N_("Konten entstehen mit der ersten zentralen Anmeldung."))
    form = await request.post()
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    values["skills_list"] = form.getall("skills", [])
    actor = audit.staff_actor(admin.id)
    try:
        hours, role, skills = parse_hours(form), _role(form), _skills(request, form)
        email = mail_address(_text(form, "email", 254))
        clerk = await request.app[STAFF].create(
            _text(form, "username", 64),
            _text(form, "display_name", 120),
            None,
            role=role,
            skills=skills,
            hours=hours,
            actor=actor,
        )
    except InvalidInput as exc:
        return await _list_page(request, admin, values, exc.fields)
    except Conflict as exc:
        return await _list_page(request, admin, values, {"username": exc.message})
    try:
        await request.app[ENROLMENT].send_link(clerk.id, email, actor=actor)
    except InvalidInput as exc:
        # The account stands; the admin corrects the address on its page.
        return await _account_page(request, admin, clerk, exc.fields, status=400)
    return redirect(f"{STAFF_LIST}/{clerk.id}?hinweis=eingeladen")


async def _account(request: web.Request) -> Clerk:
    try:
        return await request.app[STAFF].get(int(request.match_info["clerk_id"]))
    except NotFound:
        raise web.HTTPNotFound() from None


async def _account_page(
    request: web.Request,
    admin: Clerk,
    account: Clerk,
    errors: dict[str, str] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> web.Response:
    shown = values or {"display_name": account.display_name, **hours_fields(account)}
    errors = field_errors(errors or {}, language(request))
    context = _context(request, admin, account=account, errors=errors, values=shown)
    return render(request, "staff/admin_account.html", context, status=status)


ACCOUNT = STAFF_LIST + r"/{clerk_id:\d{1,9}}"


@routes.get(ACCOUNT)
@staff_page(Role.ADMIN)
async def account_page(request: web.Request, admin: Clerk) -> web.Response:
    return await _account_page(request, admin, await _account(request))


@routes.post(ACCOUNT)
@staff_page(Role.ADMIN)
async def edit(request: web.Request, admin: Clerk) -> web.StreamResponse:
    """Name and hours; role and skills only when they change, because that ends the
    account's sessions (a privilege change never rides on an old session)."""
    account = await _account(request)
    form = await request.post()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    actor = audit.staff_actor(admin.id)
    staff = request.app[STAFF]
    try:
        hours, role, skills = parse_hours(form), _role(form), _skills(request, form)
        if account.id == admin.id and role != Role.ADMIN:
            raise InvalidInput(
                {"role": N_("Die eigene Administrationsrolle kann man nicht abgeben.")}
            )
        await staff.edit(
            account.id, display_name=_text(form, "display_name", 120), hours=hours, actor=actor
        )
    except InvalidInput as exc:
        return await _account_page(request, admin, account, exc.fields, 400, values)
    if role != account.role or skills != sorted(s.skill for s in account.skills):
        await staff.set_access(account.username, role=role, skills=skills, actor=actor)
    return redirect(f"{STAFF_LIST}/{account.id}?hinweis=gespeichert")


@routes.post(ACCOUNT + "/aktiv")
@staff_page(Role.ADMIN)
async def set_active(request: web.Request, admin: Clerk) -> web.StreamResponse:
    """Deactivate (every session ends at once, open consoles are closed) or reactivate."""
    account = await _account(request)
    form = await request.post()
    active = form.get("aktiv") == "1"
    if account.id == admin.id:
        return refuse(request, 409, N_("Das eigene Konto kann man nicht deaktivieren."))
    await request.app[STAFF].set_access(
        account.username, active=active, actor=audit.staff_actor(admin.id)
    )
    return redirect(f"{STAFF_LIST}/{account.id}?hinweis={'aktiviert' if active else 'deaktiviert'}")


@routes.post(ACCOUNT + "/zweiter-faktor")
@staff_page(Role.ADMIN)
async def reset_second_factor(request: web.Request, admin: Clerk) -> web.StreamResponse:
    account = await _account(request)
    await request.app[STAFF].reset_second_factor(
        account.username, actor=audit.staff_actor(admin.id)
    )
    return redirect(f"{STAFF_LIST}/{account.id}?hinweis=faktor")


@routes.post(ACCOUNT + "/einladung")
@staff_page(Role.ADMIN)
async def resend_link(request: web.Request, admin: Clerk) -> web.StreamResponse:
    """A new link (lost mail, expired link, forgotten password); older links end."""
    if not _local_login(request):
        return refuse(request, 403, N_("Passwörter verwaltet der zentrale Anmeldedienst."))
    account = await _account(request)
    form = await request.post()
    try:
        await request.app[ENROLMENT].send_link(
            account.id, _text(form, "email", 254), actor=audit.staff_actor(admin.id)
        )
    except (InvalidInput, NotFound) as exc:
        fields = exc.fields if isinstance(exc, InvalidInput) else {"email": exc.message}
        return await _account_page(request, admin, account, fields, 400)
    return redirect(f"{STAFF_LIST}/{account.id}?hinweis=link")
