"""Invoices: gapless numbers per year under concurrency, the PDF and its GiroCode read
back from the rendered page, the mail with the PDF through a real SMTP server, the
print batch, and the town's bank details checked at load time. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pypdfium2
import pytest
from aiohttp.test_utils import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from office.appointments import Appointments
from office.case_views import CaseView, PaymentMethod
from office.cases import Cases, CaseState
from office.catalogue import TownConfigError, load_town
from office.epc import CreditTransfer, format_amount, parse_payload
from office.errors import InvalidInput
from office.invoice_pdf import QR_CAPTION, VAT_NOTE
from office.invoices import (
    InvoiceDelivery,
    InvoiceExists,
    Invoices,
    NotInvoiceable,
    payment_reference,
)
from office.models import AuditEntry, Invoice, InvoiceCounter, OutboxMail
from office.sepa import check_iban, creditor_reference, is_creditor_reference
from tests.helpers.booking import book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.mail import SmtpServer, body, deliver_mail
from tests.helpers.towns import VALID

CLERK = "clerk:1"
EMAIL = "erika@example.org"  # the booking's address (tests.realtime.book_at)
ADDRESS = ("Heidestraße 17", "51147 Köln")
IBAN = "DE02120300000000202051"
POST = InvoiceDelivery.POST
BY_MAIL = InvoiceDelivery.EMAIL


@pytest.fixture
def cases(desk: Appointments) -> Cases:
    return Cases(desk.office)


@pytest.fixture
def invoices(desk: Appointments) -> Invoices:
    return Invoices(desk.office)


@pytest.fixture
async def appointment_id(desk: Appointments, clerk: int, clock: Clock) -> str:
    booked = await book_at(desk, SLOT)
    await verify(desk, booked.id)
    clock.set(SLOT)
    return booked.id


async def pending(
    cases: Cases,
    appointment_id: str,
    clerk: int,
    method: PaymentMethod = PaymentMethod.INVOICE_POST,
    quantity: int = 1,
) -> CaseView:
    case = await cases.open(appointment_id, "meldebescheinigung", clerk, quantity=quantity)
    return await cases.transition(case.id, CaseState.PAYMENT_PENDING, CLERK, method=method)


async def issue(invoices: Invoices, case: CaseView, delivery: InvoiceDelivery = POST) -> Any:
    email = EMAIL if delivery is BY_MAIL else None
    return await invoices.issue(case.id, delivery, "Erika Mustermann", ADDRESS, email, CLERK)


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def girocode(pdf: bytes, page: int = 0) -> str:
    """The QR code on a page, as a phone would see it: rendered at 200 dpi, decoded."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = document[page].render(scale=200 / 72)
        image = np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
    finally:
        document.close()
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert points is not None and text, "no readable QR code on the page"
    return str(text)


async def count(desk: Appointments, table: Any) -> int:
    async with desk.office.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


# -- issuing --------------------------------------------------------------------------


async def test_the_invoice_pdf_carries_what_the_payer_needs(
    invoices: Invoices, cases: Cases, desk: Appointments, appointment_id: str, clerk: int
) -> None:
    case = await pending(cases, appointment_id, clerk, quantity=2)
    invoice = await issue(invoices, case)
    assert invoice.number == "2026-000001"
    assert invoice.payment_reference == creditor_reference("2026000001")
    assert is_creditor_reference(invoice.payment_reference)
    assert (invoice.issued_on, invoice.due_on) == (date(2026, 6, 1), date(2026, 6, 15))
    assert invoice.amount_cents == 2000 == case.fee_cents

    [text] = pdf_text(await invoices.document(case.id, CLERK))
    for expected in (
        "Rechnung 2026-000001", "Erika Mustermann", "Heidestraße 17", "51147 Köln",
        "Meldebescheinigung 2 10,00 € 20,00 €", "Gesamtbetrag 20,00 €",
        "DE02 1203 0000 0000 2020 51", "BYLADEM1001", invoice.payment_reference,
        f"Vorgang: {case.reference}", "Fällig bis: 15.06.2026", "Rechnungsdatum: 01.06.2026",
        VAT_NOTE, "MUSTER",
    ):  # fmt: skip
        assert expected in text, expected
    assert " ".join(QR_CAPTION.split()) in " ".join(text.split())

    # Issuing leaves the case where it is; the status page reads the invoice.
    after = await cases.get(case.id)
    assert after.state is CaseState.PAYMENT_PENDING and after.events == case.events
    assert await invoices.invoice_of(case.id) == invoice
    other = await pending(cases, appointment_id, clerk)
    assert await invoices.invoice_of(other.id) is None
    async with desk.office.sessions() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "invoice.issued")
        )
    assert entry is not None and entry.subject == f"case:{case.id}"
    assert entry.detail == {"number": "2026-000001", "amount_cents": 2000, "delivery": "post"}


