"""A local stand-in for PayPal's REST API: a small real HTTPS server that speaks the
subset of the documented protocol the office uses.

- ``POST /v1/oauth2/token``: client credentials in Basic auth, a bearer token back.
- ``POST /v2/checkout/orders``, ``GET /v2/checkout/orders/{id}``,
  ``POST /v2/checkout/orders/{id}/capture``: orders go CREATED (or
  PAYER_ACTION_REQUIRED with ``payment_source.paypal``) -> APPROVED (the test's
  :meth:`PaypalStandin.approve`, as the buyer would) -> COMPLETED on capture, with a
  capture id. ``PayPal-Request-Id`` makes a repeated POST return its first answer.
- ``POST /v1/notifications/verify-webhook-signature``: SUCCESS when the transmission
  signature is :data:`GOOD_SIGNATURE` and the webhook id is the configured one,
  FAILURE otherwise (the real check is cryptographic; the contract is the same).

It serves TLS with a self-signed certificate for 127.0.0.1 that :meth:`start` writes
out; point ``SSL_CERT_FILE`` at it so the client trusts it exactly as it would trust
PayPal's certificate, through the default trust store.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import secrets
import ssl
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CLIENT_ID = "standin-client-id"
SECRET = "standin-secret-Zq8vR2xT"
WEBHOOK_ID = "WH-STANDIN-0001"
GOOD_SIGNATURE = "standin-valid-signature"
AMOUNT = re.compile(r"^\d{1,9}\.\d{2}$")


def _id(length: int = 17) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PayPal stand-in")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "standin-cert.pem", folder / "standin-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class StoredOrder:
    id: str
    status: str
    currency: str
    value: str
    custom_id: str
    invoice_id: str
    return_url: str
    cancel_url: str
    approve_link: str
    captures: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        unit: dict[str, Any] = {
            "reference_id": "default",
            "amount": {"currency_code": self.currency, "value": self.value},
            "custom_id": self.custom_id,
            "invoice_id": self.invoice_id,
        }
        if self.captures:
            unit["payments"] = {"captures": self.captures}
        rel = "payer-action" if self.status == "PAYER_ACTION_REQUIRED" else "approve"
        links = [{"href": f"/v2/checkout/orders/{self.id}", "rel": "self", "method": "GET"}]
        if self.status in ("CREATED", "PAYER_ACTION_REQUIRED"):
            links.append({"href": self.approve_link, "rel": rel, "method": "GET"})
        return {"id": self.id, "status": self.status, "purchase_units": [unit], "links": links}


def _error(status: int, name: str, issue: str) -> web.Response:
    body = {"name": name, "details": [{"issue": issue}], "message": issue}
    return web.json_response(body, status=status)


class PaypalStandin:
    """The stand-in server and what it saw. ``capture_value`` (e.g. "12.00") makes the
    next captures take another amount than ordered, as a broken order would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.orders: dict[str, StoredOrder] = {}
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.order_requests: list[dict[str, Any]] = []
        self.verify_requests: list[dict[str, Any]] = []
        self.capture_value: str | None = None
        self._replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.cert_file = folder / "standin-cert.pem"

    # -- running ---------------------------------------------------------------------

    async def start(self) -> PaypalStandin:
        cert, key = write_certificate(self.folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_post("/v1/oauth2/token", self._token)
        app.router.add_post("/v2/checkout/orders", self._create)
        app.router.add_get("/v2/checkout/orders/{id}", self._get)
        app.router.add_post("/v2/checkout/orders/{id}/capture", self._capture)
        app.router.add_post("/v1/notifications/verify-webhook-signature", self._verify)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"https://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- what a test does as the buyer or as PayPal ----------------------------------

    def approve(self, order_id: str) -> str:
        """The buyer approves at PayPal; returns the path and query PayPal sends the
        browser back to (the return URL with ``token`` and ``PayerID``)."""
        order = self.orders[order_id]
        assert order.status in ("CREATED", "PAYER_ACTION_REQUIRED"), order.status
        order.status = "APPROVED"
        query = urlencode({"token": order.id, "PayerID": "BUYER" + _id(8)})
        return f"{order.return_url}?{query}"

    def capture_now(self, order_id: str) -> dict[str, Any]:
        """Capture as PayPal would on a capture request (one whose answer got lost)."""
        order = self.orders[order_id]
        assert order.status == "APPROVED", order.status
        capture = {
            "id": _id(),
            "status": "COMPLETED",
            "amount": {"currency_code": order.currency, "value": self.capture_value or order.value},
            "custom_id": order.custom_id,
            "invoice_id": order.invoice_id,
            "final_capture": True,
            "supplementary_data": {"related_ids": {"order_id": order.id}},
        }
        order.captures.append(capture)
        order.status = "COMPLETED"
        return capture

    def event(self, event_type: str, resource: dict[str, Any]) -> bytes:
        """A webhook delivery's body, as PayPal sends it."""
        body = {
            "id": "WH-" + _id(20),
            "event_version": "1.0",
            "create_time": "2026-06-01T10:40:00.000Z",
            "resource_type": "capture" if "CAPTURE" in event_type else "checkout-order",
            "event_type": event_type,
            "summary": event_type,
            "resource": resource,
        }
        return json.dumps(body).encode()

    def signed(self, signature: str = GOOD_SIGNATURE) -> dict[str, str]:
        """The headers of a webhook delivery, signed (or not) as ``signature`` says."""
        return {
            "Content-Type": "application/json",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
            "PAYPAL-TRANSMISSION-ID": _id(24),
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-TRANSMISSION-TIME": "2026-06-01T10:40:01Z",
        }

    # -- the protocol ----------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def _replayed(self, request: web.Request) -> web.Response | None:
        request_id = request.headers.get("PayPal-Request-Id")
        if request_id is None:
            return None
        known = self._replies.get((request.path, request_id))
        return web.json_response(known[1], status=known[0]) if known else None

    def _remember(self, request: web.Request, status: int, body: dict[str, Any]) -> web.Response:
        request_id = request.headers.get("PayPal-Request-Id")
        if request_id is not None:
            self._replies[(request.path, request_id)] = (status, body)
        return web.json_response(body, status=status)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        form = await request.post()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                status=401,
            )
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = "A21AA" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return web.json_response(
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-STANDIN",
                "expires_in": 32400,
                "nonce": _id(10),
            }
        )

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        if (replay := self._replayed(request)) is not None:
            return replay
        body = await request.json()
        self.order_requests.append(body)
        units = body.get("purchase_units") or []
        amount = units[0].get("amount", {}) if len(units) == 1 else {}
        if body.get("intent") != "CAPTURE" or not AMOUNT.match(str(amount.get("value", ""))):
            return _error(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE")
        context = (
            ((body.get("payment_source") or {}).get("paypal") or {}).get("experience_context")
            or body.get("application_context")
            or {}
        )
        order_id = _id()
        order = StoredOrder(
            id=order_id,
            status="PAYER_ACTION_REQUIRED" if "payment_source" in body else "CREATED",
            currency=str(amount.get("currency_code")),
            value=str(amount["value"]),
            custom_id=str(units[0].get("custom_id", "")),
            invoice_id=str(units[0].get("invoice_id", "")),
            return_url=str(context.get("return_url", "")),
            cancel_url=str(context.get("cancel_url", "")),
            approve_link=f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
        )
        self.orders[order_id] = order
        return self._remember(request, 200, order.body())

    async def _get(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return web.json_response(order.body())

    async def _capture(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        if (replay := self._replayed(request)) is not None:
            return replay
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return self._remember(
                request,
                404,
                {"name": "RESOURCE_NOT_FOUND", "details": [{"issue": "INVALID_RESOURCE_ID"}]},
            )
        if order.status == "COMPLETED":
            issue = "ORDER_ALREADY_CAPTURED"
        elif order.status != "APPROVED":
            issue = "ORDER_NOT_APPROVED"
        else:
            self.capture_now(order.id)
            return self._remember(request, 201, order.body())
        body = {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": issue}], "message": issue}
        return self._remember(request, 422, body)

    async def _verify(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        body = await request.json()
        self.verify_requests.append(body)
        fields = ("auth_algo", "cert_url", "transmission_id", "transmission_sig",
                  "transmission_time", "webhook_id")  # fmt: skip
        if not all(isinstance(body.get(name), str) for name in fields) or not isinstance(
            body.get("webhook_event"), dict
        ):
            return _error(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER")
        genuine = body["transmission_sig"] == GOOD_SIGNATURE and body["webhook_id"] == WEBHOOK_ID
        return web.json_response({"verification_status": "SUCCESS" if genuine else "FAILURE"})
