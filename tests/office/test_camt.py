"""Bank reconciliation from camt.053 statements (.001.02 and .001.08): matching by RF
reference or invoice number only, partial and unmatched entries for a clerk, safe
parsing, idempotent re-import, and the staff page; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.bank_entries import EntryStatus, Reason
from office.camt import StatementInvalid, parse_statement
from office.case_views import CaseView, PaymentMethod
from office.cases import Cases, CaseState
from office.errors import Conflict, InvalidInput
from office.models import Appointment, AuditEntry, BankEntry, Invoice, Payment, Role
from office.reconciliation import Reconciliation
from office.remittance import rf_candidates
from office.sepa import creditor_reference, is_creditor_reference
from office.staff import Staff
from signalling.keys import RECONCILIATION
from tests.helpers.booking import book_at, citizen_cookie, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.pages import csrf_of

CLERK = "clerk:1"
ADMIN = "clerk:2"
FEE = 1000  # meldebescheinigung


# -- building statements ---------------------------------------------------------------


@dataclass
class Tx:
    amount: str | None = None  # only in batches: each transaction's own amount
    ref: str | None = None  # RmtInf/Strd/CdtrRefInf/Ref
    text: tuple[str, ...] = ()  # RmtInf/Ustrd lines
    debtor: str | None = None


@dataclass
class Entry:
    amount: str
    ref: str | None = None  # AcctSvcrRef
    ntry_ref: str | None = None
    currency: str = "EUR"
    credit: bool = True
    booked: bool = True
    txs: list[Tx] = field(default_factory=list)


def camt053(entries: list[Entry], version: str = "08", statement_id: str = "STMT-2026-06") -> bytes:
    """A camt.053.001.<version> document with these entries (02 and 08 differ in the
    status element and the debtor's party wrapper)."""
    new = int(version) >= 6

    def status(booked: bool) -> str:
        code = "BOOK" if booked else "PDNG"
        return f"<Sts><Cd>{code}</Cd></Sts>" if new else f"<Sts>{code}</Sts>"

    def tx_xml(tx: Tx) -> str:
        parts = ["<TxDtls>"]
        if tx.amount is not None:
            parts.append(f'<AmtDtls><TxAmt><Amt Ccy="EUR">{tx.amount}</Amt></TxAmt></AmtDtls>')
        if tx.debtor is not None:
            name = f"<Nm>{escape(tx.debtor)}</Nm>"
            parts.append(
                f"<RltdPties><Dbtr>{f'<Pty>{name}</Pty>' if new else name}</Dbtr></RltdPties>"
            )
        if tx.ref is not None or tx.text:
            parts.append("<RmtInf>")
            parts.extend(f"<Ustrd>{escape(line)}</Ustrd>" for line in tx.text)
            if tx.ref is not None:
                parts.append(
                    "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                    f"<Ref>{escape(tx.ref)}</Ref></CdtrRefInf></Strd>"
                )
            parts.append("</RmtInf>")
        parts.append("</TxDtls>")
        return "".join(parts)

    body = []
    for entry in entries:
        refs = ""
        if entry.ntry_ref:
            refs += f"<NtryRef>{entry.ntry_ref}</NtryRef>"
        body.append(
            f'<Ntry>{refs}<Amt Ccy="{entry.currency}">{entry.amount}</Amt>'
            f"<CdtDbtInd>{'CRDT' if entry.credit else 'DBIT'}</CdtDbtInd>{status(entry.booked)}"
            "<BookgDt><Dt>2026-06-03</Dt></BookgDt><ValDt><Dt>2026-06-03</Dt></ValDt>"
            + (f"<AcctSvcrRef>{entry.ref}</AcctSvcrRef>" if entry.ref else "")
            + "<BkTxCd/>"
            + (
                f"<NtryDtls>{''.join(tx_xml(tx) for tx in entry.txs)}</NtryDtls>"
                if entry.txs
                else ""
            )
            + "</Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-06-04T06:00:00</CreDtTm>"
        f"</GrpHdr><Stmt><Id>{statement_id}</Id><CreDtTm>2026-06-04T06:00:00</CreDtTm>"
        "<Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>"
        + "".join(body)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


# -- cases with invoices -----------------------------------------------------------------


@pytest.fixture
def cases(desk: Appointments) -> Cases:
    return Cases(desk.office)


@pytest.fixture
def reconciliation(client: TestClient[Any, Any]) -> Reconciliation:
    found: Reconciliation = client.app[RECONCILIATION]
    return found


@pytest.fixture
async def appointment(desk: Appointments, clerk: int, clock: Clock) -> Appointment:
    booked = await book_at(desk, SLOT)
    clock.set(SLOT)
    await verify(desk, booked.id)
    return booked


@dataclass(frozen=True)
class Invoiced:
    case_id: str
    number: str  # "2026-000042"
    rf: str  # "RF…", compact


async def invoiced(
    desk: Appointments, cases: Cases, appointment: Appointment, clerk: int, sequence: int
) -> Invoiced:
    """A case waiting for payment with an invoice row (as office/invoices.py issues)."""
    case = await cases.open(appointment.id, "meldebescheinigung", clerk)
    await cases.transition(
        case.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.INVOICE_EMAIL
    )
    number, rf = f"2026-{sequence:06d}", creditor_reference(f"2026{sequence:06d}")
    async with desk.office.sessions() as session, session.begin():
        session.add(
            Invoice(
                id=str(uuid.uuid4()),
                case_id=case.id,
                year=2026,
                sequence=sequence,
                number=number,
                payment_reference=rf,
                amount_cents=case.fee_cents,
                issued_on=date(2026, 6, 1),
                due_on=date(2026, 6, 15),
                delivery="email",
                recipient_name="Erika Mustermann",
                recipient_address=[],
                recipient_email="erika@example.org",
                created_at=desk.office.now(),
            )
        )
    return Invoiced(case.id, number, rf)


def spaced(rf: str) -> str:
    """As a payer types it: lower case, in groups of four."""
    return " ".join(rf[i : i + 4] for i in range(0, len(rf), 4)).lower()


def wrong_check_digits(rf: str) -> str:
    wrong = f"RF{(int(rf[2:4]) + 1) % 100:02d}{rf[4:]}"
    assert not is_creditor_reference(wrong)
    return wrong


async def count(desk: Appointments, model: type[Any]) -> int:
    async with desk.office.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def state(cases: Cases, case_id: str) -> tuple[CaseState, int]:
    view: CaseView = await cases.get(case_id)
    return view.state, view.paid_cents


# -- references ---------------------------------------------------------------------------


def test_rf_references_are_found_tolerantly_and_checked() -> None:
    rf = creditor_reference("2026000042")
    assert is_creditor_reference(rf) and is_creditor_reference(spaced(rf))
    assert rf_candidates(f"Rechnung {spaced(rf)}, danke") == (True, {rf})
    assert rf_candidates(f"Ref:{rf}.") == (True, {rf})
    assert rf_candidates(f"Rechnung {wrong_check_digits(rf)}") == (True, set())
    assert rf_candidates("Rechnung 2026-000042 RFID-Karte") == (False, set())


# -- the import ---------------------------------------------------------------------------


async def test_a_statement_is_matched_booked_listed_and_imported_only_once(
    desk: Appointments,
    cases: Cases,
    reconciliation: Reconciliation,
    appointment: Appointment,
    clerk: int,
) -> None:
    a, b, c, e, f, g, h = [await invoiced(desk, cases, appointment, clerk, n) for n in range(1, 8)]
    unknown = creditor_reference("2026999999")
    statement = camt053(
        [
            Entry("10.00", "E-A", txs=[Tx(ref=a.rf, debtor="Erika Mustermann")]),
            Entry("4.00", "E-B", txs=[Tx(text=("Gebuehr", f"Ref {spaced(b.rf)}"))]),
            Entry("15.00", "E-C", txs=[Tx(text=(f"Rechnung {c.number}",))]),
            Entry("10.00", "E-D", txs=[Tx(ref=unknown)]),
            # The right invoice number, but a mistyped RF reference: no guess.
            Entry("10.00", "E-E", txs=[Tx(text=(f"{wrong_check_digits(e.rf)} {e.number}",))]),
            Entry("10.00", "E-F", currency="CHF", txs=[Tx(ref=f.rf)]),
            Entry("10.00", "E-N", txs=[Tx(text=("Erika Mustermann Meldebescheinigung",))]),
            Entry("99.00", "E-DEBIT", credit=False),
            Entry("10.00", "E-PENDING", booked=False, txs=[Tx(ref=a.rf)]),
            Entry(
                "20.00",
                "E-BATCH",
                txs=[Tx(amount="10.00", ref=g.rf), Tx(amount="10.00", text=(h.number,))],
            ),
        ]
    )
    summary = await reconciliation.import_statement(statement, ADMIN)

    outcome = {entry.entry_reference: (entry.status, entry.reason) for entry in summary.entries}
    assert outcome == {
        "E-A": (EntryStatus.MATCHED, None),
        "E-B": (EntryStatus.PARTIAL, Reason.UNDERPAID),
        "E-C": (EntryStatus.UNMATCHED, Reason.OVERPAID),
        "E-D": (EntryStatus.UNMATCHED, Reason.UNKNOWN_REFERENCE),
        "E-E": (EntryStatus.UNMATCHED, Reason.CHECK_DIGITS),
        "E-F": (EntryStatus.UNMATCHED, Reason.CURRENCY),
        "E-N": (EntryStatus.UNMATCHED, Reason.NO_REFERENCE),
        "E-BATCH/1": (EntryStatus.MATCHED, None),
        "E-BATCH/2": (EntryStatus.MATCHED, None),
    }
    assert (summary.matched, summary.partial, summary.unmatched) == (3, 1, 5)
    assert (summary.duplicates, summary.debits, summary.not_booked) == (0, 1, 1)
    assert "Erika" not in repr(summary)  # the debtor's name stays out of logs
    assert summary.entries[0].debtor_name == "Erika Mustermann"

    paid, pending = CaseState.PAID, CaseState.PAYMENT_PENDING
    assert await state(cases, a.case_id) == (paid, FEE)
    assert await state(cases, b.case_id) == (pending, 400)
    for unbooked in (c, e, f):
        assert await state(cases, unbooked.case_id) == (pending, 0)
    assert await state(cases, g.case_id) == (paid, FEE)
    assert await state(cases, h.case_id) == (paid, FEE)
    async with desk.office.sessions() as session:
        payments = {
            (p.case_id, p.source, p.external_id, p.amount_cents)
            for p in (await session.scalars(select(Payment))).all()
        }
    assert payments == {
        (a.case_id, "bank", "E-A", FEE),
        (b.case_id, "bank", "E-B", 400),
        (g.case_id, "bank", "E-BATCH/1", FEE),
        (h.case_id, "bank", "E-BATCH/2", FEE),
    }
    assert await count(desk, BankEntry) == 9

    again = await reconciliation.import_statement(statement, ADMIN)
    assert again.duplicates == 9 and again.matched == again.partial == again.unmatched == 0
    assert await count(desk, BankEntry) == 9 and await count(desk, Payment) == 4

    listed = {entry.entry_reference: entry for entry in await reconciliation.open_entries()}
    assert set(listed) == {"E-B", "E-C", "E-D", "E-E", "E-F", "E-N"}
    assert listed["E-C"].case_id == c.case_id and listed["E-C"].reason is Reason.OVERPAID
    assert listed["E-F"].currency == "CHF" and listed["E-F"].amount_cents == 1000
    assert listed["E-B"].remittance == f"Gebuehr Ref {spaced(b.rf)}"

    # The clerk books the mistyped one to its case, and marks the overpayment handled.
    await reconciliation.resolve(listed["E-E"].id, e.case_id, CLERK, "RF vertippt, Rechnung passt")
    assert await state(cases, e.case_id) == (paid, FEE)
    await reconciliation.resolve(listed["E-C"].id, None, CLERK, "Rückfrage beim Zahler")
    assert await state(cases, c.case_id) == (pending, 0)
    with pytest.raises(Conflict):
        await reconciliation.resolve(listed["E-C"].id, c.case_id, CLERK, "")
    with pytest.raises(InvalidInput):  # not euros: never booked
        await reconciliation.resolve(listed["E-F"].id, f.case_id, CLERK, "")
    with pytest.raises(InvalidInput):  # a partial payment stays with its case
        await reconciliation.resolve(listed["E-B"].id, c.case_id, CLERK, "")
    assert await state(cases, c.case_id) == (pending, 0)
    remaining = {entry.entry_reference for entry in await reconciliation.open_entries()}
    assert remaining == {"E-B", "E-D", "E-F", "E-N"}
    async with desk.office.sessions() as session:
        resolved = (
            await session.scalars(
                select(BankEntry).where(BankEntry.entry_reference.in_(["E-C", "E-E"]))
            )
        ).all()
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.actor == CLERK, AuditEntry.action.like("bank.%"))
                .order_by(AuditEntry.id)
            )
        ).all()
    by_ref = {entry.entry_reference: entry for entry in resolved}
    assert by_ref["E-E"].status == "assigned" and by_ref["E-E"].case_id == e.case_id
    assert by_ref["E-C"].status == "handled" and by_ref["E-C"].note == "Rückfrage beim Zahler"
    assert actions == ["bank.entry_assigned", "bank.entry_handled"]


