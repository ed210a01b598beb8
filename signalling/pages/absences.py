"""Administration: absences, closing days and special hours, and the appointments that
lost their time (``office.absences``). Admins only; every change is audited.

The list of appointments to rebook shows the citizens' contact data, so a clerk can
call them: each time it is shown, that read is audited too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from common.i18n import N_
from office import audit
from office.absences import Absences, Handled
from office.errors import InvalidInput, NotFound
from office.models import Clerk, Role
from office.reads import Read, record_read, records
from signalling.i18n import field_errors, language
from signalling.keys import ABSENCES, APPOINTMENTS, OFFICE, STAFF
from signalling.pages.staff import staff_page
from signalling.render import redirect, render

routes = web.RouteTableDef()
PAGE = "/verwaltung/abwesenheiten"
REBOOK = "/verwaltung/umbuchen"


def _day(form: MultiDictProxy[Any], name: str, default: date | None = None) -> date:
    value = form.get(name, "")
    if default is not None and value == "":
        return default
    try:
        return date.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise InvalidInput({name: N_("Bitte ein Datum angeben.")}) from None


def _time(form: MultiDictProxy[Any], name: str) -> time | None:
    value = form.get(name, "")
    if not isinstance(value, str) or not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InvalidInput({name: N_("Bitte eine Uhrzeit wie 08:30 angeben.")}) from None


def _note(form: MultiDictProxy[Any]) -> str:
    value = form.get("note", "")
    return value if isinstance(value, str) else ""


def _outcome(handled: Handled) -> str:
    moved, rebook = len(handled.moved), len(handled.to_rebook)
    return f"?uebergeben={moved}&umbuchen={rebook}"


async def _page(
    request: web.Request, admin: Clerk, errors: dict[str, str] | None = None, form: str = ""
) -> web.Response:
    desk = request.app[ABSENCES]
    accounts = [a for a in await request.app[STAFF].all() if a.role == Role.CLERK]
    query = request.query
    context = {
        "clerk": admin,
        "accounts": accounts,
        "names": {a.id: a.display_name for a in accounts},
        "absences": await desk.upcoming(),
        "closures": await desk.closures(),
        "special_hours": await desk.special_hours(),
        "tz": request.app[OFFICE].town.tz,
        "errors": field_errors(errors or {}, language(request)),
        "failed_form": form,
        "moved": query.get("uebergeben"),
        "to_rebook": query.get("umbuchen"),
    }
    return render(request, "staff/admin_absences.html", context, status=400 if errors else 200)


@routes.get(PAGE)
@staff_page(Role.ADMIN)
async def page(request: web.Request, admin: Clerk) -> web.Response:
    return await _page(request, admin)


@routes.post(PAGE)
@staff_page(Role.ADMIN)
async def add_absence(request: web.Request, admin: Clerk) -> web.StreamResponse:
    form = await request.post()
    try:
        clerk_id = int(str(form.get("clerk_id", "")))
    except ValueError:
        return await _page(request, admin, {"clerk_id": N_("Bitte eine Person wählen.")}, "absence")
    try:
        first = _day(form, "first_day")
        last = _day(form, "last_day", default=first)
        handled = await request.app[ABSENCES].add(
            clerk_id,
            first,
            last,
            start=_time(form, "start"),
            end=_time(form, "end"),
            note=_note(form),
            actor=audit.staff_actor(admin.id),
        )
    except InvalidInput as exc:
        return await _page(request, admin, exc.fields, "absence")
    except NotFound:
        return await _page(request, admin, {"clerk_id": N_("Bitte eine Person wählen.")}, "absence")
    return redirect(PAGE + _outcome(handled))


@routes.post(PAGE + "/schliessung")
@staff_page(Role.ADMIN)
async def close(request: web.Request, admin: Clerk) -> web.StreamResponse:
    form = await request.post()
    try:
        day = _day(form, "day")
        handled = await request.app[ABSENCES].close(
            day,
            start=_time(form, "start"),
            end=_time(form, "end"),
            note=_note(form),
            actor=audit.staff_actor(admin.id),
        )
    except InvalidInput as exc:
        return await _page(request, admin, exc.fields, "closure")
    return redirect(PAGE + _outcome(handled))


@routes.post(PAGE + "/sonderoeffnung")
@staff_page(Role.ADMIN)
async def add_special_hours(request: web.Request, admin: Clerk) -> web.StreamResponse:
    form = await request.post()
    try:
        day, start, end = _day(form, "day"), _time(form, "start"), _time(form, "end")
        if start is None or end is None:
            raise InvalidInput({"start": N_("Bitte Datum, Beginn und Ende angeben.")})
        await request.app[ABSENCES].add_special_hours(
            day, start, end, note=_note(form), actor=audit.staff_actor(admin.id)
        )
    except InvalidInput as exc:
        return await _page(request, admin, exc.fields, "special")
    return redirect(PAGE)


# What the "remove" buttons take back. Withdrawn extra hours may leave appointments
# without a time (their citizens are asked to rebook); an absence or closure taken back
# only gives time back.
REMOVALS: dict[str, Callable[..., Awaitable[Handled | None]]] = {
    "abwesenheit": Absences.remove,
    "schliessung": Absences.reopen,
    "sonderoeffnung": Absences.remove_special_hours,
}


@routes.post(PAGE + r"/{kind:abwesenheit|schliessung|sonderoeffnung}/{entry_id:\d{1,9}}/entfernen")
@staff_page(Role.ADMIN)
async def remove(request: web.Request, admin: Clerk) -> web.StreamResponse:
    take_back = REMOVALS[request.match_info["kind"]]
    try:
        handled = await take_back(
            request.app[ABSENCES],
            int(request.match_info["entry_id"]),
            actor=audit.staff_actor(admin.id),
        )
    except NotFound:
        raise web.HTTPNotFound() from None
    return redirect(PAGE + (_outcome(handled) if handled else ""))


@routes.get(REBOOK)
@staff_page(Role.ADMIN, Role.CLERK)
async def to_rebook(request: web.Request, clerk: Clerk) -> web.Response:
    """Appointments nobody can serve at their time; the citizen has the rebooking mail.
    Clerks see those of their skills (to call the citizen), admins all."""
    office = request.app[OFFICE]
    appointments = await request.app[ABSENCES].to_rebook()
    if clerk.role != Role.ADMIN:
        skills = {s.skill for s in clerk.skills}
        appointments = [a for a in appointments if office.service(a.service_id).skill in skills]
    await record_read(
        office,
        audit.staff_actor(clerk.id),
        Read.REBOOKING_LIST,
        "appointments",
        count=len(appointments),
        records=records("appointment", (a.id for a in appointments)),
    )
    return render(
        request,
        "staff/admin_rebook.html",
        {
            "clerk": clerk,
            "is_admin": clerk.role == Role.ADMIN,
            "appointments": appointments,
            "services": {a.service_id: office.service(a.service_id) for a in appointments},
            "tz": office.town.tz,
        },
    )


@routes.post(REBOOK + r"/{appointment_id:[0-9a-f-]{36}}/erledigt")
@staff_page(Role.ADMIN, Role.CLERK)
async def settled(request: web.Request, clerk: Clerk) -> web.StreamResponse:
    """Settled with the citizen another way (by phone: rebooked or cancelled there)."""
    appointment_id = request.match_info["appointment_id"]
    if clerk.role != Role.ADMIN:
        try:
            appointment = await request.app[APPOINTMENTS].get(appointment_id)
        except NotFound:
            raise web.HTTPNotFound() from None
        service = request.app[OFFICE].service(appointment.service_id)
        if service.skill not in {s.skill for s in clerk.skills}:
            raise web.HTTPForbidden()
    try:
        await request.app[ABSENCES].settled(appointment_id, actor=audit.staff_actor(clerk.id))
    except NotFound:
        raise web.HTTPNotFound() from None
    return redirect(REBOOK)
