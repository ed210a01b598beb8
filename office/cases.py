"""Cases (Vorgänge): one service handled in a call, from opening until it is posted.

A case moves through checked transitions; a refused one raises
:class:`InvalidTransition` and changes nothing. Every change is a timeline event (what
the citizen's status page shows) and an audit entry, with its actor and time, in the
same transaction as the change.

    open ─► verified ─► payment_pending ─► paid ─┐
      │        │              │                  ├► in_fulfilment ─► posted ────┐
      │        └──────────────┴─────► waived ────┘        │                     ├► closed
      └─(no identity needed)─┘                            ├────► forwarded ─────┘
                                                          └─(nothing to send)───► closed
    (a fee of 0 goes from open/verified straight to in_fulfilment)
    cancelled / failed (with a reason) from every state that is not final

Payments are recorded idempotently (:meth:`Cases.record_payment`): each source names
its payment (PayPal's capture id, the bank entry's reference), so a second delivery of
the same payment changes nothing. A case is paid when what was received covers the fee.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common import i18n
from common.i18n import N_
from office import audit
from office.appointments import new_reference
from office.case_views import CaseView, PaymentMethod, views
from office.catalogue import Delivery, Service
from office.context import Office
from office.errors import Conflict, InvalidInput, NotFound
from office.mail import MailKind
from office.models import Appointment, Case, CaseEvent, Payment, VerificationRecord
from office.models import CaseState as CaseState  # defined with the model, used from here
from office.statistics_record import Kind, note_case, note_case_state
from office.verification import Outcome

FINAL = frozenset({CaseState.CLOSED, CaseState.CANCELLED, CaseState.FAILED})
_ENDINGS = frozenset({CaseState.CANCELLED, CaseState.FAILED})
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: frozenset(
        {CaseState.VERIFIED, CaseState.PAYMENT_PENDING, CaseState.WAIVED, CaseState.IN_FULFILMENT}
    ),
    CaseState.VERIFIED: frozenset(
        {CaseState.PAYMENT_PENDING, CaseState.WAIVED, CaseState.IN_FULFILMENT}
    ),
    CaseState.PAYMENT_PENDING: frozenset({CaseState.PAID, CaseState.WAIVED}),
    CaseState.PAID: frozenset({CaseState.IN_FULFILMENT}),
    CaseState.WAIVED: frozenset({CaseState.IN_FULFILMENT}),
    # closed straight away only where nothing is sent (advice)
    CaseState.IN_FULFILMENT: frozenset({CaseState.POSTED, CaseState.FORWARDED, CaseState.CLOSED}),
    CaseState.POSTED: frozenset({CaseState.CLOSED}),
    CaseState.FORWARDED: frozenset({CaseState.CLOSED}),
}
for _state in CaseState:
    if _state not in FINAL:
        TRANSITIONS[_state] = TRANSITIONS.get(_state, frozenset()) | _ENDINGS
    else:
        TRANSITIONS[_state] = frozenset()

MAX_QUANTITY = 10
REASON_LENGTH = 300


class InvalidTransition(Conflict):
    """The case cannot go to that state from where it is (or a condition is unmet)."""

    code = "invalid_transition"
    message = "Dieser Schritt ist für den Vorgang jetzt nicht möglich."


class Cases:
    """The office's cases, on the appointments' database."""

    def __init__(self, office: Office) -> None:
        self.office = office

    # -- reading -----------------------------------------------------------------------

    async def get(self, case_id: str) -> CaseView:
        async with self.office.sessions() as session:
            case = await session.get(Case, case_id)
            if case is None:
                raise NotFound("Diesen Vorgang gibt es nicht.")
            [view] = await views(session, [case])
            return view

    async def of_appointment(self, appointment_id: str) -> list[CaseView]:
        async with self.office.sessions() as session:
            cases = (
                await session.scalars(
                    select(Case)
                    .where(Case.appointment_id == appointment_id)
                    .order_by(Case.created_at, Case.id)
                )
            ).all()
            return await views(session, cases)

    async def listing(
        self,
        states: Sequence[CaseState] = (),
        older_than: timedelta | None = None,
        limit: int = 200,
    ) -> list[CaseView]:
        """Cases for after-call work: by state, and not changed for ``older_than``."""
        query = select(Case).order_by(Case.updated_at, Case.id).limit(limit)
        if states:
            query = query.where(Case.state.in_([s.value for s in states]))
        if older_than is not None:
            query = query.where(Case.updated_at <= self.office.now() - older_than)
        async with self.office.sessions() as session:
            cases = (await session.scalars(query)).all()
            return await views(session, cases)

    # -- changing ----------------------------------------------------------------------

    async def open(
        self, appointment_id: str, service_id: str, clerk_id: int, quantity: int = 1
    ) -> CaseView:
        """Open a case for a service handled in the appointment's call, with the fee as
        it was when the citizen booked (``Office.service_of``)."""
        async with self.office.sessions() as session:
            appointment = await session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound()
        try:
            service = self.office.service(service_id, appointment.created_at)
        except NotFound:
            raise InvalidInput({"service_id": "Diese Leistung gibt es nicht."}) from None
        if not 1 <= quantity <= MAX_QUANTITY or (quantity > 1 and service.fee_cents == 0):
            raise InvalidInput({"quantity": f"Bitte eine Anzahl von 1 bis {MAX_QUANTITY} angeben."})
        now = self.office.now()
        case = Case(
            id=str(uuid.uuid4()),
            reference=new_reference(),
            appointment_id=appointment_id,
            service_id=service.id,
            quantity=quantity,
            unit_fee_cents=service.fee_cents,
            fee_cents=service.fee_cents * quantity,
            state=CaseState.OPEN.value,
            opened_by=clerk_id,
            created_at=now,
            updated_at=now,
        )
        async with self.office.sessions() as session, session.begin():
            if await session.get(Appointment, appointment_id) is None:
                raise NotFound()
            session.add(case)
            await session.flush()
            _event(session, case, now, audit.staff_actor(clerk_id), quantity=quantity)
            await note_case_state(session, self.office.town, case, None, case.state)
        return await self.get(case.id)

    async def transition(
        self,
        case_id: str,
        to: CaseState,
        actor: str,
        *,
        reason: str | None = None,
        method: PaymentMethod | None = None,
        posted_on: date | None = None,
        bzr_reference: str | None = None,
    ) -> CaseView:
        """Move the case to ``to`` if that is allowed from where it is; else
        :class:`InvalidTransition` (or :class:`InvalidInput` for a missing detail)."""
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > REASON_LENGTH:
            raise InvalidInput({"reason": f"Höchstens {REASON_LENGTH} Zeichen."})
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            case = await _locked(session, case_id)
            current = CaseState(case.state)
            if to not in TRANSITIONS[current]:
                raise InvalidTransition(
                    f"Ein Vorgang im Zustand „{LABELS[current]}“ kann nicht „{LABELS[to]}“ werden."
                )
            detail = await self._check(session, case, to, reason, method, posted_on, bzr_reference)
            case.state = to.value
            case.updated_at = now
            _event(session, case, now, actor, **detail)
            await note_case_state(session, self.office.town, case, current.value, to.value)
            await self._notify(session, case)
        return await self.get(case_id)

    async def _check(
        self,
        session: AsyncSession,
        case: Case,
        to: CaseState,
        reason: str | None,
        method: PaymentMethod | None,
        posted_on: date | None,
        bzr_reference: str | None,
    ) -> dict[str, Any]:
        """The conditions of entering ``to``; applies its details to the case and
        returns what the timeline records (never personal data)."""
        service = self.office.town.service(case.service_id)
        if to in (CaseState.WAIVED, CaseState.CANCELLED, CaseState.FAILED):
            if reason is None:
                raise InvalidInput({"reason": "Bitte einen Grund angeben."})
            case.reason = reason
            return {}
        await self._gates(session, case, to, service)
        if to is CaseState.PAYMENT_PENDING:
            return _payment_requested(case, method)
        if to is CaseState.POSTED:
            return _posted(case, service, posted_on, self._today(), self._day_of(case.created_at))
        if to is CaseState.FORWARDED:
            return _forwarded(case, service, bzr_reference)
        return {}

    def _today(self) -> date:
        return self.office.now().astimezone(self.office.town.tz).date()

    def _day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.office.town.tz).date()

    async def _gates(
        self, session: AsyncSession, case: Case, to: CaseState, service: Service | None
    ) -> None:
        """What must have happened before ``to``: the identity verified (where the
        service needs it), the fee paid or waived, the document sent."""
        current = CaseState(case.state)
        needs_identity = service is None or service.verification_required
        identity_gate = to is CaseState.VERIFIED or (
            current is CaseState.OPEN
            and needs_identity
            and to in (CaseState.PAYMENT_PENDING, CaseState.IN_FULFILMENT)
        )
        if identity_gate and not await _verified(session, case):
            raise InvalidTransition(
                "Für diese Leistung muss zuerst die Identität verifiziert sein."
            )
        unpaid = current in (CaseState.OPEN, CaseState.VERIFIED)
        if to is CaseState.IN_FULFILMENT and unpaid and case.fee_cents != 0:
            raise InvalidTransition("Die Gebühr ist noch nicht bezahlt oder erlassen.")
        sends_nothing = service is not None and service.delivery is Delivery.NONE
        closing_unsent = to is CaseState.CLOSED and current is CaseState.IN_FULFILMENT
        if closing_unsent and not sends_nothing:
            raise InvalidTransition("Das Dokument ist noch nicht versandt.")
        if to is CaseState.PAID and await _paid_cents(session, case.id) < case.fee_cents:
            raise InvalidTransition("Es ist noch nicht der ganze Betrag eingegangen.")

    async def _notify(self, session: AsyncSession, case: Case) -> None:
        """Mail the citizen when the case reached a state they wait for, in the same
        transaction (the outbox sends it after the commit). No more personal data
        than the booking's own: the service, the case reference, the new state."""
        state = CaseState(case.state)
        paypal = state is CaseState.PAYMENT_PENDING and case.payment_method == PaymentMethod.PAYPAL
        if (state not in CITIZEN_STATUS and not paypal) or case.appointment_id is None:
            return  # an invoice by mail or post tells of itself
        appointment = await session.get(Appointment, case.appointment_id)
        if appointment is None or appointment.email is None:
            return  # the appointment's personal data is purged: nobody to tell
        status, note = PAYPAL_STATUS if paypal else CITIZEN_STATUS[state]
        messages = i18n.catalogue(appointment.language)
        service = self.office.town.service(case.service_id)
        self.office.enqueue_mail(
            session,
            MailKind.CASE_STATUS,
            appointment,
            extra={
                "case_reference": case.reference,
                "case_service": service.display_name(appointment.language)
                if service
                else case.service_id,
                "status": messages.gettext(status),
                "status_note": messages.gettext(note) if note else "",
                "status_url": f"{self.office.links(appointment).join}?next=status",
                "message_key": f"{case.id}.{state.value}",
            },
        )

    async def record_payment(
        self, case_id: str, source: str, external_id: str, amount_cents: int, actor: str
    ) -> bool:
        """Book money received for the case; True if it was new. A case waiting for
        payment becomes paid once what was received covers the fee."""
        if amount_cents <= 0:
            raise InvalidInput({"amount_cents": "Der Betrag muss positiv sein."})
        now = self.office.now()
        try:
            async with self.office.sessions() as session, session.begin():
                case = await _locked(session, case_id)
                session.add(
                    Payment(
                        case_id=case.id,
                        source=source,
                        external_id=external_id,
                        amount_cents=amount_cents,
                        received_at=now,
                    )
                )
                await session.flush()  # a duplicate fails here, before anything else
                audit.record(
                    session,
                    now,
                    actor,
                    "case.payment",
                    f"case:{case.id}",
                    source=source,
                    amount_cents=amount_cents,
                )
                town = self.office.town
                await note_case(session, town, case, Kind.PAID, amount=amount_cents)
                paid = await _paid_cents(session, case.id)
                if CaseState(case.state) is CaseState.PAYMENT_PENDING and paid >= case.fee_cents:
                    left, case.state = case.state, CaseState.PAID.value
                    case.updated_at = now
                    await note_case_state(session, town, case, left, case.state)
                    _event(session, case, now, actor, source=source)
                    await self._notify(session, case)
        except IntegrityError:
            return False  # this payment was booked before
        return True


