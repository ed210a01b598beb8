"""The data-protection officer's desk: the audit log with filters, page by page, and
its CSV export.

``GET /datenschutz/protokoll`` (``von``, ``bis``: days ``YYYY-MM-DD``, both
included; ``art``: the kind of event, ``read.`` for every kind under it;
``datensatz``: the record, ``case:`` for every case; ``wer``: who acted, e.g.
``clerk:3``; ``seite``: the page) and ``GET /datenschutz/protokoll.csv`` with the
same filters. ``office.audit_log`` runs one query for both.

Only the DPO role is admitted. Admins keep their dashboard and do not see the log
(least privilege: the log tells who read which citizen's data and what each
colleague did, which is the officer's to check, not the line manager's). Her own
views and exports are audited too (``read.audit_log``).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from office import audit, audit_log
from office.audit_log import AuditFilter, AuditRow
from office.models import Clerk, Role
from office.reads import Read, record_read
from signalling.keys import OFFICE, STAFF, TOWN
from signalling.pages.staff import staff_page
from signalling.render import render

routes = web.RouteTableDef()
DESK = "/datenschutz/protokoll"
EXPORT = DESK + ".csv"
FILTER_FIELDS = ("von", "bis", "art", "datensatz", "wer")
FIELD_LENGTH = 80  # as long as a record's name can be
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _day(query: MultiMapping[str], name: str, errors: dict[str, str]) -> date | None:
    value = query.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Bitte ein Datum wie 2026-12-07 angeben."
        return None


def filters_from(query: MultiMapping[str]) -> tuple[AuditFilter, dict[str, str]]:
    """The filter a query string asks for, and a German message per refused field
    (that field is then left out)."""
    errors: dict[str, str] = {}
    texts = {}
    for name in ("art", "datensatz", "wer"):
        value = query.get(name, "").strip()
        if len(value) > FIELD_LENGTH:
            errors[name] = f"Höchstens {FIELD_LENGTH} Zeichen."
            value = ""
        texts[name] = value
    chosen = AuditFilter(
        since=_day(query, "von", errors),
        until=_day(query, "bis", errors),
        kind=texts["art"],
        record=texts["datensatz"],
        actor=texts["wer"],
    )
    return chosen, errors


def _as_query(chosen: AuditFilter) -> dict[str, str]:
    values = {
        "von": chosen.since.isoformat() if chosen.since else "",
        "bis": chosen.until.isoformat() if chosen.until else "",
        "art": chosen.kind,
        "datensatz": chosen.record,
        "wer": chosen.actor,
    }
    return {name: value for name, value in values.items() if value}


async def _actor_names(request: web.Request) -> dict[str, str]:
    """Who ``clerk:3`` is: the officer checks staff, so she sees their names."""
    names = {audit.SYSTEM: "System", audit.CITIZEN: "Bürgerin/Bürger"}
    for member in await request.app[STAFF].all():
        names[audit.staff_actor(member.id)] = member.display_name
    return names


def _detail(row: AuditRow) -> str:
    return json.dumps(row.detail, ensure_ascii=False, sort_keys=True) if row.detail else ""


async def _audit_view(request: web.Request, clerk: Clerk, chosen: AuditFilter, how: str) -> None:
    await record_read(
        request.app[OFFICE],
        audit.staff_actor(clerk.id),
        Read.AUDIT_LOG,
        "audit_log",
        how=how,
        # One string: a record searched for is not one the row names (``records``).
        query=urlencode(_as_query(chosen)),
    )


@routes.get(DESK, name="audit_desk")
@staff_page(Role.DPO)
async def desk(request: web.Request, clerk: Clerk) -> web.Response:
    office = request.app[OFFICE]
    chosen, errors = filters_from(request.query)
    number = request.query.get("seite", "1")
    number = number if number.isdigit() and 0 < len(number) < 7 else "1"
    total = await audit_log.count(office, chosen)
    pages = max(1, -(-total // audit_log.PAGE_SIZE))
    current = min(int(number), pages)
    rows = await audit_log.page(office, chosen, current)
    await _audit_view(request, clerk, chosen, "page")
    base = _as_query(chosen)
    tz = request.app[TOWN].tz

    def link(to: int) -> str:
        return f"{DESK}?{urlencode({**base, 'seite': str(to)})}"

    context: dict[str, Any] = {
        "clerk": clerk,
        "rows": rows,
        "total": total,
        "page": current,
        "pages": pages,
        "previous": link(current - 1) if current > 1 else None,
        "next": link(current + 1) if current < pages else None,
        "export": f"{EXPORT}?{urlencode(base)}" if base else EXPORT,
        "values": {name: request.query.get(name, "") for name in FILTER_FIELDS},
        "errors": errors,
        "kinds": await audit_log.kinds(office),
        "names": await _actor_names(request),
        "local": lambda instant: f"{instant.astimezone(tz):%d.%m.%Y %H:%M:%S}",
        "detail": _detail,
    }
    return render(request, "staff/audit_log.html", context)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@routes.get(EXPORT, name="audit_export")
@staff_page(Role.DPO)
async def export(request: web.Request, clerk: Clerk) -> web.StreamResponse:
    """The filtered rows as CSV (UTF-8 with a byte order mark, so spreadsheets read
    the umlauts), newest first; a refused filter field is left out, as on the page."""
    chosen, _ = filters_from(request.query)
    tz = request.app[TOWN].tz
    names = await _actor_names(request)
    await _audit_view(request, clerk, chosen, "csv")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="protokoll.csv"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(["id", "zeit", "wer", "name", "art", "datensatz", "details"])
    async for row in audit_log.export(request.app[OFFICE], chosen):
        writer.writerow(
            [
                str(row.id),
                row.at.astimezone(tz).isoformat(),
                _cell(row.actor),
                _cell(names.get(row.actor, "")),
                _cell(row.kind),
                _cell(row.record),
                _cell(_detail(row)),
            ]
        )
        if buffer.tell() > 64 * 1024:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response
