"""A small client for PayPal's REST API: the Orders v2 calls the office needs and
webhook verification.

It uses aiohttp's HTTP *client* only (an outbound connection to a third party, like
the SMTP mailer's); nothing of the web server. Every call has a timeout; anything
that keeps an answer from arriving (no connection, timeout, 5xx, 429, refused
credentials) becomes :class:`PaypalUnavailable`, and an answer that refuses the
request becomes :class:`PaypalRejected` with PayPal's issue name. Amounts are integer
cents on our side and PayPal's decimal strings on the wire, never floats.

The OAuth2 token is fetched with the client credentials and reused until shortly
before it expires. The secret goes only into the token request's Basic auth header:
it is never logged and not part of this object's ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from office.errors import Conflict, Unavailable

log = logging.getLogger(__name__)

CURRENCY = "EUR"
TOKEN_MARGIN_SECONDS = 120  # fetch a new token this long before the old one expires
DEFAULT_TIMEOUT_SECONDS = 15.0
# The headers PayPal signs a webhook delivery with (verify-webhook-signature's fields).
WEBHOOK_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}
_AMOUNT = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")


class PaypalUnavailable(Unavailable):
    """PayPal could not be reached or did not answer in time; nothing was changed."""

    code = "paypal_unavailable"
    message = (
        "Die Zahlung mit PayPal ist gerade nicht möglich. "
        "Bitte versuchen Sie es später noch einmal."
    )


class PaypalRejected(Conflict):
    """PayPal answered but refused the request (``issue`` names PayPal's reason,
    e.g. ``ORDER_NOT_APPROVED``, ``INSTRUMENT_DECLINED``)."""

    code = "paypal_rejected"
    message = "PayPal hat die Zahlung nicht angenommen. Bitte versuchen Sie es noch einmal."

    def __init__(self, issue: str, message: str | None = None) -> None:
        self.issue = issue
        super().__init__(message)


def format_amount(cents: int) -> str:
    """Integer cents as PayPal's decimal string: 1300 -> "13.00"."""
    if cents < 0:
        raise ValueError("negative amount")
    return f"{cents // 100}.{cents % 100:02d}"


def parse_amount(value: object) -> int | None:
    """PayPal's decimal string as integer cents ("13.00" -> 1300); None when it is
    not a plain non-negative amount with at most two decimals."""
    match = _AMOUNT.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))


@dataclass(frozen=True)
class Capture:
    """A capture of an order: the money moved (when ``status`` is COMPLETED)."""

    id: str
    status: str  # COMPLETED, PENDING, DECLINED, REFUNDED, …
    currency: str
    amount_cents: int | None  # None: PayPal sent an amount we cannot read

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Capture:
        amount = data.get("amount") or {}
        return cls(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            currency=str(amount.get("currency_code", "")),
            amount_cents=parse_amount(amount.get("value")),
        )


@dataclass(frozen=True)
class Order:
    """What the office reads of an Orders v2 order."""

    id: str
    status: str  # CREATED, PAYER_ACTION_REQUIRED, APPROVED, COMPLETED, VOIDED, …
    approve_url: str | None
    captures: tuple[Capture, ...]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Order:
        links = {link.get("rel"): link.get("href") for link in data.get("links") or ()}
        units = data.get("purchase_units") or ()
        captures = tuple(
            Capture.parse(capture)
            for unit in units
            for capture in (unit.get("payments") or {}).get("captures") or ()
        )
        return cls(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            # "payer-action" with payment_source.paypal, "approve" with the older style
            approve_url=links.get("payer-action") or links.get("approve"),
            captures=captures,
        )


