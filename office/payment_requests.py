"""What requesting a payment sets off, by the method chosen with the citizen: an
invoice mailed as a PDF or queued for the post, or a PayPal order whose approval
link the citizen is shown at once. Hooks for ``CaseActions.payment_requested``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from office.appointments import Appointments
from office.case_actions import CaseCommand, PaymentRequested
from office.case_views import CaseView, PaymentMethod
from office.errors import Conflict
from office.invoices import InvoiceDelivery, InvoiceExists, Invoices
from office.paypal_payments import PaypalPayments

DELIVERY = {
    PaymentMethod.INVOICE_EMAIL: InvoiceDelivery.EMAIL,
    PaymentMethod.INVOICE_POST: InvoiceDelivery.POST,
}
# Shows the citizen of an appointment PayPal's approval link for a case (in the call).
ShowPaymentLink = Callable[[str, CaseView, str], Awaitable[None]]


def send_invoice(invoices: Invoices, appointments: Appointments) -> PaymentRequested:
    async def then(case: CaseView, clerk_id: int, command: CaseCommand) -> dict[str, Any]:
        method = case.payment_method
        if method not in DELIVERY:
            return {}
        if case.appointment_id is None:
            raise Conflict("Zu diesem Vorgang gibt es keine Termindaten mehr.")
        appointment = await appointments.get(case.appointment_id)
        try:
            issued = await invoices.issue(
                case.id,
                DELIVERY[method],
                appointment.name or "",
                command.address,
                appointment.email,
                f"clerk:{clerk_id}",
            )
        except InvoiceExists:
            existing = await invoices.invoice_of(case.id)
            return {"invoice_number": existing.number if existing else None}
        return {"invoice_number": issued.number}

    return then


def offer_paypal(paypal: PaypalPayments, show: ShowPaymentLink) -> PaymentRequested:
    """The PayPal order for the open amount; its approval link goes to the citizen's
    page in the call at once (the mail points to the status page, which has it too)."""

    async def then(case: CaseView, clerk_id: int, command: CaseCommand) -> dict[str, Any]:
        if case.payment_method is not PaymentMethod.PAYPAL or case.appointment_id is None:
            return {}
        approve_url = await paypal.start(case.id, f"clerk:{clerk_id}")
        await show(case.appointment_id, case, approve_url)
        return {"approve_url": approve_url}

    return then
