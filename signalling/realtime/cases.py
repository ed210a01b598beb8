"""Socket commands of the clerk's case panel in the call (docs/protocol.md, "Cases").

The clerk opens a case for each service handled in the call and moves it on: identity
verified, payment requested (invoice by mail or post, or PayPal), paid or waived, and
later posted or forwarded. Which appointment a command concerns comes from the
clerk's call, never from the payload; a case of another appointment is "not found".
After every change both sides get ``cases_updated``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from office.cases import (
    LABELS,
    MAX_QUANTITY,
    Cases,
    CaseState,
    CaseView,
    InvalidTransition,
    PaymentMethod,
)
from office.catalogue import Town
from office.errors import InvalidInput, NotFound
from signalling.realtime.lobby import CITIZEN_NS, CLERK_NS, Lobby, citizen_room, clerk_room
from signalling.realtime.namespaces import CitizenNamespace, ClerkNamespace
from signalling.realtime.protocol import Empty, Payload

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
# What happens after a payment was requested (send the invoice, create the PayPal
# order): filled in by the payment modules, so this module needs none of them.
PaymentRequested = Callable[[CaseView, int, "Action"], Awaitable[dict[str, Any]]]
AddressLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class Open(Payload):
    service_id: Annotated[str, StringConstraints(max_length=64)]
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


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
    address: tuple[AddressLine, ...] = Field(default=(), max_length=6)


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


class CasePanel:
    """The commands, and who hears of a change."""

    def __init__(self, lobby: Lobby, cases: Cases, clerks: ClerkNamespace) -> None:
        self._lobby = lobby
        self._cases = cases
        self._clerks = clerks
        self._town = cases.desk.town
        self.payment_requested: list[PaymentRequested] = []

    def register(self, clerks: ClerkNamespace, citizens: CitizenNamespace) -> None:
        clerks.command("case_list", Empty, self.listing)
        clerks.command("case_open", Open, self.open)
        clerks.command("case_action", Action, self.act)

    async def _cases_json(self, appointment_id: str) -> list[dict[str, Any]]:
        return [case_json(c, self._town) for c in await self._cases.of_appointment(appointment_id)]

    async def listing(self, sid: str, _: Empty) -> Any:
        _clerk, appointment_id = await self._clerks.in_call(sid)
        return {"cases": await self._cases_json(appointment_id)}

    async def open(self, sid: str, payload: Open) -> Any:
        clerk_id, appointment_id = await self._clerks.in_call(sid)
        case = await self._cases.open(
            appointment_id, payload.service_id, clerk_id, payload.quantity
        )
        await self._updated(clerk_id, appointment_id)
        return case_json(case, self._town)

    async def act(self, sid: str, payload: Action) -> Any:
        clerk_id, appointment_id = await self._clerks.in_call(sid)
        case = await self._own(appointment_id, payload.case_id)
        actor = f"clerk:{clerk_id}"
        extra: dict[str, Any] = {}
        if payload.method is PaymentMethod.INVOICE_POST and not payload.address:
            # Checked before the case moves: nothing half-done when it is missing.
            raise InvalidInput({"address": "Für eine Rechnung per Post bitte die Anschrift."})
        if payload.action == "mark_paid":
            case = await self._mark_paid(case, actor)
        elif payload.action == "invoice":  # again, e.g. after a failed first try
            if case.state is not CaseState.PAYMENT_PENDING:
                raise InvalidTransition("Eine Rechnung gibt es nur bei offener Zahlung.")
            for then in self.payment_requested:
                extra.update(await then(case, clerk_id, payload))
        else:
            case = await self._cases.transition(
                case.id,
                TARGETS[payload.action],
                actor,
                reason=payload.reason,
                method=payload.method,
                posted_on=payload.posted_on,
                bzr_reference=payload.bzr_reference,
            )
            if case.state is CaseState.PAYMENT_PENDING:
                for then in self.payment_requested:
                    extra.update(await then(case, clerk_id, payload))
        await self._updated(clerk_id, appointment_id)
        return {**case_json(case, self._town), **extra}

    async def _mark_paid(self, case: CaseView, actor: str) -> CaseView:
        """The open amount was paid in a way the clerk has seen (e.g. at the till)."""
        if case.state is not CaseState.PAYMENT_PENDING:
            raise InvalidTransition("Als bezahlt markieren geht nur bei offener Zahlung.")
        payment = f"clerk-{uuid.uuid4()}"
        await self._cases.record_payment(case.id, "clerk", payment, case.open_cents, actor)
        return await self._cases.get(case.id)

    async def _own(self, appointment_id: str, case_id: str) -> CaseView:
        for case in await self._cases.of_appointment(appointment_id):
            if case.id == case_id:
                return case
        raise NotFound("Diesen Vorgang gibt es in diesem Gespräch nicht.")

    async def _updated(self, clerk_id: int, appointment_id: str) -> None:
        cases = await self._cases_json(appointment_id)
        sio = self._lobby.sio
        await sio.emit(
            "cases_updated", {"cases": cases}, to=clerk_room(clerk_id), namespace=CLERK_NS
        )
        await sio.emit(
            "cases_updated",
            {"cases": [_for_citizen(c) for c in cases]},
            to=citizen_room(appointment_id),
            namespace=CITIZEN_NS,
        )


def _for_citizen(case: dict[str, Any]) -> dict[str, Any]:
    """What the citizen's page needs: no clerk's notes (the reason stays internal)."""
    keys = ("case_id", "reference", "service_name", "fee_cents", "paid_cents", "state")
    return {key: case[key] for key in keys}
