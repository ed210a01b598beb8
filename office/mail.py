"""Composing the mails an appointment sends: confirmation, reminder, cancellation, code;
and the invoice mail with its PDF.

Texts are Jinja2 templates in ``templates/mail``, one per mail (the first line is the
subject), their sentences in German and translated through the message catalogues
into the recipient's language (the appointment's). The calendar attachment is an
RFC 5545 event made with icalendar; its UID is stable per appointment so a calendar
updates, not duplicates, the entry when the appointment moves or is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import make_msgid
from enum import StrEnum
from typing import Any

import icalendar
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from common import i18n
from common.assets import asset_dir
from office.catalogue import Service, Town
from office.localtime import format_datetime, format_time
from office.models import Appointment

_templates = Environment(
    loader=FileSystemLoader(asset_dir("templates") / "mail"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - plain-text mail, never rendered as HTML
)
i18n.install(_templates)


class MailKind(StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    CANCELLATION = "cancellation"
    VERIFICATION_CODE = "verification_code"
    INVOICE = "invoice"
    CASE_STATUS = "case_status"
    BARRIER_REPORT = "barrier_report"  # to the town's staff, in German
    GUEST_INVITATION = "guest_invitation"  # to an interpreter or companion, German and English
    REBOOKING = "rebooking"  # the clerk is absent or the office closed: choose a new time
    STAFF_INVITATION = "staff_invitation"  # a new staff account's enrolment link, in German


@dataclass(frozen=True)
class MailSettings:
    sender: str  # the From: address
    public_url: str  # base of every link, e.g. https://termine.ostfildern.de
    retention_days: int

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class Links:
    join: str
    delete: str
    booking: str


def compose(
    kind: MailKind,
    *,
    town: Town,
    settings: MailSettings,
    appointment: Appointment,
    service: Service,
    links: Links,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> EmailMessage:
    """Render one mail to the appointment's address."""
    if appointment.email is None:
        raise ValueError("the appointment's personal data is gone: nothing to send")
    language = appointment.language
    tz = town.tz
    context: dict[str, Any] = {
        "lang": language,
        "town": town,
        "service": service,
        "service_name": service.display_name(language),
        "name": appointment.name,
        "reference": appointment.reference,
        "when": format_datetime(appointment.starts_at, tz, language),
        "checkin_from": format_time(
            appointment.starts_at - timedelta(minutes=town.booking.checkin_before_minutes),
            tz,
            language,
        ),
        "join_url": links.join,
        "delete_url": links.delete,
        "booking_url": links.booking,
        "retention_days": settings.retention_days,
        **(extra or {}),
    }
    subject, body = _render(kind, context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = f"{town.town.office_name} <{settings.sender}>"
    message["To"] = appointment.email
    message["Date"] = rfc2822_date(now)
    # Stable per appointment, link version and kind: a resent mail is recognisable.
    # (A code mail is new every time: its id carries the time.)
    news = kind in (MailKind.VERIFICATION_CODE, MailKind.CASE_STATUS)
    stamp = f".{int(now.timestamp())}.{(extra or {}).get('message_key', '')}" if news else ""
    message["Message-ID"] = (
        f"<{kind.value}.{appointment.id}.{appointment.token_id}{stamp}@{settings.domain}>"
    )
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    if kind in (MailKind.CONFIRMATION, MailKind.CANCELLATION):
        message.add_attachment(
            calendar_event(kind, town, settings, appointment, service, links, now),
            subtype="calendar",
            filename="termin.ics",
            params={"method": "CANCEL" if kind is MailKind.CANCELLATION else "PUBLISH"},
        )
    return message


def calendar_event(
    kind: MailKind,
    town: Town,
    settings: MailSettings,
    appointment: Appointment,
    service: Service,
    links: Links,
    now: datetime,
) -> str:
    cancelled = kind is MailKind.CANCELLATION
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Buergerbuero//Videotermin//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{appointment.id}@{settings.domain}")
    event.add("dtstamp", now)
    # SEQUENCE must grow with every change; the creation-relative age in seconds does.
    event.add("sequence", int((now - appointment.created_at).total_seconds()))
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"Videotermin: {service.display_name(appointment.language)}")
    event.add("location", "Online (Videotermin)")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        event.add("url", links.join)
        event.add(
            "description",
            f"{town.town.office_name}\nVorgang {appointment.reference}\nZum Termin: {links.join}",
        )
    calendar.add_component(event)
    return str(calendar.to_ical().decode("utf-8"))


