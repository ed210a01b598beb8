"""Reading an ISO 20022 camt.053 bank statement (BkToCstmrStmt), versions .001.02
to .001.08, into plain credits.

Elements are found by local name, so the versions' namespaces need no table of paths;
the document must still be a camt.053 (root ``Document`` holding ``BkToCstmrStmt``,
its namespace, if any, one of the supported versions). It is parsed with
``defusedxml``: a DTD, and with it every entity expansion or external entity, is
refused, and so is a file larger than :data:`MAX_STATEMENT_BYTES`.

Only booked credits become :class:`Credit`\\ s; debits are counted and otherwise
ignored. A batch entry with several transactions gives one credit per transaction.
The debtor's name is kept for the clerk but never appears in a ``repr`` (logs).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from office.errors import InvalidInput

MAX_STATEMENT_BYTES = 5 * 1024 * 1024
NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(0[2-8])")
REFERENCE_LENGTH = 100  # BankEntry.entry_reference
STATEMENT_ID_LENGTH = 100  # BankEntry.statement_id


class StatementInvalid(InvalidInput):
    """The file is not a readable, safe camt.053 statement."""

    code = "statement_invalid"
    message = "Die Datei ist kein lesbarer Kontoauszug im Format camt.053."

    def __init__(self, message: str | None = None) -> None:
        super().__init__({"statement": message or self.message}, message)


@dataclass(frozen=True)
class Credit:
    """Money received: one transaction of a booked credit entry."""

    entry_reference: str  # unique per payment: the bank's reference, or a stable hash
    statement_id: str
    booked_on: date
    amount: Decimal | None  # None: missing or unreadable
    currency: str
    structured_reference: str | None  # RmtInf/Strd/CdtrRefInf/Ref
    unstructured: str  # RmtInf/Ustrd, joined
    debtor_name: str | None = field(default=None, repr=False)  # personal: never logged

    @property
    def amount_cents(self) -> int | None:
        """The amount in exact hundredths, or None if it has finer digits."""
        if self.amount is None:
            return None
        cents = self.amount * 100
        return int(cents) if cents == cents.to_integral_value() else None

    @property
    def remittance(self) -> str:
        """What the payer wrote, for a clerk to read."""
        return " ".join(p for p in (self.structured_reference, self.unstructured) if p)


@dataclass(frozen=True)
class Statement:
    id: str
    version: str | None  # "02" … "08"; None without a namespace
    credits: tuple[Credit, ...]
    debits: int  # debit entries, ignored
    not_booked: int  # pending or informational entries, ignored


def parse_statement(data: bytes) -> Statement:
    """The booked credits of a camt.053 document; :class:`StatementInvalid` for
    anything else."""
    report, version = _report(data)
    credits: list[Credit] = []
    debits = not_booked = 0
    statement_ids: list[str] = []
    for statement in _children(report, "Stmt"):
        statement_id = _text(statement, "Id")[:STATEMENT_ID_LENGTH]
        if not statement_id:
            raise StatementInvalid("Im Kontoauszug fehlt die Kennung des Auszugs (Stmt/Id).")
        statement_ids.append(statement_id)
        for index, entry in enumerate(_children(statement, "Ntry")):
            if not _booked(entry):
                not_booked += 1
            elif _text(entry, "CdtDbtInd") == "DBIT":
                debits += 1
            elif _text(entry, "CdtDbtInd") == "CRDT":
                credits.extend(_credits(statement_id, index, entry))
            else:
                raise StatementInvalid("Eine Buchung ist weder Gutschrift noch Lastschrift.")
    if not statement_ids:
        raise StatementInvalid("Der Kontoauszug enthält keinen Auszug (Stmt).")
    return Statement(", ".join(statement_ids)[:STATEMENT_ID_LENGTH], version, tuple(credits),
                     debits, not_booked)  # fmt: skip


def _report(data: bytes) -> tuple[Element, str | None]:
    """The document's statement report (``BkToCstmrStmt``) and the camt version, read
    without DTDs or entities."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementInvalid("Die Datei ist zu groß (höchstens 5 MB).")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise StatementInvalid(
            "Die Datei enthält eine DTD oder Entitäten und wird aus Sicherheitsgründen "
            "nicht gelesen."
        ) from None
    except (ParseError, ValueError):
        raise StatementInvalid("Die Datei ist kein gültiges XML.") from None
    namespace, name = _split(root.tag)
    version: str | None = None
    if namespace:
        matched = NAMESPACE.fullmatch(namespace)
        if matched is None:
            raise StatementInvalid(
                "Die Datei ist kein Kontoauszug im Format camt.053 (Versionen .001.02 bis .001.08)."
            )
        version = matched.group(1)
    report = _child(root, "BkToCstmrStmt")
    if name != "Document" or report is None:
        raise StatementInvalid("Die Datei ist kein Kontoauszug im Format camt.053.")
    return report, version


