"""Cases (Vorgänge): every allowed and every refused transition, the identity gate,
payments booked once, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from office.appointments import Appointments
from office.case_views import CaseView, PaymentMethod
from office.cases import FINAL, TRANSITIONS, Cases, CaseState, InvalidTransition
from office.errors import InvalidInput, NotFound
from office.models import Appointment, AuditEntry, Case, CaseEvent
from tests.helpers.booking import book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT

CLERK = "clerk:1"
S = CaseState


@pytest.fixture
def cases(desk: Appointments) -> Cases:
    return Cases(desk.office)


@pytest.fixture
async def appointment(desk: Appointments, clerk: int, clock: Clock) -> Appointment:
    booked = await book_at(desk, SLOT)
    clock.set(SLOT)
    return booked


async def force_state(desk: Appointments, case_id: str, state: CaseState) -> None:
    """Put a case in a state directly, to test what is refused from there."""
    async with desk.office.sessions() as session, session.begin():
        await session.execute(update(Case).where(Case.id == case_id).values(state=state.value))


async def event_count(desk: Appointments, case_id: str) -> int:
    async with desk.office.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
            )
            or 0
        )


def states(case: CaseView) -> list[CaseState]:
    return [event.state for event in case.events]


async def test_a_certificate_from_opening_to_posted(
    cases: Cases, desk: Appointments, appointment: Appointment, clerk: int, clock: Clock
) -> None:
    case = await cases.open(appointment.id, "meldebescheinigung", clerk, quantity=2)
    assert case.state is S.OPEN and case.fee_cents == 2 * case.unit_fee_cents > 0
    await verify(desk, appointment.id)
    await cases.transition(case.id, S.VERIFIED, CLERK)
    pending = await cases.transition(
        case.id, S.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_EMAIL
    )
    assert pending.payment_method is PaymentMethod.INVOICE_EMAIL

    # Part of the fee is not enough; the rest pays it; the same payment again is no-op.
    assert await cases.record_payment(case.id, "bank", "E1", 500, "bank") is True
    assert (await cases.get(case.id)).state is S.PAYMENT_PENDING
    with pytest.raises(InvalidTransition):
        await cases.transition(case.id, S.PAID, CLERK)
    assert await cases.record_payment(case.id, "bank", "E2", case.fee_cents - 500, "bank")
    assert await cases.record_payment(case.id, "bank", "E2", case.fee_cents - 500, "bank") is False
    paid = await cases.get(case.id)
    assert paid.state is S.PAID and paid.paid_cents == case.fee_cents and paid.open_cents == 0

    await cases.transition(case.id, S.IN_FULFILMENT, CLERK)
    with pytest.raises(InvalidTransition, match="Bundeszentralregister"):
        await cases.transition(case.id, S.FORWARDED, CLERK, bzr_reference="X")
    with pytest.raises(InvalidTransition, match="noch nicht versandt"):
        await cases.transition(case.id, S.CLOSED, CLERK)
    with pytest.raises(InvalidInput):
        await cases.transition(case.id, S.POSTED, CLERK)  # no date
    for impossible in (date(2026, 6, 3), date(2026, 5, 30)):  # the future, before opening
        with pytest.raises(InvalidInput):
            await cases.transition(case.id, S.POSTED, CLERK, posted_on=impossible)
    posted = await cases.transition(case.id, S.POSTED, CLERK, posted_on=date(2026, 6, 1))
    assert posted.posted_on == date(2026, 6, 1)
    closed = await cases.transition(case.id, S.CLOSED, CLERK)
    assert states(closed) == [
        S.OPEN, S.VERIFIED, S.PAYMENT_PENDING, S.PAID, S.IN_FULFILMENT, S.POSTED, S.CLOSED
    ]  # fmt: skip
    assert closed.events[3].actor == "bank"
    async with desk.office.sessions() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.subject == f"case:{case.id}")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert actions == [
        "case.open", "case.verified", "case.payment_pending", "case.payment",
        "case.payment", "case.paid", "case.in_fulfilment", "case.posted", "case.closed",
    ]  # fmt: skip


async def test_a_certificate_of_conduct_is_forwarded_to_the_register(
    cases: Cases, desk: Appointments, appointment: Appointment, clerk: int
) -> None:
    case = await cases.open(appointment.id, "fuehrungszeugnis", clerk)
    await verify(desk, appointment.id)
    await cases.transition(case.id, S.PAYMENT_PENDING, CLERK, method=PaymentMethod.PAYPAL)
    await cases.transition(case.id, S.WAIVED, CLERK, reason="Bedürftigkeit nachgewiesen")
    await cases.transition(case.id, S.IN_FULFILMENT, CLERK)
    with pytest.raises(InvalidTransition, match="nicht die Stadt"):
        await cases.transition(case.id, S.POSTED, CLERK, posted_on=date(2026, 6, 1))
    with pytest.raises(InvalidInput):
        await cases.transition(case.id, S.FORWARDED, CLERK, bzr_reference="  ")
    forwarded = await cases.transition(case.id, S.FORWARDED, CLERK, bzr_reference="BZR-2026-7")
    assert forwarded.bzr_reference == "BZR-2026-7" and forwarded.reason
    assert forwarded.events[-1].detail == {"bzr_reference": "BZR-2026-7"}
    assert (await cases.transition(case.id, S.CLOSED, CLERK)).state is S.CLOSED


async def test_advice_needs_no_identity_no_fee_and_nothing_posted(
    cases: Cases, appointment: Appointment, clerk: int
) -> None:
    case = await cases.open(appointment.id, "beratung", clerk)
    with pytest.raises(InvalidTransition, match="keine Gebühr"):
        await cases.transition(case.id, S.PAYMENT_PENDING, CLERK, method=PaymentMethod.PAYPAL)
    await cases.transition(case.id, S.IN_FULFILMENT, CLERK)
    assert (await cases.transition(case.id, S.CLOSED, CLERK)).state is S.CLOSED


async def test_identity_must_be_verified_first_where_the_service_needs_it(
    cases: Cases, desk: Appointments, appointment: Appointment, clerk: int
) -> None:
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    for target, extra in (
        (S.VERIFIED, {}),
        (S.PAYMENT_PENDING, {"method": PaymentMethod.INVOICE_POST}),
    ):
        with pytest.raises(InvalidTransition, match="Identität"):
            await cases.transition(case.id, target, CLERK, **extra)  # type: ignore[arg-type]
    unchanged = await cases.get(case.id)
    assert unchanged.state is S.OPEN and unchanged.payment_method is None
    assert await event_count(desk, case.id) == 1
    free = await cases.open(appointment.id, "lebensbescheinigung", clerk)
    with pytest.raises(InvalidTransition, match="Identität"):
        await cases.transition(free.id, S.IN_FULFILMENT, CLERK)


async def test_waiving_cancelling_and_failing_need_a_reason(
    cases: Cases, appointment: Appointment, clerk: int
) -> None:
    case = await cases.open(appointment.id, "beratung", clerk)
    for target in (S.WAIVED, S.CANCELLED, S.FAILED):
        with pytest.raises(InvalidInput):
            await cases.transition(case.id, target, CLERK, reason="  ")
    with pytest.raises(InvalidInput):
        await cases.transition(case.id, S.CANCELLED, CLERK, reason="x" * 301)
    cancelled = await cases.transition(case.id, S.CANCELLED, CLERK, reason="Doppelt angelegt")
    assert cancelled.state is S.CANCELLED and cancelled.reason == "Doppelt angelegt"


@pytest.mark.parametrize("current", list(CaseState))
async def test_every_transition_the_table_does_not_allow_is_refused_and_changes_nothing(
    cases: Cases, desk: Appointments, appointment: Appointment, clerk: int, current: CaseState
) -> None:
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    await verify(desk, appointment.id)
    await force_state(desk, case.id, current)
    refused = [target for target in CaseState if target not in TRANSITIONS[current]]
    assert refused, current
    for target in refused:
        with pytest.raises(InvalidTransition):
            await cases.transition(
                case.id,
                target,
                CLERK,
                reason="Grund",
                method=PaymentMethod.INVOICE_EMAIL,
                posted_on=date(2026, 6, 1),
                bzr_reference="BZR-1",
            )
    after = await cases.get(case.id)
    assert after.state is current and after.reason is None and after.payment_method is None
    assert await event_count(desk, case.id) == 1
    if current in FINAL:
        assert TRANSITIONS[current] == frozenset()
    else:
        assert {S.CANCELLED, S.FAILED} <= TRANSITIONS[current]


async def test_opening_checks_service_quantity_and_appointment(
    cases: Cases, appointment: Appointment, clerk: int
) -> None:
    with pytest.raises(InvalidInput):
        await cases.open(appointment.id, "no-such-service", clerk)
    for quantity in (0, 11):
        with pytest.raises(InvalidInput):
            await cases.open(appointment.id, "meldebescheinigung", clerk, quantity=quantity)
    with pytest.raises(InvalidInput):
        await cases.open(appointment.id, "beratung", clerk, quantity=2)  # nothing to count
    with pytest.raises(NotFound):
        await cases.open(str(uuid.uuid4()), "beratung", clerk)
    assert await cases.of_appointment(appointment.id) == []
    with pytest.raises(NotFound):
        await cases.get(str(uuid.uuid4()))


async def test_payments_must_be_positive_and_the_listing_filters_by_state_and_age(
    cases: Cases, desk: Appointments, appointment: Appointment, clerk: int, clock: Clock
) -> None:
    first = await cases.open(appointment.id, "meldebescheinigung", clerk)
    with pytest.raises(InvalidInput):
        await cases.record_payment(first.id, "bank", "E0", 0, "bank")
    clock.advance(days=3)
    second = await cases.open(appointment.id, "beratung", clerk)
    await cases.transition(second.id, S.IN_FULFILMENT, CLERK)
    assert [c.id for c in await cases.listing()] == [first.id, second.id]
    assert [c.id for c in await cases.listing([S.OPEN])] == [first.id]
    assert [c.id for c in await cases.listing(older_than=timedelta(days=2))] == [first.id]
    assert [c.id for c in await cases.of_appointment(appointment.id)] == [first.id, second.id]