# The states a citizen is mailed about: the status and a note (may be empty), in
# German; the mail translates them into the appointment's language.
CITIZEN_STATUS: dict[CaseState, tuple[str, str]] = {
    CaseState.PAID: (N_("Bezahlt – vielen Dank."), ""),
    CaseState.WAIVED: (N_("Es fällt keine Gebühr an."), ""),
    CaseState.POSTED: (N_("Das Dokument ist per Post an Sie unterwegs."), ""),
    CaseState.FORWARDED: (
        N_("An das Bundesamt für Justiz übermittelt."),
        N_("Das Dokument schickt Ihnen das Bundesamt für Justiz per Post."),
    ),
    CaseState.CANCELLED: (N_("Storniert."), ""),
    CaseState.FAILED: (N_("Leider nicht möglich. Bitte wenden Sie sich an uns."), ""),
}

PAYPAL_STATUS = (N_("Zahlung offen"), N_("Sie können auf der Seite unten mit PayPal bezahlen."))

LABELS: dict[CaseState, str] = {
    CaseState.OPEN: "eröffnet",
    CaseState.VERIFIED: "Identität verifiziert",
    CaseState.PAYMENT_PENDING: "Zahlung offen",
    CaseState.PAID: "bezahlt",
    CaseState.WAIVED: "gebührenfrei gestellt",
    CaseState.IN_FULFILMENT: "in Bearbeitung",
    CaseState.POSTED: "per Post versandt",
    CaseState.FORWARDED: "an das Bundeszentralregister übermittelt",
    CaseState.CLOSED: "abgeschlossen",
    CaseState.CANCELLED: "storniert",
    CaseState.FAILED: "gescheitert",
}