def _credits(statement_id: str, index: int, entry: Element) -> Iterator[Credit]:
    reference = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    if not reference:
        digest = hashlib.sha256(f"{statement_id}\n{index}".encode()).hexdigest()[:32]
        reference = f"hash:{digest}"
    booked_on = _date(_child(entry, "BookgDt")) or _date(_child(entry, "ValDt"))
    if booked_on is None:
        raise StatementInvalid("Eine Buchung hat kein Buchungsdatum.")
    entry_amount, entry_currency = _amount(_child(entry, "Amt"))
    transactions = [
        tx for details in _children(entry, "NtryDtls") for tx in _children(details, "TxDtls")
    ]
    if not transactions:
        yield Credit(reference[:REFERENCE_LENGTH], statement_id, booked_on, entry_amount,
                     entry_currency, None, "", None)  # fmt: skip
        return
    batch = len(transactions) > 1
    for number, tx in enumerate(transactions, start=1):
        amount, currency = entry_amount, entry_currency
        if batch:
            # Each transaction is its own payment, with its own amount.
            own_amount = _path(tx, "AmtDtls", "TxAmt", "Amt")
            if own_amount is None:  # (an Element without children is falsy: no `or`)
                own_amount = _child(tx, "Amt")
            amount, currency = _amount(own_amount)
        own = _text(_child(tx, "Refs"), "AcctSvcrRef")
        tx_reference = (own if batch and own and own != reference else None) or (
            f"{reference}/{number}" if batch else reference
        )
        structured = [
            _text(ref_info, "Ref")
            for remittance in _children(tx, "RmtInf")
            for strd in _children(remittance, "Strd")
            for ref_info in _children(strd, "CdtrRefInf")
        ]
        unstructured = [
            " ".join((ustrd.text or "").split())
            for remittance in _children(tx, "RmtInf")
            for ustrd in _children(remittance, "Ustrd")
        ]
        yield Credit(
            entry_reference=_fit(tx_reference),
            statement_id=statement_id,
            booked_on=booked_on,
            amount=amount,
            currency=currency,
            structured_reference=" ".join(s for s in structured if s) or None,
            unstructured=" ".join(u for u in unstructured if u),
            debtor_name=_debtor(tx),
        )


def _fit(reference: str) -> str:
    """A reference that fits the column: a long one is shortened by its hash."""
    if len(reference) <= REFERENCE_LENGTH:
        return reference
    return f"{reference[:60]}#{hashlib.sha256(reference.encode()).hexdigest()[:32]}"


def _booked(entry: Element) -> bool:
    status = _child(entry, "Sts")
    if status is None:
        return False
    # .02-.05: <Sts>BOOK</Sts>; .06 on: <Sts><Cd>BOOK</Cd></Sts> (or a proprietary code)
    code = _text(status, "Cd") or _text(status, "Prtry") or (status.text or "").strip()
    return code.upper() in ("BOOK", "BOOKED")


def _debtor(tx: Element) -> str | None:
    debtor = _path(tx, "RltdPties", "Dbtr")
    if debtor is None:
        return None
    # .08 wraps the party: Dbtr/Pty/Nm; earlier versions: Dbtr/Nm
    name = _text(debtor, "Nm") or _text(_child(debtor, "Pty"), "Nm")
    return " ".join(name.split())[:140] or None


def _amount(element: Element | None) -> tuple[Decimal | None, str]:
    if element is None:
        return None, ""
    currency = element.get("Ccy", "").strip().upper()
    try:
        amount = Decimal((element.text or "").strip())
    except InvalidOperation:
        return None, currency
    if not amount.is_finite() or amount <= 0:
        return None, currency
    return amount, currency


def _date(element: Element | None) -> date | None:
    if element is None:
        return None
    value = _text(element, "Dt") or _text(element, "DtTm")[:10]
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# -- namespace-agnostic access by local name ------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _children(element: Element | None, name: str) -> Iterator[Element]:
    if element is None:
        return
    for child in element:
        if isinstance(child.tag, str) and _split(child.tag)[1] == name:
            yield child


def _child(element: Element | None, name: str) -> Element | None:
    return next(_children(element, name), None)


def _path(element: Element | None, *names: str) -> Element | None:
    for name in names:
        element = _child(element, name)
    return element


def _text(element: Element | None, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""