async def test_version_02_with_entry_references_and_a_stable_hash(
    desk: Appointments,
    cases: Cases,
    reconciliation: Reconciliation,
    appointment: Appointment,
    clerk: int,
) -> None:
    a = await invoiced(desk, cases, appointment, clerk, 42)
    b = await invoiced(desk, cases, appointment, clerk, 43)
    statement = camt053(
        [
            Entry("10.00", ntry_ref="NR-1", txs=[Tx(ref=spaced(a.rf), debtor="Max Muster")]),
            Entry("10.00", txs=[Tx(text=(f"Rechnungsnr. {b.number}",))]),
        ],
        version="02",
    )
    parsed = parse_statement(statement)
    assert parsed.version == "02" and parsed.credits[0].debtor_name == "Max Muster"
    hashed = parsed.credits[1].entry_reference
    assert (
        hashed.startswith("hash:")
        and parse_statement(statement).credits[1].entry_reference == hashed
    )

    summary = await reconciliation.import_statement(statement, ADMIN)
    assert summary.matched == 2
    assert {e.invoice_number for e in summary.entries} == {a.number, b.number}
    assert await state(cases, a.case_id) == (CaseState.PAID, FEE)
    assert await state(cases, b.case_id) == (CaseState.PAID, FEE)
    assert (await reconciliation.import_statement(statement, ADMIN)).duplicates == 2
    assert await count(desk, Payment) == 2


