"""Barriers citizens report from the accessibility statement (BITV 2.0 § 7): checked,
and mailed to the town's contact through the outbox (in German: staff read it). The
report is kept nowhere else; the outbox drops the message once it is delivered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import N_
from office.booking_request import parse_email
from office.context import Office
from office.errors import InvalidInput
from office.mail import MailKind, compose_barrier_report
from office.outbox import enqueue

MAX_TEXT = 2000
MAX_WHERE = 200


@dataclass(frozen=True)
class BarrierReport:
    what: str
    where: str | None
    email: str | None  # for an answer, if the citizen wants one


def parse_report(raw: Mapping[str, str]) -> BarrierReport:
    errors: dict[str, str] = {}
    what = raw.get("what", "").strip()
    if not what:
        errors["what"] = N_("Bitte beschreiben Sie die Barriere.")
    elif len(what) > MAX_TEXT:
        errors["what"] = N_("Bitte schreiben Sie höchstens 2000 Zeichen.")
    where = raw.get("where", "").strip() or None
    if where is not None and len(where) > MAX_WHERE:
        errors["where"] = N_("Bitte schreiben Sie höchstens 200 Zeichen.")
    email = raw.get("email", "").strip() or None
    if email is not None:
        email, problem = parse_email(email)
        if problem:
            errors["email"] = problem
    if errors:
        raise InvalidInput(errors)
    return BarrierReport(what, where, email)


async def send_report(office: Office, report: BarrierReport) -> None:
    now = office.now()
    message = compose_barrier_report(town=office.town, settings=office.mail, report=report, now=now)
    session: AsyncSession
    async with office.sessions() as session, session.begin():
        enqueue(session, MailKind.BARRIER_REPORT, message, now, None)
    office.mail_queued()
