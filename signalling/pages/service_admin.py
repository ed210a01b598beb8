"""Administration: the services' bookability, fee, duration and documents over the
town file (``office.service_settings``). A value equal to the file's is stored as "the
file's", so a later change of the file still reaches it. Changes apply to new
bookings only."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from common.i18n import N_
from office import audit
from office.catalogue import Service
from office.errors import InvalidInput, NotFound
from office.models import Clerk, Role
from signalling.i18n import field_errors, language
from signalling.keys import OFFICE
from signalling.pages.staff import staff_page
from signalling.render import redirect, render

routes = web.RouteTableDef()
PAGE = "/verwaltung/anliegen"
_EUROS = re.compile(r"^\s*(\d{1,6})(?:[,.](\d{1,2}))?\s*(?:€|EUR)?\s*$")


def _fee_cents(text: str) -> int:
    match = _EUROS.match(text)
    if match is None:
        raise InvalidInput({"fee": N_("Die Gebühr bitte in Euro angeben, z. B. 12,50.")})
    euros, cents = match.groups()
    return int(euros) * 100 + int((cents or "0").ljust(2, "0"))


def _lines(form: MultiDictProxy[Any], name: str) -> tuple[str, ...]:
    value = form.get(name, "")
    if not isinstance(value, str) or len(value) > 5000:
        raise InvalidInput({name: N_("Zu lang.")})
    return tuple(line.strip() for line in value.splitlines() if line.strip())


def _submitted(form: MultiDictProxy[Any], base: Service) -> dict[str, Any]:
    """The form's values; those equal to the town file's become None (the file's)."""
    duration = str(form.get("duration_minutes", ""))
    if not duration.isdigit():
        raise InvalidInput({"duration_minutes": N_("Die Dauer bitte in Minuten angeben.")})
    values = {
        "bookable": form.get("bookable") == "1",
        "fee_cents": _fee_cents(str(form.get("fee", ""))),
        "duration_minutes": int(duration),
        "documents": _lines(form, "documents"),
        "documents_en": _lines(form, "documents_en"),
    }
    return {k: None if v == getattr(base, k) else v for k, v in values.items()}


async def _page(
    request: web.Request, admin: Clerk, errors: dict[str, str] | None = None, failed: str = ""
) -> web.Response:
    office = request.app[OFFICE]
    context = {
        "clerk": admin,
        "services": office.town.services,
        "file": {s.id: s for s in office.service_settings.town_file.services},
        "unit": office.town.booking.unit_minutes,
        "errors": field_errors(errors or {}, language(request)),
        "failed": failed,
        "saved": request.query.get("gespeichert"),
    }
    return render(request, "staff/admin_services.html", context, status=400 if errors else 200)


@routes.get(PAGE)
@staff_page(Role.ADMIN)
async def page(request: web.Request, admin: Clerk) -> web.Response:
    return await _page(request, admin)


@routes.post(PAGE + r"/{service_id:[a-z0-9-]{1,64}}")
@staff_page(Role.ADMIN)
async def change(request: web.Request, admin: Clerk) -> web.StreamResponse:
    office = request.app[OFFICE]
    service_id = request.match_info["service_id"]
    base: Service | None = office.service_settings.town_file.service(service_id)
    if base is None:
        raise web.HTTPNotFound()
    form = await request.post()
    try:
        values = {} if form.get("reset") == "1" else _submitted(form, base)
        await office.service_settings.change(
            service_id,
            bookable=values.get("bookable"),
            fee_cents=values.get("fee_cents"),
            duration_minutes=values.get("duration_minutes"),
            documents=values.get("documents"),
            documents_en=values.get("documents_en"),
            actor=audit.staff_actor(admin.id),
        )
    except InvalidInput as exc:
        return await _page(request, admin, exc.fields, service_id)
    except NotFound:
        raise web.HTTPNotFound() from None
    return redirect(f"{PAGE}?gespeichert={service_id}#{service_id}")
