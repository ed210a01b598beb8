"""The invoice as an A4 letter (PDF, fpdf2) laid out per DIN 5008 form B.

The sender line and the recipient's address sit in the window of a DL/C5/6 window
envelope: the address field is 45 mm from the top edge and 20 mm from the left edge,
85 x 45 mm (a 17.7 mm zone for the return line and notes above the 27.3 mm address
zone). The information block starts 125 mm from the left, 50 mm from the top; fold
marks at 105 mm and 210 mm, the hole mark at 148.5 mm.

Text is set in DejaVu Sans, vendored in ``office/fonts`` with its licence: fpdf2's
core fonts are Latin-1 only, and a system font is not there in every deployment.
The GiroCode (EPC QR) is drawn as vector squares from segno's matrix, so it stays
sharp at any print resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from office.catalogue import PaymentSettings, Town
from office.epc import girocode
from office.localtime import format_euros
from office.sepa import format_iban

if TYPE_CHECKING:
    from office.invoices import InvoiceView

FONT_DIR = Path(__file__).with_name("fonts")
FONT = "DejaVu"
VAT_NOTE = "Gebühr nach Gebührensatzung; nicht umsatzsteuerbar"
QR_CAPTION = "Bezahlen mit Code: mit Ihrer Banking-App scannen"

# DIN 5008 form B, in millimetres from the top left corner of the sheet.
LEFT = 25.0  # text margin
RIGHT = 20.0
ADDRESS_FIELD = (20.0, 45.0, 85.0, 45.0)  # x, y, width, height (incl. the return line)
RETURN_ZONE_HEIGHT = 17.7
INFO_BLOCK_X = 125.0
INFO_BLOCK_Y = 50.0
BODY_Y = 98.5
FOLD_MARKS = (105.0, 210.0)
HOLE_MARK = 148.5
QR_SIZE = 36.0  # including the quiet zone of four modules


def invoice_pdf(invoice: InvoiceView, town: Town) -> bytes:
    """One invoice, one page."""
    return letters_pdf([invoice], town)


def letters_pdf(invoices: Sequence[InvoiceView], town: Town) -> bytes:
    """One PDF with one letter (page) per invoice, in the given order."""
    payment = town.payment
    if payment is None:
        raise ValueError("the town has no [payment] section")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_creator("Bürgerbüro")
    pdf.set_title("Rechnung" if len(invoices) == 1 else "Rechnungen")
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    for invoice in invoices:
        _letter(pdf, invoice, payment)
    return bytes(pdf.output())


def _day(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _letter(pdf: FPDF, invoice: InvoiceView, payment: PaymentSettings) -> None:
    pdf.add_page()
    width = 210.0 - LEFT - RIGHT
    _marks(pdf)
    _letterhead(pdf, payment)
    _address_field(pdf, invoice, payment)
    _information_block(pdf, invoice, payment)

    pdf.set_xy(LEFT, BODY_Y)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(width, 6, f"Rechnung {invoice.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if payment.is_sample:
        pdf.set_text_color(200, 0, 0)
        pdf.set_x(LEFT)
        pdf.cell(width, 6, "MUSTER – Bankverbindung ist ein Beispiel, nicht überweisen")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(6)
    pdf.ln(3)
    pdf.set_font(FONT, "", 10)
    pdf.set_x(LEFT)
    pdf.multi_cell(width, 5, f"Guten Tag,\n\n{payment.invoice_text}", align=Align.L)
    pdf.ln(4)
    _table(pdf, invoice, width)
    pdf.ln(5)

    top = pdf.get_y()
    text_width = width - QR_SIZE - 8
    pdf.set_x(LEFT)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(
        text_width,
        5,
        f"Bitte überweisen Sie {format_euros(invoice.amount_cents)} "
        f"bis zum {_day(invoice.due_on)}.",
    )
    pdf.set_font(FONT, "", 10)
    pdf.ln(1)
    for label, value in (
        ("Empfänger", payment.creditor_name),
        ("IBAN", format_iban(payment.iban)),
        ("BIC", payment.bic),
        ("Bank", payment.bank_name),
        ("Zahlungsreferenz", invoice.payment_reference),
    ):
        pdf.set_x(LEFT)
        pdf.cell(36, 5, f"{label}:")
        pdf.cell(text_width - 36, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(LEFT)
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(
        text_width,
        4,
        "Bitte geben Sie als Verwendungszweck nur die Zahlungsreferenz an, "
        "damit wir Ihre Zahlung sicher zuordnen können.",
        align=Align.L,
    )
    _girocode(pdf, invoice, payment, LEFT + width - QR_SIZE, top)
    _footer(pdf, payment)


def _marks(pdf: FPDF) -> None:
    pdf.set_line_width(0.2)
    for y in FOLD_MARKS:
        pdf.line(4, y, 9, y)
    pdf.line(4, HOLE_MARK, 11, HOLE_MARK)


def _letterhead(pdf: FPDF, payment: PaymentSettings) -> None:
    pdf.set_xy(LEFT, 15)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(100, 8, payment.address[0])
    pdf.set_font(FONT, "", 8)
    contact = [*payment.address[1:]]
    contact += [f"Telefon {payment.phone}"] if payment.phone else []
    contact += [payment.web] if payment.web else []
    contact += [payment.tax_note] if payment.tax_note else []
    pdf.set_xy(INFO_BLOCK_X, 12)
    for line in contact:
        pdf.set_x(INFO_BLOCK_X)
        pdf.cell(65, 3.8, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _address_field(pdf: FPDF, invoice: InvoiceView, payment: PaymentSettings) -> None:
    x, y, width, _ = ADDRESS_FIELD
    inner = x + 5  # the text keeps 5 mm from the window's edge
    pdf.set_xy(inner, y + RETURN_ZONE_HEIGHT - 5)
    pdf.set_font(FONT, "", 7)
    pdf.cell(width - 5, 4, " · ".join(payment.address), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_xy(inner, y + RETURN_ZONE_HEIGHT)
    pdf.set_font(FONT, "", 10)
    for line in (invoice.recipient_name, *invoice.recipient_address):
        pdf.set_x(inner)
        pdf.cell(width - 5, 4.23, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _information_block(pdf: FPDF, invoice: InvoiceView, payment: PaymentSettings) -> None:
    pdf.set_xy(INFO_BLOCK_X, INFO_BLOCK_Y)
    pdf.set_font(FONT, "", 9)
    rows = [
        ("Rechnungsnummer", invoice.number),
        ("Rechnungsdatum", _day(invoice.issued_on)),
        ("Zahlungsreferenz", invoice.payment_reference),
        ("Vorgang", invoice.case_reference),
        ("Fällig bis", _day(invoice.due_on)),
    ]
    if payment.phone:
        rows.append(("Telefon", payment.phone))
    for label, value in rows:
        pdf.set_x(INFO_BLOCK_X)
        pdf.cell(34, 4.5, f"{label}:")
        pdf.cell(41, 4.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, invoice: InvoiceView, width: float) -> None:
    columns = (width - 75, 20.0, 27.0, 28.0)
    pdf.set_font(FONT, "B", 9)
    pdf.set_fill_color(235, 235, 235)
    pdf.set_x(LEFT)
    for text, column, align in zip(
        ("Leistung", "Anzahl", "Einzelpreis", "Betrag"),
        columns,
        (Align.L, Align.R, Align.R, Align.R),
        strict=True,
    ):
        pdf.cell(column, 6, text, border="B", align=align, fill=True)
    pdf.ln(6)
    pdf.set_font(FONT, "", 9)
    pdf.set_x(LEFT)
    pdf.cell(columns[0], 6, invoice.service_name)
    pdf.cell(columns[1], 6, str(invoice.quantity), align=Align.R)
    pdf.cell(columns[2], 6, format_euros(invoice.unit_fee_cents), align=Align.R)
    pdf.cell(columns[3], 6, format_euros(invoice.amount_cents), align=Align.R)
    pdf.ln(5)
    pdf.set_x(LEFT)
    pdf.set_font(FONT, "", 8)
    pdf.cell(columns[0], 5, VAT_NOTE, border="B")
    pdf.cell(sum(columns[1:]), 5, "", border="B")
    pdf.ln(5)
    pdf.set_x(LEFT)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(sum(columns[:3]), 7, "Gesamtbetrag", align=Align.R)
    pdf.cell(columns[3], 7, format_euros(invoice.amount_cents), align=Align.R)
    pdf.ln(7)


def _girocode(
    pdf: FPDF, invoice: InvoiceView, payment: PaymentSettings, x: float, y: float
) -> None:
    code = girocode(payment, invoice.payment_reference, invoice.amount_cents)
    border = 4
    modules = code.symbol_size(scale=1, border=border)[0]
    size = QR_SIZE / modules
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(code.matrix):
        top = y + (row_index + border) * size
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # A hair wider than the run: no white seams between adjacent rectangles.
            pdf.rect(x + (start + border) * size, top, (column - start) * size, size + 0.01, "F")
    pdf.set_xy(x - 2, y + QR_SIZE)
    pdf.set_font(FONT, "", 7)
    pdf.multi_cell(QR_SIZE + 4, 3.2, QR_CAPTION, align=Align.C)


def _footer(pdf: FPDF, payment: PaymentSettings) -> None:
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(80, 80, 80)
    lines = [
        " · ".join(
            part for part in (", ".join(payment.address), payment.phone, payment.web) if part
        ),
        f"{payment.bank_name} · IBAN {format_iban(payment.iban)} · BIC {payment.bic}",
    ]
    if payment.tax_note:
        lines.append(payment.tax_note)
    pdf.set_xy(LEFT, 297 - 12 - 3.5 * len(lines))
    for line in lines:
        pdf.set_x(LEFT)
        pdf.cell(210 - LEFT - RIGHT, 3.5, line, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
