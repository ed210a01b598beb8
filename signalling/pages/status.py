"""The citizen's status page: each case of their appointment as a timeline, like
parcel tracking (verified, invoice sent / paid, posted or forwarded), with the way to
pay while the fee is open: the invoice as a PDF with its GiroCode, or PayPal.

Reached with the appointment's session cookie (the mailed link sets it), so a citizen
sees only their own appointment's cases; anything else is "not found".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from office import epc
from office.case_views import CaseView, PaymentMethod
from office.cases import CaseState
from office.errors import OfficeError
from office.invoices import InvoiceView
from signalling import i18n
from signalling.keys import CASES, INVOICES, OFFICE, PAYPAL, TOWN
from signalling.pages.appointment import current
from signalling.render import error_page, redirect, render

routes = web.RouteTableDef()


async def own_case(request: web.Request) -> CaseView:
    """The case named in the URL, if it belongs to this browser's appointment; else
    404 (never 403: whether another citizen's case exists is not to be told)."""
    appointment = await current(request)
    case_id = request.match_info["case_id"]
    for case in await request.app[CASES].of_appointment(appointment.id):
        if case.id == case_id:
            return case
    raise web.HTTPNotFound()


def girocode_image(request: web.Request, invoice: InvoiceView, open_cents: int) -> str | None:
    """The EPC QR code for what is still open, as an image data URI."""
    payment = request.app[TOWN].payment
    if payment is None or open_cents <= 0:
        return None
    code = epc.girocode(payment, invoice.payment_reference, open_cents)
    return str(code.png_data_uri(scale=5, border=4))


def grouped(iban: str) -> str:
    """An IBAN as it is printed: in groups of four."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


async def _item(request: web.Request, case: CaseView) -> dict[str, Any]:
    invoice = await request.app[INVOICES].invoice_of(case.id)
    waiting = case.state is CaseState.PAYMENT_PENDING
    girocode = girocode_image(request, invoice, case.open_cents) if invoice and waiting else None
    payment = request.app[TOWN].payment
    return {
        "case": case,
        "service": request.app[OFFICE].service(case.service_id),
        "invoice": invoice,
        "girocode": girocode,
        # The same transfer as text, for online banking on the same device as this page.
        "transfer": {
            "payee": payment.creditor_name,
            "iban": grouped(payment.iban),
            "bic": payment.bic,
        }
        if girocode and payment
        else None,
        "paypal": waiting
        and case.payment_method is PaymentMethod.PAYPAL
        and request.app[PAYPAL].enabled,
    }


@routes.get("/termin/status", name="status")
async def status_page(request: web.Request) -> web.Response:
    appointment = await current(request)
    cases = await request.app[CASES].of_appointment(appointment.id)
    return render(
        request,
        "status.html",
        {
            "appointment": appointment,
            "cases": [await _item(request, case) for case in cases],
            "notice": request.query.get("hinweis"),
        },
    )


@routes.get("/termin/status/{case_id}/rechnung.pdf")
async def invoice_download(request: web.Request) -> web.Response:
    case = await own_case(request)
    invoices = request.app[INVOICES]
    invoice = await invoices.invoice_of(case.id)
    if invoice is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=await invoices.document(case.id, "citizen"),
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="Rechnung-{invoice.number}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@routes.post("/termin/status/{case_id}/paypal")
async def pay_with_paypal(request: web.Request) -> web.Response:
    """Off to PayPal's approval page for the open amount (PayPal brings the citizen
    back to /zahlung/paypal/zurueck)."""
    case = await own_case(request)
    paypal = request.app[PAYPAL]
    if not paypal.enabled:
        raise web.HTTPNotFound()
    try:
        approve_url = await paypal.start(case.id, "citizen")
    except OfficeError as exc:
        lang = i18n.language(request)
        return error_page(request, 409, i18n.error_text(exc, lang))
    return redirect(approve_url)
