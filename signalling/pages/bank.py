"""The bank statement page for staff: admins import a camt.053 statement; clerks and
admins see the entries that need a person (partial and unmatched) and resolve them.

``GET /sachbearbeitung/kontoauszug``, ``POST`` the same (``multipart/form-data`` with
``statement``, at most 5 MB) and ``POST /sachbearbeitung/kontoauszug/{id}/erledigt``
(``vorgang``: a case reference or invoice number to book the money to, or empty to
mark the entry handled; ``notiz``). Staff login, roles and CSRF as on every staff
page; problems with the file are shown on the page in German.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from office import audit, reads
from office.bank_entries import REASON_LABELS, ImportSummary
from office.camt import MAX_STATEMENT_BYTES, StatementInvalid
from office.errors import InvalidInput, OfficeError
from office.models import Clerk, Role
from office.reconciliation import NOTE_LENGTH
from signalling.errors import status_of
from signalling.keys import OFFICE, RECONCILIATION
from signalling.middleware import allow_large_body
from signalling.pages.staff import login_required
from signalling.render import error_page, redirect, render

routes = web.RouteTableDef()
PAGE = "/sachbearbeitung/kontoauszug"
FIELD = "statement"
# The CSRF middleware reads the body with this limit; a file a little over the
# statement limit still reaches the handler, which says so in German.
BODY_LIMIT = MAX_STATEMENT_BYTES + 256 * 1024
STATUS_LABELS = {
    "matched": "zugeordnet",
    "partial": "Teilzahlung",
    "unmatched": "nicht zugeordnet",
    "duplicate": "bereits eingelesen",
}


async def _page(
    request: web.Request,
    clerk: Clerk,
    *,
    summary: ImportSummary | None = None,
    error: str | None = None,
    errors: dict[int, str] | None = None,
    status: int = 200,
) -> web.Response:
    entries = await request.app[RECONCILIATION].open_entries()
    # Payers' names and what they wrote: a read (office.reads), naming the entries shown.
    await reads.record_read(
        request.app[OFFICE],
        audit.staff_actor(clerk.id),
        reads.Read.BANK_STATEMENT,
        reads.BANK_ENTRIES_SUBJECT,
        records=reads.records("bank_entry", [entry.id for entry in entries]),
        imported=len(summary.entries) if summary else 0,
    )
    context: dict[str, Any] = {
        "clerk": clerk,
        "is_admin": clerk.role == Role.ADMIN,
        "entries": entries,
        "summary": summary,
        "error": error,
        "errors": errors or {},
        "reasons": REASON_LABELS,
        "statuses": STATUS_LABELS,
        "note_length": NOTE_LENGTH,
        "max_megabytes": MAX_STATEMENT_BYTES // (1024 * 1024),
    }
    return render(request, "staff/bank.html", context, status=status)


@routes.get(PAGE, name="bank_statement")
@login_required
async def show(request: web.Request, clerk: Clerk) -> web.Response:
    return await _page(request, clerk)


@routes.post(PAGE)
@allow_large_body(BODY_LIMIT)
@login_required
async def upload(request: web.Request, clerk: Clerk) -> web.Response:
    if clerk.role != Role.ADMIN:
        return error_page(request, 403, "Kontoauszüge liest die Administration ein.")
    form = await request.post()  # parsed, with the raised limit, by the CSRF middleware
    field = form.get(FIELD)
    if not isinstance(field, web.FileField):
        return await _page(request, clerk, error="Bitte eine Datei auswählen.", status=400)
    data = field.file.read(MAX_STATEMENT_BYTES + 1)
    if not isinstance(data, bytes) or not data:
        return await _page(request, clerk, error="Die Datei ist leer.", status=400)
    if len(data) > MAX_STATEMENT_BYTES:
        error = f"Die Datei ist zu groß (höchstens {MAX_STATEMENT_BYTES // (1024 * 1024)} MB)."
        return await _page(request, clerk, error=error, status=413)
    try:
        summary = await request.app[RECONCILIATION].import_statement(
            data, audit.staff_actor(clerk.id)
        )
    except StatementInvalid as exc:
        return await _page(request, clerk, error=exc.message, status=422)
    return await _page(request, clerk, summary=summary)


@routes.post(PAGE + r"/{entry_id:\d{1,12}}/erledigt")
@login_required
async def resolve(request: web.Request, clerk: Clerk) -> web.Response:
    entry_id = int(request.match_info["entry_id"])
    form = await request.post()
    case_text, note = form.get("vorgang", ""), form.get("notiz", "")
    if not isinstance(case_text, str) or not isinstance(note, str):
        raise web.HTTPBadRequest()
    reconciliation = request.app[RECONCILIATION]
    try:
        case_id = None
        if case_text.strip():
            case_id = await reconciliation.find_case(case_text)
            if case_id is None:
                raise InvalidInput({"case": "Zu dieser Angabe gibt es keinen Vorgang."})
        await reconciliation.resolve(entry_id, case_id, audit.staff_actor(clerk.id), note)
    except OfficeError as exc:
        message = exc.message
        if isinstance(exc, InvalidInput) and exc.fields:
            message = " ".join(exc.fields.values())
        return await _page(request, clerk, errors={entry_id: message}, status=status_of(exc))
    return redirect(PAGE)
