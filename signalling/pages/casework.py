"""The after-call case pages for clerks and admins: the list of cases, one case with
its timeline and invoice, the actions its state allows, the invoice's PDF and the
print batch of invoices by post.

``GET /sachbearbeitung/vorgaenge`` (``zustand``: states, repeatable; ``alter``: days
unchanged), ``GET /sachbearbeitung/vorgaenge/{id}``, ``POST …/{id}/aktion``
(``action`` and the action's fields, checked by :class:`CaseCommand`),
``GET …/{id}/rechnung.pdf`` and ``POST /sachbearbeitung/rechnungen/stapel``.

After-call work is shared: any clerk or admin may act on any case. The actions are
the call's own (:class:`CaseActions`, the instance with the payment hooks), so an
invoice or a PayPal order follows a payment request from here just as in the call;
:class:`Cases` audits every change. The list shows no personal data; the case page
shows the booking's name (the console shows it in the call too), which a clerk
needs to write an invoice's address, and never the citizen's mail or phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from office import audit, reads
from office.case_actions import CaseCommand
from office.case_views import CaseView, PaymentMethod
from office.cases import FINAL, LABELS, REASON_LENGTH, CaseState
from office.errors import InvalidInput, NotFound, OfficeError
from office.invoices import ADDRESS_LINE_LENGTH, ADDRESS_LINES
from office.models import Clerk
from signalling.errors import status_of
from signalling.keys import (
    APPOINTMENTS,
    CASE_ACTIONS,
    CASES,
    CLOCK,
    INVOICES,
    OFFICE,
    STAFF,
    TOWN,
)
from signalling.pages.staff import login_required
from signalling.render import error_page, redirect, render

routes = web.RouteTableDef()
LIST = "/sachbearbeitung/vorgaenge"
BATCH = "/sachbearbeitung/rechnungen/stapel"
CASE_ID = r"{case_id:[0-9a-f-]{36}}"
LIMIT = 200
AGES = (0, 1, 3, 7, 14)  # "unverändert seit mehr als N Tagen"
DEFAULT_STATES = tuple(state for state in CaseState if state not in FINAL)

METHOD_LABELS = {
    PaymentMethod.INVOICE_EMAIL: "Rechnung per E-Mail",
    PaymentMethod.INVOICE_POST: "Rechnung per Post",
    PaymentMethod.PAYPAL: "PayPal",
}
ACTOR_LABELS = {audit.SYSTEM: "System", audit.CITIZEN: "Bürgerin/Bürger", "paypal": "PayPal"}
DONE = {  # the notice after an action, by its name
    "verified": "Die Identität ist als verifiziert vermerkt.",
    "request_payment": "Die Zahlung ist angefordert.",
    "invoice": "Die Rechnung ist gestellt.",
    "mark_paid": "Die Zahlung ist vermerkt.",
    "waive": "Die Gebühr ist erlassen.",
    "fulfil": "Der Vorgang ist in Bearbeitung.",
    "posted": "Der Versand ist vermerkt.",
    "forwarded": "Die Übermittlung ist vermerkt.",
    "close": "Der Vorgang ist abgeschlossen.",
    "cancel": "Der Vorgang ist storniert.",
}
# What a form field that the CaseCommand model refuses is told, in German.
FIELD_ERRORS = {
    "action": "Diese Aktion gibt es nicht.",
    "method": "Bitte eine Zahlungsart wählen.",
    "reason": f"Höchstens {REASON_LENGTH} Zeichen.",
    "posted_on": "Bitte ein gültiges Datum angeben.",
    "bzr_reference": "Höchstens 64 Zeichen.",
    "address": f"Höchstens {ADDRESS_LINES} Zeilen zu je {ADDRESS_LINE_LENGTH} Zeichen.",
}
# Domain fields shown at the form field of the same meaning.
FIELD_OF = {"recipient_address": "address"}


# -- the list ------------------------------------------------------------------------


def _filters(query: MultiMapping[str]) -> tuple[list[CaseState], int]:
    """The chosen states (none chosen: every state that is not final) and age;
    unknown values are ignored, as a hand-edited address deserves no error page."""
    chosen = set(query.getall("zustand", []))
    states = [state for state in CaseState if state.value in chosen] or list(DEFAULT_STATES)
    age = query.get("alter", "0")
    days = int(age) if age.isdigit() and int(age) in AGES else 0
    return states, days


@routes.get(LIST, name="case_list")
@login_required
async def case_list(request: web.Request, clerk: Clerk) -> web.Response:
    states, days = _filters(request.query)
    older_than = timedelta(days=days) if days else None
    found = await request.app[CASES].listing(states, older_than, limit=LIMIT + 1)
    return render(
        request,
        "staff/cases.html",
        {
            "clerk": clerk,
            "cases": found[:LIMIT],
            "more": len(found) > LIMIT,
            "limit": LIMIT,
            "states": list(CaseState),
            "chosen": set(states),
            "ages": AGES,
            "days": days,
            "labels": LABELS,
            "methods": METHOD_LABELS,
            "service_name": _service_name(request),
            "short": _short(request),
        },
    )


# -- one case ------------------------------------------------------------------------


async def _case_page(
    request: web.Request,
    clerk: Clerk,
    case: CaseView,
    *,
    failed: str | None = None,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    town = request.app[TOWN]
    service = town.service(case.service_id)
    booking = None
    if case.appointment_id is not None:
        try:
            booking = await request.app[APPOINTMENTS].get(case.appointment_id)
        except NotFound:
            booking = None
    notice = DONE.get(request.query.get("erledigt", "")) if failed is None else None
    # The page shows the booking's name and the invoice's address: a read (office.reads).
    await reads.record_read(
        request.app[OFFICE], audit.staff_actor(clerk.id), reads.Read.CASE, f"case:{case.id}"
    )
    return render(
        request,
        "staff/case.html",
        {
            "clerk": clerk,
            "case": case,
            "service": service,
            "delivery": service.delivery.value if service else None,
            "booking": booking,
            "invoice": await request.app[INVOICES].invoice_of(case.id),
            "actors": await _actor_names(request, case),
            "labels": LABELS,
            "methods": METHOD_LABELS,
            "final": case.state in FINAL,
            "today": request.app[CLOCK]().astimezone(town.tz).date(),
            "notice": notice,
            "failed": failed,
            "error": error,
            "errors": dict(errors or {}),
            "values": dict(values or {}),
            "reason_length": REASON_LENGTH,
            "address_lines": ADDRESS_LINES,
            "address_line_length": ADDRESS_LINE_LENGTH,
            "service_name": _service_name(request),
            "short": _short(request),
        },
        status=status,
    )


@routes.get(LIST + "/" + CASE_ID, name="case_detail")
@login_required
async def case_detail(request: web.Request, clerk: Clerk) -> web.Response:
    case = await _case_or_404(request)
    if case is None:
        return error_page(request, 404, "Diesen Vorgang gibt es nicht.")
    return await _case_page(request, clerk, case)


@routes.post(LIST + "/" + CASE_ID + "/aktion")
@login_required
async def case_action(request: web.Request, clerk: Clerk) -> web.Response:
    case = await _case_or_404(request)
    if case is None:
        return error_page(request, 404, "Diesen Vorgang gibt es nicht.")
    form = await request.post()  # read (and checked) by the CSRF middleware already
    values = {name: value for name, value in form.items() if isinstance(value, str)}
    values.pop("csrf", None)
    failed = values.get("action", "")
    try:
        action = action_from(case.id, values)
        await request.app[CASE_ACTIONS].perform(case, action, clerk.id)
    except OfficeError as exc:
        message, errors = exc.message, {}
        if isinstance(exc, InvalidInput) and exc.fields:
            errors = {FIELD_OF.get(name, name): text for name, text in exc.fields.items()}
            message = " ".join(exc.fields.values())
        # The case as it is now: a hook may have failed after the case moved.
        current = await request.app[CASES].get(case.id)
        return await _case_page(
            request,
            clerk,
            current,
            failed=failed,
            error=message,
            errors=errors,
            values=values,
            status=status_of(exc),
        )
    return redirect(f"{LIST}/{case.id}?erledigt={action.action}")


def action_from(case_id: str, values: Mapping[str, str]) -> CaseCommand:
    """The form's fields as an :class:`CaseCommand` (empty fields are absent), or
    :class:`InvalidInput` with a German message per refused field. An invoice's
    address is checked for the window envelope before the case moves."""
    data: dict[str, Any] = {"case_id": case_id, "action": values.get("action", "")}
    for name in ("method", "reason", "posted_on", "bzr_reference"):
        if value := values.get(name, "").strip():
            data[name] = value
    lines = [line.strip() for line in values.get("address", "").splitlines() if line.strip()]
    if lines:
        data["address"] = lines
    try:
        action = CaseCommand.model_validate(data)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        raise InvalidInput(
            {name: FIELD_ERRORS.get(name, "Bitte prüfen.") for name in sorted(fields)}
        ) from None
    if action.method is PaymentMethod.INVOICE_POST:
        too_long = any(len(line) > ADDRESS_LINE_LENGTH for line in lines)
        if too_long or len(lines) > ADDRESS_LINES:
            raise InvalidInput({"address": FIELD_ERRORS["address"]})
        if len(lines) < 2:
            raise InvalidInput({"address": "Bitte Straße und Ort angeben (mindestens 2 Zeilen)."})
    return action


@routes.get(LIST + "/" + CASE_ID + "/rechnung.pdf")
@login_required
async def invoice_pdf(request: web.Request, clerk: Clerk) -> web.Response:
    case_id = request.match_info["case_id"]
    invoices = request.app[INVOICES]
    invoice = await invoices.invoice_of(case_id)
    if invoice is None:
        return error_page(request, 404, "Für diesen Vorgang gibt es keine Rechnung.")
    pdf = await invoices.document(case_id, f"clerk:{clerk.id}")
    return _pdf(pdf, f"Rechnung-{invoice.number}.pdf", "inline")


# -- the print batch -------------------------------------------------------------------


@routes.post(BATCH)
@login_required
async def print_batch(request: web.Request, clerk: Clerk) -> web.Response:
    """The letters of every post invoice not printed yet, marked printed: a POST,
    since a second request gets only what came since."""
    batch = await request.app[INVOICES].print_batch(audit.staff_actor(clerk.id))
    if batch.pdf is None:
        return render(request, "staff/print_batch.html", {"clerk": clerk})
    local = request.app[CLOCK]().astimezone(request.app[TOWN].tz)
    return _pdf(batch.pdf, f"Rechnungen-{local:%Y-%m-%d-%H%M}.pdf", "attachment")


# -- helpers -------------------------------------------------------------------------


async def _case_or_404(request: web.Request) -> CaseView | None:
    try:
        return await request.app[CASES].get(request.match_info["case_id"])
    except NotFound:
        return None


async def _actor_names(request: web.Request, case: CaseView) -> dict[str, str]:
    """A readable name for each actor on the timeline ("clerk:3" → the clerk's name)."""
    names = dict(ACTOR_LABELS)
    if any(event.actor.startswith("clerk:") for event in case.events):
        for member in await request.app[STAFF].all():
            names[audit.staff_actor(member.id)] = member.display_name
    return names


def _service_name(request: web.Request) -> Any:
    town = request.app[TOWN]

    def name(service_id: str) -> str:
        service = town.service(service_id)
        return service.name if service is not None else service_id

    return name


def _short(request: web.Request) -> Any:
    """'01.06.2026, 12:30' in the town's time (a table needs no weekday)."""
    tz = request.app[TOWN].tz

    def short(value: datetime | date) -> str:
        if isinstance(value, datetime):
            return f"{value.astimezone(tz):%d.%m.%Y, %H:%M}"
        return f"{value:%d.%m.%Y}"

    return short


def _pdf(data: bytes, filename: str, disposition: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "no-store",  # names and addresses
        },
    )
