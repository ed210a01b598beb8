"""PayPal's ways into the office: the citizen's return and cancel, and the webhook.

``GET /zahlung/paypal/zurueck?token=ORDER_ID`` is where PayPal sends the citizen
after approving: the order is captured and the citizen lands on the status page.
``GET /zahlung/paypal/abbruch`` (they cancelled at PayPal) leads there with a notice.
``POST /zahlung/paypal/webhook`` takes PayPal's signed notifications (JSON): 200 when
accepted or a harmless repeat, 400 ``webhook_invalid`` for a bad body or signature,
503 ``paypal_unavailable`` when PayPal cannot confirm the signature now (PayPal
delivers again). While PayPal is not configured, all three are "not found".
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from office.errors import OfficeError
from office.paypal_client import PaypalRejected
from signalling.errors import api_error_from
from signalling.keys import PAYPAL
from signalling.middleware import signed_by_sender

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
STATUS_PAGE = "/termin/status"
CANCELLED = STATUS_PAGE + "?hinweis=paypal-abgebrochen"
REFUSED = STATUS_PAGE + "?hinweis=paypal-abgelehnt"
ORDER_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@routes.get("/zahlung/paypal/zurueck")
async def paypal_return(request: web.Request) -> web.Response:
    paypal = request.app[PAYPAL]
    token = request.query.get("token", "")
    if not paypal.enabled or not ORDER_ID.fullmatch(token):
        raise web.HTTPNotFound()
    try:
        await paypal.returned(token)  # other domain errors become the German error page
    except PaypalRejected as exc:
        # E.g. the card was declined: back to the status page, which says so and
        # still offers to pay; nothing was booked.
        log.info("PayPal refused the capture of order %s: %s", token, exc.issue)
        raise web.HTTPSeeOther(REFUSED) from None
    raise web.HTTPSeeOther(STATUS_PAGE)


@routes.get("/zahlung/paypal/abbruch")
async def paypal_cancel(request: web.Request) -> web.Response:
    if not request.app[PAYPAL].enabled:
        raise web.HTTPNotFound()
    raise web.HTTPSeeOther(CANCELLED)


@routes.post("/zahlung/paypal/webhook")
@signed_by_sender
async def paypal_webhook(request: web.Request) -> web.Response:
    paypal = request.app[PAYPAL]
    if not paypal.enabled:
        raise web.HTTPNotFound()
    body = await request.read()
    try:
        outcome = await paypal.webhook(request.headers, body)
    except OfficeError as exc:
        return api_error_from(exc)
    return web.json_response({"ok": True, "outcome": outcome})
