"""Paying a case's fee with PayPal (Orders v2): the order, the capture, the webhooks.

The flow: :meth:`PaypalPayments.start` creates an order for the case's open amount and
returns PayPal's approval link; the citizen approves at PayPal and comes back, and
:meth:`PaypalPayments.returned` captures the order. PayPal's webhooks tell the same
story independently (and may arrive first, twice, or alone): every path books a
completed capture through :meth:`Cases.record_payment` with the capture id as the
external id, so the money is booked exactly once whichever arrives first.

A capture is booked only when it is in euros and exactly the order's amount; anything
else is audited for a clerk and not booked. A denied or refunded capture is recorded
on the order and audited, and the case stays as it is: un-paying a case is a clerk's
decision.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from office import audit
from office.case_views import PaymentMethod
from office.cases import Cases, CaseState, InvalidTransition
from office.errors import InvalidInput, NotFound
from office.models import Payment, PaypalOrder
from office.paypal_client import CURRENCY, Capture, PaypalClient, PaypalRejected, PaypalUnavailable

log = logging.getLogger(__name__)

SOURCE = "paypal"  # Payment.source, and the actor of what PayPal caused
RETURN_PATH = "/zahlung/paypal/zurueck"
CANCEL_PATH = "/zahlung/paypal/abbruch"
OPEN_STATUSES = frozenset({"CREATED", "SAVED", "PAYER_ACTION_REQUIRED", "APPROVED"})
MISMATCH = "MISMATCH"  # ours: captured, but not as ordered (not booked; for a clerk)
# Nothing more to capture: booked, refused by us, or reversed by PayPal.
SETTLED_STATUSES = frozenset({"COMPLETED", MISMATCH, "DENIED", "REFUNDED", "VOIDED"})
MAX_WEBHOOK_BYTES = 64 * 1024


class WebhookInvalid(InvalidInput):
    """A webhook delivery that is malformed or whose signature PayPal does not confirm."""

    code = "webhook_invalid"
    message = "Die Benachrichtigung ist ungültig oder nicht von PayPal signiert."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(None, message)


@dataclass(frozen=True)
class PaypalConfig:
    """What the desk needs besides the client: where citizens come back to, and the
    id of the webhook PayPal signs deliveries for."""

    public_url: str
    webhook_id: str | None
    brand_name: str


class PaypalPayments:
    """The PayPal desk. ``client`` is None when PayPal is not configured: then
    :attr:`enabled` is False, pages must not offer PayPal, and every call refuses."""

    def __init__(self, cases: Cases, client: PaypalClient | None, config: PaypalConfig) -> None:
        self.cases = cases
        self.client = client
        self.config = config

    @property
    def enabled(self) -> bool:
        return self.client is not None

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    def _api(self) -> PaypalClient:
        if self.client is None:
            raise PaypalUnavailable("Die Zahlung mit PayPal wird hier nicht angeboten.")
        return self.client

    # -- the citizen's way ---------------------------------------------------------

    async def start(self, case_id: str, actor: str) -> str:
        """The approval link for the case's open amount: an order still open for
        exactly that amount is reused, else a new one is created at PayPal (and
        stored only once PayPal has it)."""
        api = self._api()
        case = await self.cases.get(case_id)
        if case.state is not CaseState.PAYMENT_PENDING or case.payment_method is not (
            PaymentMethod.PAYPAL
        ):
            raise InvalidTransition("Für diesen Vorgang ist keine Zahlung mit PayPal offen.")
        amount = case.open_cents
        if amount <= 0:
            raise InvalidTransition("Für diesen Vorgang ist nichts mehr zu bezahlen.")
        async with self.cases.office.sessions() as session:
            orders = (
                await session.scalars(
                    select(PaypalOrder)
                    .where(PaypalOrder.case_id == case.id)
                    .order_by(PaypalOrder.created_at, PaypalOrder.id)
                )
            ).all()
        for existing in orders:
            if existing.status in OPEN_STATUSES and existing.amount_cents == amount:
                return existing.approve_url
        # Two concurrent starts send the same request id, so PayPal makes one order
        # for both; the second insert of its id then fails and reads the first.
        public = self.config.public_url
        order = await api.create_order(
            amount_cents=amount,
            custom_id=case.id,
            invoice_id=case.reference,
            description=f"Gebühr Vorgang {case.reference}",
            brand_name=self.config.brand_name,
            return_url=public + RETURN_PATH,
            cancel_url=public + CANCEL_PATH,
            request_id=f"bb-order-{case.id}-{amount}-{len(orders)}",
        )
        if not order.id or not order.approve_url:
            log.error("PayPal's new order %r has no approval link", order.id)
            raise PaypalUnavailable()
        now = self.cases.office.now()
        try:
            async with self.cases.office.sessions() as session, session.begin():
                session.add(
                    PaypalOrder(
                        id=order.id,
                        case_id=case.id,
                        amount_cents=amount,
                        status=order.status,
                        approve_url=order.approve_url,
                        created_at=now,
                        updated_at=now,
                    )
                )
                await session.flush()
                audit.record(
                    session,
                    now,
                    actor,
                    "paypal.order_created",
                    f"case:{case.id}",
                    order_id=order.id,
                    amount_cents=amount,
                )
        except IntegrityError:
            pass  # the concurrent start stored this very order
        log.info("PayPal order %s created for case %s", order.id, case.id)
        return order.approve_url

    async def returned(self, order_id: str) -> str:
        """The citizen came back from PayPal: capture the order (once) and book a
        completed capture. Returns the case id."""
        row = await self._order(order_id)
        if row is None:
            raise NotFound("Diese Zahlung ist nicht bekannt.")
        await self._capture(row)
        return row.case_id

    # -- PayPal's webhooks ---------------------------------------------------------

    async def webhook(self, headers: Mapping[str, str], body: bytes) -> str:
        """Handle one webhook delivery after PayPal confirmed its signature; returns
        what was done (``booked``, ``captured``, ``recorded``, ``ignored``, …).
        :class:`WebhookInvalid` for a delivery that is malformed or not genuine
        (nothing changes); :class:`PaypalUnavailable` when PayPal cannot confirm it
        now (it delivers again later)."""
        api = self._api()
        if len(body) > MAX_WEBHOOK_BYTES:
            raise WebhookInvalid("Die Benachrichtigung ist zu groß.")
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookInvalid() from None
        if not isinstance(event, dict) or not isinstance(event.get("resource"), dict):
            raise WebhookInvalid()
        if not self.config.webhook_id:
            log.error("a PayPal webhook arrived but BB_PAYPAL_WEBHOOK_ID is not set")
            raise WebhookInvalid()
        if not await api.verify_webhook(headers, body, self.config.webhook_id):
            log.warning("PayPal webhook %r refused: signature not confirmed", event.get("id"))
            raise WebhookInvalid()
        kind, resource = str(event.get("event_type", "")), event["resource"]
        log.info("PayPal webhook %s (%s)", event.get("id"), kind)
        if kind == "PAYMENT.CAPTURE.COMPLETED":
            row = await self._order(_related_order(resource))
            if row is None:
                return await self._unknown(kind, resource)
            booked = await self._book(row, Capture.parse(resource), resource)
            return "booked" if booked else "known"
        if kind == "CHECKOUT.ORDER.APPROVED":
            row = await self._order(str(resource.get("id", "")))
            if row is None:
                return await self._unknown(kind, resource)
            try:
                await self._capture(row)
            except PaypalRejected:
                return "capture_refused"  # final for this event: no redelivery wanted
            return "captured"
        if kind in ("PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED"):
            return await self._capture_reversed(kind, resource)
        return "ignored"

    # -- inside --------------------------------------------------------------------

    async def _order(self, order_id: str) -> PaypalOrder | None:
        if not order_id:
            return None
        async with self.cases.office.sessions() as session:
            return await session.get(PaypalOrder, order_id)

    async def _capture(self, row: PaypalOrder) -> None:
        """Capture the order at PayPal unless it is settled, then book the capture."""
        if row.status in SETTLED_STATUSES:
            return
        api = self._api()
        try:
            # One request id per order: a repeated capture (the return and the
            # webhook at once, or a retry after a failure) gets PayPal's first answer.
            order = await api.capture_order(row.id, request_id=f"bb-capture-{row.id}")
        except PaypalRejected as refused:
            if refused.issue != "ORDER_ALREADY_CAPTURED":
                log.info("PayPal refused to capture order %s: %s", row.id, refused.issue)
                raise
            order = await api.get_order(row.id)
        if order.id != row.id:
            log.error("PayPal answered for order %r when asked for %r", order.id, row.id)
            raise PaypalUnavailable()
        completed = [capture for capture in order.captures if capture.status == "COMPLETED"]
        for capture in completed:
            await self._book(row, capture, None)
        if not completed:
            await self._set_status(row, order.status)

    async def _book(
        self, row: PaypalOrder, capture: Capture, resource: dict[str, Any] | None
    ) -> bool:
        """Book a completed capture of the order: True if it was new. A capture in
        another currency, of another amount, or naming another case is audited and
        not booked (the order is marked MISMATCH)."""
        custom_id = resource.get("custom_id") if resource is not None else None
        if not (
            capture.id
            and capture.status == "COMPLETED"
            and capture.currency == CURRENCY
            and capture.amount_cents == row.amount_cents
            and custom_id in (None, row.case_id)
        ):
            log.warning("PayPal capture %s does not match order %s", capture.id, row.id)
            await self._set_status(
                row,
                MISMATCH,
                "paypal.amount_mismatch",
                capture_id=capture.id,
                expected_cents=row.amount_cents,
                received_cents=capture.amount_cents,
                currency=capture.currency,
            )
            return False
        # Booked first, marked after: a failure in between leaves the order open, and
        # the next return or webhook books it (a second time changes nothing).
        booked = await self.cases.record_payment(
            row.case_id, SOURCE, capture.id, row.amount_cents, SOURCE
        )
        await self._set_status(row, "COMPLETED")
        if booked:
            log.info("PayPal capture %s booked for case %s", capture.id, row.case_id)
        return booked

    async def _capture_reversed(self, kind: str, resource: dict[str, Any]) -> str:
        """A denied or refunded capture: note it on the order and audit it, once."""
        row = await self._order(_related_order(resource))
        if row is None and kind == "PAYMENT.CAPTURE.REFUNDED":
            row = await self._order_of_capture(_up_capture(resource))
        if row is None:
            return await self._unknown(kind, resource)
        status = "DENIED" if kind == "PAYMENT.CAPTURE.DENIED" else "REFUNDED"
        changed = await self._set_status(
            row,
            status,
            f"paypal.capture_{status.lower()}",
            paypal_id=str(resource.get("id", "")),
            amount_cents=Capture.parse(resource).amount_cents,
        )
        return "recorded" if changed else "known"

    async def _order_of_capture(self, capture_id: str) -> PaypalOrder | None:
        """The completed (or refunded) order whose capture was booked as ``capture_id``."""
        if not capture_id:
            return None
        async with self.cases.office.sessions() as session:
            case_id = await session.scalar(
                select(Payment.case_id).where(
                    Payment.source == SOURCE, Payment.external_id == capture_id
                )
            )
            if case_id is None:
                return None
            found: PaypalOrder | None = await session.scalar(
                select(PaypalOrder)
                .where(
                    PaypalOrder.case_id == case_id,
                    PaypalOrder.status.in_(("COMPLETED", "REFUNDED")),
                )
                .order_by(PaypalOrder.updated_at.desc(), PaypalOrder.id)
                .limit(1)
            )
            return found

    async def _set_status(
        self, row: PaypalOrder, status: str, action: str | None = None, **detail: Any
    ) -> bool:
        """Store the order's status, and audit ``action`` with it, when it changes: a
        repeated delivery finds it set and audits nothing. A refund is final here."""
        now = self.cases.office.now()
        async with self.cases.office.sessions() as session, session.begin():
            current = await session.scalar(
                select(PaypalOrder).where(PaypalOrder.id == row.id).with_for_update()
            )
            if current is None or current.status in (status, "REFUNDED"):
                return False
            current.status = status
            current.updated_at = now
            if action is not None:
                audit.record(
                    session, now, SOURCE, action, f"case:{row.case_id}", order_id=row.id, **detail
                )
        row.status = status
        return True

    async def _unknown(self, kind: str, resource: dict[str, Any]) -> str:
        log.warning("PayPal webhook %s for an order we do not know (%r)", kind, resource.get("id"))
        return "ignored"


def _related_order(resource: dict[str, Any]) -> str:
    """The order a capture belongs to (supplementary_data.related_ids.order_id)."""
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    order_id = related.get("order_id") if isinstance(related, dict) else None
    return order_id if isinstance(order_id, str) else ""


def _up_capture(resource: dict[str, Any]) -> str:
    """The capture a refund belongs to: its "up" link ends in the capture id."""
    for link in resource.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "up":
            href = str(link.get("href", ""))
            if "/captures/" in href:
                return href.rstrip("/").rsplit("/", 1)[-1]
    return ""
