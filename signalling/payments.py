"""What requesting a payment sets off, by the method chosen with the citizen: an
invoice mailed as a PDF or queued for the post (and PayPal, when configured)."""

from __future__ import annotations

from typing import Any

from media.vault import CaptureVault
from office.appointments import Appointments
from office.cases import FINAL, Cases, CaseView, PaymentMethod
from office.errors import Conflict
from office.invoices import InvoiceDelivery, InvoiceExists, Invoices
from office.paypal_payments import PaypalPayments
from office.verification import Verifications
from signalling.case_actions import Action, CaseEnded, PaymentRequested
from signalling.realtime.lobby import CITIZEN_NS, Lobby, citizen_room

DELIVERY = {
    PaymentMethod.INVOICE_EMAIL: InvoiceDelivery.EMAIL,
    PaymentMethod.INVOICE_POST: InvoiceDelivery.POST,
}


def send_invoice(invoices: Invoices, desk: Appointments) -> PaymentRequested:
    async def then(case: CaseView, clerk_id: int, action: Action) -> dict[str, Any]:
        method = case.payment_method
        if method not in DELIVERY:
            return {}
        if case.appointment_id is None:
            raise Conflict("Zu diesem Vorgang gibt es keine Termindaten mehr.")
        appointment = await desk.get(case.appointment_id)
        try:
            issued = await invoices.issue(
                case.id,
                DELIVERY[method],
                appointment.name or "",
                action.address,
                appointment.email,
                f"clerk:{clerk_id}",
            )
        except InvoiceExists:
            existing = await invoices.invoice_of(case.id)
            return {"invoice_number": existing.number if existing else None}
        return {"invoice_number": issued.number}

    return then


def offer_paypal(paypal: PaypalPayments, lobby: Lobby) -> PaymentRequested:
    """The PayPal order for the open amount; its approval link goes to the citizen's
    page in the call at once (the mail points to the status page, which has it too)."""

    async def then(case: CaseView, clerk_id: int, action: Action) -> dict[str, Any]:
        if case.payment_method is not PaymentMethod.PAYPAL or case.appointment_id is None:
            return {}
        approve_url = await paypal.start(case.id, f"clerk:{clerk_id}")
        await lobby.sio.emit(
            "case_payment_link",
            {"case_id": case.id, "reference": case.reference, "url": approve_url},
            to=citizen_room(case.appointment_id),
            namespace=CITIZEN_NS,
        )
        return {"approve_url": approve_url}

    return then


def forget_captures(cases: Cases, checks: Verifications, vault: CaptureVault) -> CaseEnded:
    """Once every case of the appointment has ended, its ID captures go at once
    (PAuswG §20: copies only as long as needed), not only at the retention period."""

    async def then(case: CaseView) -> None:
        if case.appointment_id is None:
            return
        siblings = await cases.of_appointment(case.appointment_id)
        if any(other.state not in FINAL for other in siblings):
            return
        for verification_id in await checks.of_appointment(case.appointment_id):
            await vault.delete_for(verification_id)

    return then