async def test_the_address_sits_in_the_envelope_window(
    invoices: Invoices, cases: Cases, appointment_id: str, clerk: int
) -> None:
    case = await pending(cases, appointment_id, clerk)
    await issue(invoices, case)
    page = PdfReader(io.BytesIO(await invoices.document(case.id, CLERK))).pages[0]
    found: dict[str, tuple[float, float]] = {}

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.setdefault(text.strip(), (x * 25.4 / 72, 297 - y * 25.4 / 72))

    page.extract_text(visitor_text=visit)
    for line in ("Erika Mustermann", *ADDRESS):
        x, from_top = found[line]
        # DIN 5008 form B: the field is 20..105 mm from the left, 45..90 mm from the top.
        assert 20 <= x <= 105 and 45 + 17.7 <= from_top <= 90, (line, x, from_top)
    sender = next(text for text in found if text.startswith("Stadt Ostfildern · Stadtkasse"))
    assert 45 <= found[sender][1] <= 45 + 17.7  # the return line, above the address


async def test_the_girocode_read_from_the_page_is_the_exact_transfer(
    invoices: Invoices, cases: Cases, appointment_id: str, clerk: int
) -> None:
    case = await pending(cases, appointment_id, clerk, quantity=3)
    invoice = await issue(invoices, case)
    scanned = girocode(await invoices.document(case.id, CLERK))
    assert parse_payload(scanned) == {
        "service_tag": "BCD", "version": "002", "character_set": "1", "identification": "SCT",
        "bic": "BYLADEM1001", "name": "Stadt Ostfildern", "iban": IBAN, "amount": "EUR30.00",
        "purpose": "", "reference": invoice.payment_reference, "text": "", "information": "",
    }  # fmt: skip
    assert (
        scanned
        == CreditTransfer(
            "Stadt Ostfildern", IBAN, "BYLADEM1001", 3000, invoice.payment_reference
        ).payload()
    )


async def test_twenty_concurrent_invoices_get_numbers_1_to_20(
    invoices: Invoices, cases: Cases, desk: Appointments, appointment_id: str, clerk: int
) -> None:
    methods = [PaymentMethod.INVOICE_POST, PaymentMethod.INVOICE_EMAIL]
    opened = [await pending(cases, appointment_id, clerk, methods[i % 2]) for i in range(20)]
    issued = await asyncio.gather(
        *(issue(invoices, case, POST if i % 2 == 0 else BY_MAIL) for i, case in enumerate(opened))
    )
    assert sorted(int(i.number.split("-")[1]) for i in issued) == list(range(1, 21))
    assert len({i.payment_reference for i in issued}) == 20
    assert {i.case_id for i in issued} == {c.id for c in opened}
    async with desk.office.sessions() as session:
        counter = await session.get(InvoiceCounter, 2026)
        sequences = (
            await session.scalars(select(Invoice.sequence).order_by(Invoice.sequence))
        ).all()
    assert counter is not None and counter.last_number == 20
    assert list(sequences) == list(range(1, 21))
    assert await count(desk, OutboxMail) == 1 + 10  # the booking's confirmation, ten invoices


async def test_numbers_start_again_at_1_in_the_town_s_new_year(
    invoices: Invoices, cases: Cases, clock: Clock, appointment_id: str, clerk: int
) -> None:
    clock.set(datetime(2026, 12, 31, 22, 30, tzinfo=UTC))  # 23:30 in Ostfildern
    first = [await issue(invoices, await pending(cases, appointment_id, clerk)) for _ in range(2)]
    assert [i.number for i in first] == ["2026-000001", "2026-000002"]
    assert first[0].issued_on == date(2026, 12, 31)
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # still 2026 in UTC, 2027 locally
    new_year = [
        await issue(invoices, await pending(cases, appointment_id, clerk)) for _ in range(2)
    ]
    assert [i.number for i in new_year] == ["2027-000001", "2027-000002"]
    assert new_year[0].issued_on == date(2027, 1, 1) and new_year[0].due_on == date(2027, 1, 15)
    assert new_year[0].payment_reference == payment_reference(2027, 1)


