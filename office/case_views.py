"""What a case looks like to its readers: the clerk's pages, the citizen's status page,
the payment desks. Built from the rows in one place, with what was paid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from office.models import Case, CaseState, Payment


class PaymentMethod(StrEnum):
    INVOICE_EMAIL = "invoice_email"
    INVOICE_POST = "invoice_post"
    PAYPAL = "paypal"


@dataclass(frozen=True)
class Event:
    at: datetime
    state: CaseState
    actor: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class CaseView:
    id: str
    reference: str
    appointment_id: str | None
    service_id: str
    quantity: int
    unit_fee_cents: int
    fee_cents: int
    state: CaseState
    payment_method: PaymentMethod | None
    reason: str | None
    bzr_reference: str | None
    posted_on: date | None
    paid_cents: int
    created_at: datetime
    updated_at: datetime
    events: tuple[Event, ...]

    @property
    def open_cents(self) -> int:
        return max(self.fee_cents - self.paid_cents, 0)


async def views(session: AsyncSession, cases: Sequence[Case]) -> list[CaseView]:
    """The cases as views, with what was paid for each read in one query (a list of
    200 cases must not ask the database 200 times)."""
    ids = [case.id for case in cases]
    paid: dict[str, int] = {}
    if ids:
        rows = await session.execute(
            select(Payment.case_id, func.sum(Payment.amount_cents))
            .where(Payment.case_id.in_(ids))
            .group_by(Payment.case_id)
        )
        paid = {case_id: int(total or 0) for case_id, total in rows.all()}
    return [view(case, paid.get(case.id, 0)) for case in cases]


def view(case: Case, paid_cents: int) -> CaseView:
    method = case.payment_method
    return CaseView(
        id=case.id,
        reference=case.reference,
        appointment_id=case.appointment_id,
        service_id=case.service_id,
        quantity=case.quantity,
        unit_fee_cents=case.unit_fee_cents,
        fee_cents=case.fee_cents,
        state=CaseState(case.state),
        payment_method=PaymentMethod(method) if method else None,
        reason=case.reason,
        bzr_reference=case.bzr_reference,
        posted_on=case.posted_on,
        paid_cents=paid_cents,
        created_at=case.created_at,
        updated_at=case.updated_at,
        events=tuple(Event(e.at, CaseState(e.state), e.actor, dict(e.detail)) for e in case.events),
    )