def compose_invoice(
    *,
    town: Town,
    settings: MailSettings,
    to: str,
    context: dict[str, Any],
    pdf: bytes,
    filename: str,
    message_key: str,
    now: datetime,
    language: str = i18n.SOURCE_LANGUAGE,
) -> EmailMessage:
    """The mail that carries an invoice as a PDF attachment, in ``language``.

    ``context`` fills ``invoice.txt``: name, number, case_reference, service_name,
    amount, due, payment_reference and status_url (may be empty). It holds no postal
    address: the address is on the invoice only. ``message_key`` (the invoice
    number) makes the Message-ID stable per invoice.
    """
    subject, body = _render(MailKind.INVOICE, {"lang": language, "town": town, **context})
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = f"{town.town.office_name} <{settings.sender}>"
    message["To"] = to
    message["Date"] = rfc2822_date(now)
    message["Message-ID"] = f"<{MailKind.INVOICE.value}.{message_key}@{settings.domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


def compose_barrier_report(
    *, town: Town, settings: MailSettings, report: Any, now: datetime
) -> EmailMessage:
    """A barrier a citizen reported (``office/barrier_reports.py``), to the town's
    accessibility contact; a reply goes to the citizen when they gave an address."""
    subject, body = _render(
        MailKind.BARRIER_REPORT,
        {"lang": i18n.SOURCE_LANGUAGE, "town": town, "report": report},
    )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = f"{town.town.office_name} <{settings.sender}>"
    message["To"] = town.accessibility.contact_email or town.town.email
    if report.email:
        message["Reply-To"] = report.email
    message["Date"] = rfc2822_date(now)
    message["Message-ID"] = make_msgid(MailKind.BARRIER_REPORT.value, settings.domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def compose_guest_invitation(
    *,
    town: Town,
    settings: MailSettings,
    to: str,
    kind: str,
    link: str,
    expires_at: datetime,
    now: datetime,
) -> EmailMessage:
    """An interpreter's or companion's link into a running call (``office/guests.py``).
    Whose language the guest reads is not known: German first, then English."""
    parts = [
        _render(
            MailKind.GUEST_INVITATION,
            {
                "lang": lang,
                "town": town,
                "kind": kind,
                "link": link,
                "until": format_time(expires_at, town.tz, lang),
            },
        )
        for lang in (i18n.SOURCE_LANGUAGE, "en")
    ]
    message = EmailMessage()
    message["Subject"] = f"{parts[0][0]} / {parts[1][0]}"
    message["From"] = f"{town.town.office_name} <{settings.sender}>"
    message["To"] = to
    message["Date"] = rfc2822_date(now)
    message["Message-ID"] = make_msgid(MailKind.GUEST_INVITATION.value, settings.domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{parts[0][1].rstrip()}\n\n-- English --\n\n{parts[1][1]}")
    return message


def compose_staff_invitation(
    *,
    town: Town,
    settings: MailSettings,
    to: str,
    display_name: str,
    username: str,
    link: str,
    expires_at: datetime,
    now: datetime,
) -> EmailMessage:
    """A new staff account's enrolment link (``office/enrolment.py``), in German."""
    subject, body = _render(
        MailKind.STAFF_INVITATION,
        {
            "lang": i18n.SOURCE_LANGUAGE,
            "town": town,
            "display_name": display_name,
            "username": username,
            "link": link,
            "until": format_datetime(expires_at, town.tz, i18n.SOURCE_LANGUAGE),
        },
    )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = f"{town.town.office_name} <{settings.sender}>"
    message["To"] = to
    message["Date"] = rfc2822_date(now)
    message["Message-ID"] = make_msgid(MailKind.STAFF_INVITATION.value, settings.domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def _render(kind: MailKind, context: dict[str, Any]) -> tuple[str, str]:
    """The subject (the template's first line) and the body."""
    rendered = _templates.get_template(f"{kind.value}.txt").render(context)
    subject_line, _, body = rendered.partition("\n")
    return subject_line.removeprefix("Subject: ").strip(), body