async def test_a_second_invoice_for_a_case_is_refused_and_changes_nothing(
    invoices: Invoices, cases: Cases, desk: Appointments, appointment_id: str, clerk: int
) -> None:
    case = await pending(cases, appointment_id, clerk, PaymentMethod.INVOICE_EMAIL)
    first = await issue(invoices, case, BY_MAIL)
    before = [await count(desk, t) for t in (Invoice, OutboxMail, AuditEntry)]
    with pytest.raises(InvoiceExists):
        await issue(invoices, case, BY_MAIL)
    assert [await count(desk, t) for t in (Invoice, OutboxMail, AuditEntry)] == before
    assert await invoices.invoice_of(case.id) == first
    async with desk.office.sessions() as session:
        counter = await session.get(InvoiceCounter, 2026)
    assert counter is not None and counter.last_number == 1


async def test_only_a_case_waiting_for_payment_by_invoice_gets_one(
    invoices: Invoices, cases: Cases, desk: Appointments, appointment_id: str, clerk: int
) -> None:
    still_open = await cases.open(appointment_id, "meldebescheinigung", clerk)
    with pytest.raises(NotInvoiceable, match="wartet"):
        await issue(invoices, still_open)
    paypal = await pending(cases, appointment_id, clerk, PaymentMethod.PAYPAL)
    with pytest.raises(NotInvoiceable, match="Rechnung gewählt"):
        await issue(invoices, paypal)
    by_post = await pending(cases, appointment_id, clerk, PaymentMethod.INVOICE_POST)
    with pytest.raises(InvalidInput) as mismatch:
        await issue(invoices, by_post, BY_MAIL)
    assert set(mismatch.value.fields) == {"delivery"}
    with pytest.raises(InvalidInput) as no_address:
        await invoices.issue(by_post.id, POST, "Erika Mustermann", ["Köln"], None, CLERK)
    assert set(no_address.value.fields) == {"recipient_address"}
    assert await count(desk, Invoice) == 0 and await count(desk, InvoiceCounter) == 0
    # Nothing refused used up a number.
    assert (await issue(invoices, by_post)).number == "2026-000001"


async def test_the_invoice_mail_arrives_with_the_pdf(
    invoices: Invoices,
    cases: Cases,
    client: TestClient[Any, Any],
    smtp: SmtpServer,
    appointment_id: str,
    clerk: int,
) -> None:
    case = await pending(cases, appointment_id, clerk, PaymentMethod.INVOICE_EMAIL)
    invoice = await issue(invoices, case, BY_MAIL)
    elsewhere = await pending(cases, appointment_id, clerk, PaymentMethod.INVOICE_EMAIL)
    await invoices.issue(
        elsewhere.id, BY_MAIL, "Firma Muster GmbH", (), "buchhaltung@muster.example", CLERK
    )
    await deliver_mail(client)

    [mail] = [m for m in smtp.inbox.to(EMAIL) if "Rechnung" in str(m["Subject"])]
    assert str(mail["Subject"]) == f"Ihre Rechnung 2026-000001 zum Vorgang {case.reference}"
    text = body(mail)
    for expected in (case.reference, "10,00 €", "15.06.2026", invoice.payment_reference):
        assert expected in text, expected
    assert "https://termine.test/t/" in text  # the personal link to the status page
    assert "Heidestraße" not in text and "Köln" not in text  # no postal address in a mail
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Rechnung-2026-000001.pdf"
    pdf = attachment.get_content()
    assert "Rechnung 2026-000001" in pdf_text(pdf)[0]
    assert parse_payload(girocode(pdf))["reference"] == invoice.payment_reference

    # A different mailbox gets the invoice but never the link that opens the appointment.
    [other] = smtp.inbox.to("buchhaltung@muster.example")
    assert "2026-000002" in str(other["Subject"]) and "/t/" not in body(other)


