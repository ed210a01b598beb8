"""What a clerk can do to a case, whatever brought the request (the call's socket or
the after-call pages): one :class:`CaseCommand`, checked by the case's transitions,
and what it sets off through hooks: requesting a payment sends the invoice or opens
the PayPal order (``office.payment_requests``); a case's end lets its ID captures go
(``forget_captures``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from office.case_views import CaseView, PaymentMethod
from office.cases import FINAL, Cases, CaseState, InvalidTransition
from office.errors import InvalidInput
from office.verification import Verifications

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
AddressLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class CaseCommand(BaseModel):
    """A clerk's action on one case, validated as the socket payload and the form."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

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


# What happens after a payment was requested (send the invoice, create the PayPal
# order) and after a case ended: hooks, so this module needs none of their parts.
PaymentRequested = Callable[[CaseView, int, CaseCommand], Awaitable[dict[str, Any]]]
CaseEnded = Callable[[CaseView], Awaitable[None]]

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


class CaseActions:
    """Performs a :class:`CaseCommand`; ``payment_requested`` hooks run after a
    payment was requested (or an invoice asked for again), ``case_ended`` ones after
    a case closed, was cancelled or failed."""

    def __init__(self, cases: Cases) -> None:
        self.cases = cases
        self.payment_requested: list[PaymentRequested] = []
        self.case_ended: list[CaseEnded] = []

    async def perform(
        self, case: CaseView, command: CaseCommand, clerk_id: int
    ) -> tuple[CaseView, dict[str, Any]]:
        actor = f"clerk:{clerk_id}"
        extra: dict[str, Any] = {}
        if command.method is PaymentMethod.INVOICE_POST and not command.address:
            # Checked before the case moves: nothing half-done when it is missing.
            raise InvalidInput({"address": "Für eine Rechnung per Post bitte die Anschrift."})
        if command.action == "mark_paid":
            return await self._mark_paid(case, actor), extra
        if command.action == "invoice":  # again, e.g. after a failed first try
            if case.state is not CaseState.PAYMENT_PENDING:
                raise InvalidTransition("Eine Rechnung gibt es nur bei offener Zahlung.")
        else:
            case = await self.cases.transition(
                case.id,
                TARGETS[command.action],
                actor,
                reason=command.reason,
                method=command.method,
                posted_on=command.posted_on,
                bzr_reference=command.bzr_reference,
            )
        if case.state is CaseState.PAYMENT_PENDING:
            for then in self.payment_requested:
                extra.update(await then(case, clerk_id, command))
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


class CaptureCopies(Protocol):
    """The encrypted ID captures (``media.vault``), as far as retention needs them."""

    async def delete_for(self, verification_id: str) -> int: ...


def forget_captures(cases: Cases, checks: Verifications, copies: CaptureCopies) -> CaseEnded:
    """Once every case of the appointment has ended, its ID captures go at once
    (PAuswG §20: copies only as long as needed), not only at the retention period."""

    async def then(case: CaseView) -> None:
        if case.appointment_id is None:
            return
        siblings = await cases.of_appointment(case.appointment_id)
        if any(other.state not in FINAL for other in siblings):
            return
        for verification_id in await checks.of_appointment(case.appointment_id):
            await copies.delete_for(verification_id)

    return then
