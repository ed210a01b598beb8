"""Socket commands of the clerk's case panel in the call (docs/protocol.md, "Cases").

The clerk opens a case for each service handled in the call and moves it on: identity
verified, payment requested (invoice by mail or post, or PayPal), paid or waived, and
later posted or forwarded. Which appointment a command concerns comes from the
clerk's call, never from the payload; a case of another appointment is "not found".
After every change both sides get ``cases_updated``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from office.case_actions import CaseActions, CaseCommand
from office.case_views import CaseView
from office.cases import LABELS, MAX_QUANTITY, Cases
from office.catalogue import Town
from office.errors import NotFound
from signalling.sockets.namespaces import ClerkNamespace
from signalling.sockets.notifier import Notifier
from signalling.sockets.protocol import CasePaymentLink, CasesUpdated, Empty, Payload


class Open(Payload):
    service_id: Annotated[str, StringConstraints(max_length=64)]
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


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

    def __init__(
        self, notifier: Notifier, cases: Cases, actions: CaseActions, clerks: ClerkNamespace
    ) -> None:
        self._notifier = notifier
        self._cases = cases
        self._clerks = clerks
        self._town = cases.office.town
        self.actions = actions

    def register(self, clerks: ClerkNamespace) -> None:
        clerks.command("case_list", Empty, self.listing)
        clerks.command("case_open", Open, self.open)
        clerks.command("case_action", CaseCommand, self.act)

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

    async def act(self, sid: str, payload: CaseCommand) -> Any:
        clerk_id, appointment_id = await self._clerks.in_call(sid)
        case = await self._own(appointment_id, payload.case_id)
        case, extra = await self.actions.perform(case, payload, clerk_id)
        await self._updated(clerk_id, appointment_id)
        return {**case_json(case, self._town), **extra}

    async def _own(self, appointment_id: str, case_id: str) -> CaseView:
        for case in await self._cases.of_appointment(appointment_id):
            if case.id == case_id:
                return case
        raise NotFound("Diesen Vorgang gibt es in diesem Gespräch nicht.")

    async def show_payment_link(self, appointment_id: str, case: CaseView, url: str) -> None:
        """PayPal's approval link, for the citizen to open beside the call."""
        await self._notifier.citizen(appointment_id, CasePaymentLink(case.id, case.reference, url))

    async def _updated(self, clerk_id: int, appointment_id: str) -> None:
        cases = await self._cases_json(appointment_id)
        await self._notifier.clerk(clerk_id, CasesUpdated(cases))
        await self._notifier.citizen(appointment_id, CasesUpdated([_for_citizen(c) for c in cases]))


def _for_citizen(case: dict[str, Any]) -> dict[str, Any]:
    """What the citizen's page needs: no clerk's notes (the reason stays internal)."""
    keys = ("case_id", "reference", "service_name", "fee_cents", "paid_cents", "state")
    return {key: case[key] for key in keys}