async def test_the_print_batch_holds_exactly_the_unprinted_post_invoices(
    invoices: Invoices, cases: Cases, clock: Clock, appointment_id: str, clerk: int
) -> None:
    posted = [await issue(invoices, await pending(cases, appointment_id, clerk)) for _ in range(3)]
    mailed = await issue(
        invoices, await pending(cases, appointment_id, clerk, PaymentMethod.INVOICE_EMAIL), BY_MAIL
    )
    clock.advance(hours=1)
    batch = await invoices.print_batch(CLERK)
    assert batch.numbers == tuple(i.number for i in posted)
    assert batch.pdf is not None
    pages = pdf_text(batch.pdf)
    assert len(pages) == 3
    for page, invoice in zip(pages, posted, strict=True):
        assert f"Rechnung {invoice.number}" in page and mailed.number not in page
    assert parse_payload(girocode(batch.pdf, page=2))["reference"] == posted[2].payment_reference
    for invoice in posted:
        printed = await invoices.invoice_of(invoice.case_id)
        assert printed is not None and printed.printed_at == clock()
    assert (await invoices.invoice_of(mailed.case_id)).printed_at is None  # type: ignore[union-attr]

    empty = await invoices.print_batch(CLERK)
    assert empty.invoices == () and empty.pdf is None
    later = await issue(invoices, await pending(cases, appointment_id, clerk))
    assert (await invoices.print_batch(CLERK)).numbers == (later.number,)


# -- the town's bank details and the GiroCode payload ---------------------------------

PAYMENT = """
[payment]
creditor_name = "Musterstadt"
iban = "{iban}"
bic = "{bic}"
bank_name = "Musterbank"
address = ["Musterstadt", "Rathausplatz 1", "12345 Musterstadt"]
invoice_text = "Wir berechnen Ihnen die folgende Gebühr."
"""


def town_file(tmp_path: Path, iban: str = IBAN, bic: str = "BYLADEM1001") -> Path:
    path = tmp_path / "town.toml"
    path.write_text(VALID + PAYMENT.format(iban=iban, bic=bic), "utf-8")
    return path


def test_the_bank_details_are_checked_when_the_town_file_is_loaded(tmp_path: Path) -> None:
    town = load_town(town_file(tmp_path, iban="de02 1203 0000 0000 2020 51"))
    assert town.payment is not None and town.payment.iban == IBAN
    assert town.payment.due_days == 14 and town.payment.is_sample is False
    with pytest.raises(TownConfigError, match=r"payment\.iban: .*checksum \(mod 97\)"):
        load_town(town_file(tmp_path, iban="DE03120300000000202051"))
    with pytest.raises(TownConfigError, match=r"payment\.iban: .*needs 22"):
        load_town(town_file(tmp_path, iban="DE0212030000000020205"))
    with pytest.raises(TownConfigError, match=r"payment\.bic: .*malformed"):
        load_town(town_file(tmp_path, bic="BYLA1DEM"))
    with pytest.raises(TownConfigError, match=r"payment\.bic: "):
        load_town(town_file(tmp_path, bic="BYLADEM10"))


def test_the_shipped_bank_details_are_a_marked_sample() -> None:
    payment = load_town().payment
    assert payment is not None and payment.is_sample
    assert payment.iban == check_iban(IBAN) and "SAMPLE" in payment.bank_name


def test_creditor_references_follow_iso_11649() -> None:
    assert creditor_reference("539007547034") == "RF18539007547034"  # the standard's example
    assert is_creditor_reference("RF18 5390 0754 7034")
    assert not is_creditor_reference("RF19539007547034")
    with pytest.raises(ValueError):
        creditor_reference("A" * 22)


def test_epc_amounts_are_integer_cents_within_the_limits() -> None:
    assert format_amount(1) == "EUR0.01"
    assert format_amount(1234) == "EUR12.34"
    assert format_amount(99_999_999_999) == "EUR999999999.99"
    for wrong in (0, -5, 100_000_000_000):
        with pytest.raises(ValueError):
            format_amount(wrong)
    with pytest.raises(TypeError):
        format_amount(12.34)  # type: ignore[arg-type]
    reference = creditor_reference("2026000001")
    with pytest.raises(ValueError, match="name"):
        CreditTransfer("x" * 71, IBAN, "BYLADEM1001", 100, reference)
    with pytest.raises(ValueError, match="creditor reference"):
        CreditTransfer("Stadt", IBAN, "BYLADEM1001", 100, "Rechnung 2026-000001")
    with pytest.raises(ValueError, match="checksum"):
        CreditTransfer("Stadt", "DE03120300000000202051", "BYLADEM1001", 100, reference)
