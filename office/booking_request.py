"""What a citizen submits to book, checked field by field with German messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email

from common.i18n import N_, languages
from office.errors import InvalidInput

NAME_MAX = 100
EMAIL_MAX = 254
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()/\-]{2,28}$")

# What to tell the citizen about each field that is wrong (also the JSON API's
# "fields", whichever rule of its schema a value broke). The limits are written out
# (NAME_MAX, EMAIL_MAX) so that each text is one message id for the translations.
MESSAGES = {
    "service_id": N_("Bitte wählen Sie ein Anliegen."),
    "starts_at": N_("Bitte wählen Sie einen Termin."),
    "name": N_("Bitte geben Sie Ihren Namen an."),
    "name_too_long": N_("Der Name darf höchstens 100 Zeichen lang sein."),
    "email": N_("Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de."),
    "email_too_long": N_("Die E-Mail-Adresse darf höchstens 254 Zeichen lang sein."),
    "phone": N_("Bitte geben Sie eine gültige Telefonnummer an (nur Ziffern, +, /, -)."),
    "consent": N_("Bitte stimmen Sie der Verarbeitung Ihrer Daten zu."),
    "language": N_("Unbekannte Sprache."),
}


@dataclass(frozen=True)
class BookingRequest:
    service_id: str
    starts_at: datetime
    name: str
    email: str
    phone: str | None
    language: str


def _text(raw: Mapping[str, object], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def parse_starts_at(value: str) -> datetime | None:
    """An ISO 8601 instant with offset; None when it is not one."""
    if len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def parse_email(given: str) -> tuple[str, str | None]:
    """The address normalised, or what is wrong with it."""
    if not given:
        return given, "Bitte geben Sie Ihre E-Mail-Adresse an."
    if len(given) > EMAIL_MAX:
        return given, MESSAGES["email_too_long"]
    try:
        return validate_email(given, check_deliverability=False).normalized, None
    except EmailNotValidError:
        return given, MESSAGES["email"]


def parse_booking(raw: Mapping[str, object]) -> BookingRequest:
    """Validate every field; raise InvalidInput naming all that are wrong."""
    errors: dict[str, str] = {}

    service_id = _text(raw, "service_id")
    if not service_id or len(service_id) > 64:
        errors["service_id"] = MESSAGES["service_id"]

    starts_at = parse_starts_at(_text(raw, "starts_at"))
    if starts_at is None:
        errors["starts_at"] = MESSAGES["starts_at"]

    name = " ".join(_text(raw, "name").split())
    if len(name) < 2:
        errors["name"] = MESSAGES["name"]
    elif len(name) > NAME_MAX:
        errors["name"] = MESSAGES["name_too_long"]
    elif _has_control_characters(name):
        errors["name"] = "Der Name enthält unzulässige Zeichen."

    email, email_error = parse_email(_text(raw, "email"))
    if email_error:
        errors["email"] = email_error

    phone = _text(raw, "phone") or None
    if phone is not None and not PHONE_PATTERN.fullmatch(phone):
        errors["phone"] = MESSAGES["phone"]

    if raw.get("consent") is not True:  # the form's checkbox arrives as True, too
        errors["consent"] = MESSAGES["consent"]

    language = _text(raw, "language") or "de"
    if language not in languages():
        errors["language"] = MESSAGES["language"]

    if errors:
        raise InvalidInput(errors)
    assert starts_at is not None  # noqa: S101 - guaranteed by the checks above
    return BookingRequest(service_id, starts_at, name, email, phone, language)
