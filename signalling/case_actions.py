"""What a clerk can do to a case, whatever brought the request (the call's socket or
the after-call pages): one action, checked by the case's transitions, and what a
payment request sets off (the invoice, the PayPal order) through hooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from office.cases import FINAL, LABELS, Cases, CaseState, CaseView, InvalidTransition, PaymentMethod
from office.catalogue import Town
from office.errors import InvalidInput
from signalling.realtime.protocol import Payload

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
# What happens after a payment was requested (send the invoice, create the PayPal
# order): filled in by the payment modules, so this module needs none of them.
CaseEnded = Callable[[CaseView], Awaitable[None]]
PaymentRequested = Callable[[CaseView, int, "Action"], Awaitable[dict[str, Any]]]
AddressLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class Action(Payload):
    case_id: Annotated[str, StringConstraints(max_length=36)]
    action: Literal[
        "verified", "request_payment", "invoice", "waive", "mark_paid", "fulfil", "posted",
        "forwarded", "close", "cancel",
    ]  # fmt: skip
    # JSON has neither enums nor dates: these two are parsed from their strings.
    method: PaymentMethod | None = Field(default=None, strict=False)
    reason: Reason | None = None
    posted_on: date | None = Field(default=None, strict=False)
    bzr_reference: Annotated[str, StringConstraints(max_length=64)] | None = None
    # The postal address for an invoice by post (the booking has none).
    address: list[AddressLine] = Field(default_factory=list, max_length=6)


# The clerk's actions and the state each leads to ("mark_paid" books the open amount).
TARGETS: dict[str, CaseState] = {
    "verified": CaseState.VERIFIED,
    "request_payment": CaseState.PAYMENT_PENDING,
    "waive": CaseState.WAIVED,
    "fulfil": CaseState.IN_FULFILMENT,
    "posted": CaseState.POSTED,
    "forwarded": CaseState.FORWARDED,
    "close": CaseState.CLOSED,
    "cancel": CaseState.CANCELLED,
}


def case_json(case: CaseView, town: Town) -> dict[str, Any]:
    service = town.service(case.service_id)
    return {
        "case_id": case.id,
        "reference": case.reference,
        "service_id": case.service_id,
        "service_name": service.name if service else case.service_id,
        "delivery": service.delivery.value if service else None,
        "quantity": case.quantity,
        "fee_cents": case.fee_cents,
        "paid_cents": case.paid_cents,
        "state": case.state.value,
        "state_label": LABELS[case.state],
        "payment_method": case.payment_method.value if case.payment_method else None,
        "reason": case.reason,
        "bzr_reference": case.bzr_reference,
        "posted_on": case.posted_on.isoformat() if case.posted_on else None,
    }


class CaseActions:
    """Performs :class:`Action` on a case; ``payment_requested`` hooks run after a
    payment was requested (or an invoice asked for again)."""

    def __init__(self, cases: Cases) -> None:
        self.cases = cases
        self.payment_requested: list[PaymentRequested] = []
        self.case_ended: list[CaseEnded] = []  # closed, cancelled or failed

    async def perform(
        self, case: CaseView, action: Action, clerk_id: int
    ) -> tuple[CaseView, dict[str, Any]]:
        actor = f"clerk:{clerk_id}"
        extra: dict[str, Any] = {}
        if action.method is PaymentMethod.INVOICE_POST and not action.address:
            # Checked before the case moves: nothing half-done when it is missing.
            raise InvalidInput({"address": "Für eine Rechnung per Post bitte die Anschrift."})
        if action.action == "mark_paid":
            return await self._mark_paid(case, actor), extra
        if action.action == "invoice":  # again, e.g. after a failed first try
            if case.state is not CaseState.PAYMENT_PENDING:
                raise InvalidTransition("Eine Rechnung gibt es nur bei offener Zahlung.")
        else:
            case = await self.cases.transition(
                case.id,
                TARGETS[action.action],
                actor,
                reason=action.reason,
                method=action.method,
                posted_on=action.posted_on,
                bzr_reference=action.bzr_reference,
            )
        if case.state is CaseState.PAYMENT_PENDING:
            for then in self.payment_requested:
                extra.update(await then(case, clerk_id, action))
        if case.state in FINAL:
            for then_ended in self.case_ended:
                await then_ended(case)
        return case, extra

    async def _mark_paid(self, case: CaseView, actor: str) -> CaseView:
        """The open amount was paid in a way the clerk has seen (e.g. at the till)."""
        if case.state is not CaseState.PAYMENT_PENDING:
            raise InvalidTransition("Als bezahlt markieren geht nur bei offener Zahlung.")
        payment = f"clerk-{uuid.uuid4()}"
        await self.cases.record_payment(case.id, "clerk", payment, case.open_cents, actor)
        return await self.cases.get(case.id)