async def test_a_paid_case_takes_no_further_money(
    desk: Appointments,
    cases: Cases,
    reconciliation: Reconciliation,
    appointment: Appointment,
    clerk: int,
) -> None:
    a = await invoiced(desk, cases, appointment, clerk, 7)
    statement = camt053(
        [Entry("10.00", "P-1", txs=[Tx(ref=a.rf)]), Entry("10.00", "P-2", txs=[Tx(ref=a.rf)])]
    )
    summary = await reconciliation.import_statement(statement, ADMIN)
    assert [(e.status, e.reason) for e in summary.entries] == [
        (EntryStatus.MATCHED, None),
        (EntryStatus.UNMATCHED, Reason.NOT_AWAITING_PAYMENT),
    ]
    assert await state(cases, a.case_id) == (CaseState.PAID, FEE)


# -- refused documents ---------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>&lol3;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>S</Id><Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2026-06-03</Dt></BookgDt><AcctSvcrRef>X</AcctSvcrRef><NtryDtls><TxDtls><RmtInf>
<Ustrd>&secret;</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"""

NOT_CAMT053 = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"><BkToCstmrAcctRpt>
<Rpt><Id>R</Id></Rpt></BkToCstmrAcctRpt></Document>"""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (BILLION_LAUGHS, "DTD oder Entitäten"),
        (EXTERNAL_ENTITY, "DTD oder Entitäten"),
        (NOT_CAMT053, "kein Kontoauszug im Format camt.053"),
        (b"<Document><Other/></Document>", "kein Kontoauszug im Format camt.053"),
        (b"<Document><BkToCstmrStmt>", "kein gültiges XML"),
        (b" " * (5 * 1024 * 1024 + 1), "zu groß"),
    ],
    ids=["billion-laughs", "external-entity", "camt052", "other", "broken", "too-large"],
)
async def test_unsafe_or_foreign_documents_are_refused_and_nothing_is_stored(
    desk: Appointments, reconciliation: Reconciliation, document: bytes, message: str
) -> None:
    with pytest.raises(StatementInvalid, match=message):
        await reconciliation.import_statement(document, ADMIN)
    assert await count(desk, BankEntry) == 0 and await count(desk, AuditEntry) == 0