async def _locked(session: AsyncSession, case_id: str) -> Case:
    """The case, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite's
    transactions already hold the database's write lock)."""
    case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise NotFound("Diesen Vorgang gibt es nicht.")
    return case


async def _verified(session: AsyncSession, case: Case) -> bool:
    """Whether the case's appointment has a verified identity check. Read in the
    case's own transaction: on SQLite a second connection would wait for its lock."""
    if case.appointment_id is None:
        return False
    found = await session.scalar(
        select(VerificationRecord.id)
        .where(
            VerificationRecord.appointment_id == case.appointment_id,
            VerificationRecord.outcome == Outcome.VERIFIED,
        )
        .limit(1)
    )
    return found is not None


async def _paid_cents(session: AsyncSession, case_id: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(Payment.case_id == case_id)
    )
    return int(total or 0)


def _event(session: AsyncSession, case: Case, at: datetime, actor: str, **detail: Any) -> None:
    session.add(CaseEvent(case_id=case.id, at=at, state=case.state, actor=actor, detail=detail))
    audit.record(session, at, actor, f"case.{case.state}", f"case:{case.id}", **detail)


def _payment_requested(case: Case, method: PaymentMethod | None) -> dict[str, Any]:
    if case.fee_cents == 0:
        raise InvalidTransition("Für diese Leistung fällt keine Gebühr an.")
    if method is None:
        raise InvalidInput({"method": "Bitte eine Zahlungsart wählen."})
    case.payment_method = method.value
    return {"method": method.value}


def _posted(
    case: Case, service: Service | None, posted_on: date | None, today: date, opened: date
) -> dict[str, Any]:
    if service is not None and service.delivery is not Delivery.TOWN:
        raise InvalidTransition("Dieses Dokument versendet nicht die Stadt.")
    if posted_on is None:
        raise InvalidInput({"posted_on": "Bitte das Datum des Versands angeben."})
    # A day's leeway either way: a clerk's browser may live in another time zone.
    day = timedelta(days=1)
    if not opened - day <= posted_on <= today + day:
        raise InvalidInput(
            {"posted_on": "Bitte ein Datum zwischen der Eröffnung und heute angeben."}
        )
    case.posted_on = posted_on
    return {"posted_on": posted_on.isoformat()}


def _forwarded(case: Case, service: Service | None, bzr_reference: str | None) -> dict[str, Any]:
    if service is not None and service.delivery is not Delivery.BZR:
        raise InvalidTransition("Diese Leistung geht nicht an das Bundeszentralregister.")
    reference = (bzr_reference or "").strip()
    if not reference or len(reference) > 64:
        raise InvalidInput({"bzr_reference": "Bitte das Aktenzeichen der Übermittlung angeben."})
    case.bzr_reference = reference
    return {"bzr_reference": reference}