class PaypalClient:
    """PayPal's REST API at ``base_url`` (sandbox or live), with one connection pool
    owned by this object; :meth:`close` releases it (safe to call twice)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._monotonic = monotonic
        # Built now, from the process's trust store (SSL_CERT_FILE is honoured).
        self._ssl = ssl.create_default_context()
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PaypalClient({self.base_url!r}, client_id={self._client_id!r})"

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # -- Orders v2 -----------------------------------------------------------------

    async def create_order(
        self,
        *,
        amount_cents: int,
        custom_id: str,
        invoice_id: str,
        description: str,
        brand_name: str,
        return_url: str,
        cancel_url: str,
        request_id: str,
    ) -> Order:
        """POST /v2/checkout/orders: one purchase unit in EUR to be captured."""
        body = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "amount": {"currency_code": CURRENCY, "value": format_amount(amount_cents)},
                    "custom_id": custom_id,
                    "invoice_id": invoice_id,
                    "description": description[:127],
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "brand_name": brand_name[:127],
                        "locale": "de-DE",
                        "shipping_preference": "NO_SHIPPING",
                        "user_action": "PAY_NOW",
                        "return_url": return_url,
                        "cancel_url": cancel_url,
                    }
                }
            },
        }
        data = await self._call("POST", "/v2/checkout/orders", body, request_id=request_id)
        return Order.parse(data)

    async def capture_order(self, order_id: str, request_id: str) -> Order:
        """POST /v2/checkout/orders/{id}/capture (after the buyer approved)."""
        path = f"/v2/checkout/orders/{_safe_id(order_id)}/capture"
        return Order.parse(await self._call("POST", path, {}, request_id=request_id))

    async def get_order(self, order_id: str) -> Order:
        return Order.parse(await self._call("GET", f"/v2/checkout/orders/{_safe_id(order_id)}"))

    # -- webhooks ------------------------------------------------------------------

    async def verify_webhook(
        self, headers: Mapping[str, str], raw_event: bytes, webhook_id: str
    ) -> bool:
        """Ask PayPal whether a webhook delivery is genuine (POST
        /v1/notifications/verify-webhook-signature). False when a signing header is
        missing or PayPal answers anything but SUCCESS."""
        fields = {name: headers.get(header) for name, header in WEBHOOK_HEADERS.items()}
        if not all(fields.values()):
            return False
        # The event goes back byte for byte as it came: re-serialising it could
        # change it (number formats, escapes) and break the signature.
        prefix = json.dumps({**fields, "webhook_id": webhook_id})
        body = prefix[:-1] + ', "webhook_event": ' + raw_event.decode() + "}"
        data = await self._call("POST", "/v1/notifications/verify-webhook-signature", body)
        return data.get("verification_status") == "SUCCESS"

    # -- transport -----------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(ssl=self._ssl)
            )
        return self._session

    def _basic(self) -> str:
        return base64.b64encode(f"{self._client_id}:{self._secret}".encode()).decode()

    async def _access_token(self, renew: bool = False) -> str:
        async with self._token_lock:
            if renew or self._token is None or self._monotonic() >= self._token_until:
                self._token = None
                data = await self._send(
                    "POST",
                    "/v1/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {self._basic()}"},
                )
                token, lifetime = data.get("access_token"), data.get("expires_in")
                if not isinstance(token, str) or not isinstance(lifetime, int):
                    log.error("PayPal's token answer has no token or lifetime")
                    raise PaypalUnavailable()
                self._token = token
                self._token_until = self._monotonic() + lifetime - TOKEN_MARGIN_SECONDS
            return self._token

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | str | None = None,
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """An API call with the bearer token; a 401 renews the token once."""
        headers = {"Content-Type": "application/json", "Prefer": "return=representation"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        payload = body if isinstance(body, str) or body is None else json.dumps(body)
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {await self._access_token(renew=attempt == 2)}"
            try:
                return await self._send(method, path, headers=headers, data=payload)
            except _Unauthorised:
                if attempt == 2:
                    break
        log.error("PayPal refused a fresh access token for %s %s", method, path)
        raise PaypalUnavailable()

    async def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().request(method, self.base_url + path, **kwargs) as response:
                status = response.status
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("PayPal not reachable (%s %s): %s", method, path, type(exc).__name__)
            raise PaypalUnavailable() from exc
        data = _json_object(text)
        if status == 401:
            if path == "/v1/oauth2/token":
                log.error("PayPal refused the client credentials (check BB_PAYPAL_CLIENT_ID)")
                raise PaypalUnavailable()
            raise _Unauthorised()
        if status == 429 or status >= 500:
            log.warning("PayPal answered %s to %s %s", status, method, path)
            raise PaypalUnavailable()
        if status >= 400:
            issue = _issue(data) or f"HTTP_{status}"
            log.info("PayPal refused %s %s: %s %s", method, path, status, issue)
            raise PaypalRejected(issue)
        if data is None:
            log.warning("PayPal's answer to %s %s is not a JSON object", method, path)
            raise PaypalUnavailable()
        return data


class _Unauthorised(Exception):
    """The bearer token was refused (expired early or revoked)."""


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _issue(data: Mapping[str, Any] | None) -> str | None:
    """PayPal's reason for refusing: the first detail's issue, or the error name."""
    if not data:
        return None
    details = data.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        issue = details[0].get("issue")
        if isinstance(issue, str):
            return issue
    name = data.get("name")
    return name if isinstance(name, str) else None


def _safe_id(order_id: str) -> str:
    """An order id as a path segment; PayPal's ids are letters and digits."""
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", order_id):
        raise PaypalRejected("INVALID_RESOURCE_ID")
    return order_id