# -- the staff page ------------------------------------------------------------------------


async def login(client: TestClient[Any, Any], staff: Staff, clerk_id: int) -> str:
    """Log in as this staff member; the page's CSRF token."""
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(clerk_id)})
    page = await client.get("/sachbearbeitung/kontoauszug")
    assert page.status == 200
    return csrf_of(await page.text())


def upload(csrf: str, data: bytes) -> FormData:
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("statement", data, filename="auszug.xml", content_type="application/xml")
    return form


async def test_the_page_lets_admins_import_and_clerks_resolve(
    client: TestClient[Any, Any],
    staff: Staff,
    desk: Appointments,
    cases: Cases,
    appointment: Appointment,
    clerk: int,
) -> None:
    a = await invoiced(desk, cases, appointment, clerk, 1)
    statement = camt053(
        [
            Entry("10.00", "H-1", txs=[Tx(ref=a.rf)]),
            Entry("5.00", "H-2", txs=[Tx(text=("Spende",), debtor="Fritz Zahler")]),
        ]
    )
    path = "/sachbearbeitung/kontoauszug"

    # Anonymous and a citizen are sent to the login (a POST with a valid CSRF token too).
    anonymous_csrf = csrf_of(await (await client.get("/anmelden")).text())
    for headers in ({}, {"Cookie": citizen_cookie(desk, appointment)}):
        response = await client.get(path, headers=headers, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/anmelden"
    response = await client.post(
        path, data=upload(anonymous_csrf, statement), allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/anmelden"

    # A clerk sees the page but may not import.
    csrf = await login(client, staff, clerk)
    refused = await client.post(path, data=upload(csrf, statement))
    assert refused.status == 403
    assert await count(desk, BankEntry) == 0

    admin = await staff.create("root", "Ada Admin", "correct horse battery", role=Role.ADMIN)
    csrf = await login(client, staff, admin.id)
    forged = await client.post(path, data=upload("0" * 64, statement))
    assert forged.status == 403 and await count(desk, BankEntry) == 0
    bad = await client.post(path, data=upload(csrf, NOT_CAMT053))
    assert bad.status == 422 and "kein Kontoauszug im Format camt.053" in await bad.text()
    large = await client.post(path, data=upload(csrf, b" " * (5 * 1024 * 1024 + 1)))
    assert large.status == 413 and "zu groß (höchstens 5 MB)" in await large.text()
    none = await client.post(path, data={"csrf": csrf})
    assert none.status == 400 and "Bitte eine Datei auswählen" in await none.text()
    imported = await client.post(path, data=upload(csrf, statement))
    text = await imported.text()
    assert imported.status == 200, text
    assert "1 zugeordnet" in text and "1 nicht zugeordnet" in text and "Fritz Zahler" in text
    assert (await cases.get(a.case_id)).state is CaseState.PAID

    # The clerk lists and resolves the open entry (CSRF enforced there too).
    csrf = await login(client, staff, clerk)
    page = await (await client.get(path)).text()
    assert "Spende" in page and "Kein Zahlungsbezug" in page and 'type="file"' not in page
    async with desk.office.sessions() as session:
        entry_id = await session.scalar(
            select(BankEntry.id).where(BankEntry.entry_reference == "H-2")
        )
    resolve = f"{path}/{entry_id}/erledigt"
    forged = await client.post(resolve, data={"csrf": "bad", "notiz": "x"})
    assert forged.status == 403
    unknown = await client.post(resolve, data={"csrf": csrf, "vorgang": "NOPE1234", "notiz": ""})
    assert unknown.status == 400 and "keinen Vorgang" in await unknown.text()
    done = await client.post(
        resolve, data={"csrf": csrf, "notiz": "Spende weitergeleitet"}, allow_redirects=False
    )
    assert done.status == 303 and done.headers["Location"] == path
    assert "Keine offenen Buchungen" in await (await client.get(path)).text()
