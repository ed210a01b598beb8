"""The town's configuration: identity, hours and service catalogue.

A town is described by one TOML file (see ``office/towns/ostfildern.toml``). It is
parsed once at start-up into frozen objects; a mistake in the file stops the server
with a message naming the field, rather than surfacing later as a wrong slot.
"""

from __future__ import annotations

import tomllib
from datetime import date, time
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from office.sepa import check_bic, check_iban

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class Delivery(StrEnum):
    """Who sends the citizen the result of a service."""

    TOWN = "town"  # posted by the town
    BZR = "bzr"  # posted by the Bundeszentralregister (Federal Office of Justice)
    NONE = "none"  # nothing is posted (e.g. advice)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class HoursRule(_Frozen):
    """A weekly recurring window, e.g. Monday to Friday 07:00-08:00."""

    days: tuple[Weekday, ...] = Field(min_length=1)
    start: time = Field(alias="from")
    end: time = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> HoursRule:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self

    def applies(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days


class Service(_Frozen):
    """A municipal service citizens can book a video appointment for."""

    id: Slug
    name: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)
    description_en: str = Field(default="", max_length=500)
    duration_minutes: int = Field(gt=0, le=240)
    fee_cents: int = Field(ge=0)
    fee_is_sample: bool = False
    verification_required: bool
    skill: Slug
    delivery: Delivery
    documents: tuple[str, ...] = ()
    documents_en: tuple[str, ...] = ()  # the same documents, in the same order
    # Served without an appointment too ("Jetzt beraten lassen"), while a clerk with the
    # skill is on duty.
    walk_in: bool = False
    # Offered for booking. An admin may switch a service off in the browser (and set its
    # fee, duration and documents there: office.service_settings); the file is the default.
    bookable: bool = True

    @model_validator(mode="after")
    def _documents_in_both_languages(self) -> Service:
        if self.documents_en and len(self.documents_en) != len(self.documents):
            raise ValueError(f"service {self.id}: documents_en must name each of documents")
        return self

    def display_name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name

    # A town file without the English texts shows the German ones to English readers.
    def display_description(self, language: str) -> str:
        return self.description_en if language == "en" and self.description_en else self.description

    def display_documents(self, language: str) -> tuple[str, ...]:
        return self.documents_en if language == "en" and self.documents_en else self.documents


class TownInfo(_Frozen):
    id: Slug
    name: str
    office_name: str
    timezone: str = "Europe/Berlin"
    country: str = "DE"
    state: str = "BW"
    email: str
    phone: str = ""
    address: tuple[str, ...] = ()
    privacy_url: str = "/datenschutz"
    imprint_url: str = ""
    primary_colour: str = Field(default="#1d4f91", pattern=r"^#[0-9a-fA-F]{6}$")
    logo: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            # ZoneInfoNotFoundError is a KeyError, which pydantic would not report.
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class BookingRules(_Frozen):
    unit_minutes: int = Field(default=5, gt=0, le=60)
    lead_minutes: int = Field(default=30, ge=0)
    horizon_days: int = Field(default=42, gt=0, le=366)
    checkin_before_minutes: int = Field(default=15, ge=0, le=240)
    checkin_after_minutes: int = Field(default=15, ge=0, le=240)


class VerificationRules(_Frozen):
    """How identities are checked: admissible documents, security features, questions."""

    admissible_documents: tuple[str, ...] = ("id_card", "passport")
    # Per document type, the security features a clerk can ask the citizen to show;
    # three are picked at random for each check.
    security_features: dict[str, tuple[str, ...]] = {}
    features_per_check: int = Field(default=3, ge=1, le=10)
    # Prompts for the clerk; the answers are never stored, only passed/failed.
    security_questions: tuple[str, ...] = ()
    code_minutes: int = Field(default=10, ge=1, le=60)  # lifetime of the emailed code
    # Black out the document's serial number on the stored copies of ID captures, as
    # data-protection officers advise (the clerk sees it in the live picture).
    redact_serial_number: bool = True


class PaymentSettings(_Frozen):
    """Where fees are paid and what an invoice says: the ``[payment]`` section.

    The IBAN (with its mod-97 checksum) and the BIC are checked when the file is
    loaded: a typing error there would send citizens' money nowhere.
    """

    creditor_name: str = Field(min_length=1, max_length=70)  # the payee, as in the GiroCode
    iban: str
    bic: str
    bank_name: str = Field(min_length=1, max_length=100)
    due_days: int = Field(default=14, ge=1, le=90)
    # The letterhead: the sender's address (its first line is the sender's name),
    # phone, web, and a tax note (e.g. a VAT id) if there is one.
    address: tuple[str, ...] = Field(min_length=2, max_length=6)
    phone: str = Field(default="", max_length=40)
    web: str = Field(default="", max_length=100)
    tax_note: str = Field(default="", max_length=200)
    invoice_text: str = Field(min_length=1, max_length=600)  # the sentence on the invoice
    is_sample: bool = False  # sample bank details: invoices are marked as specimens

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        return check_iban(value)

    @field_validator("bic")
    @classmethod
    def _valid_bic(cls, value: str) -> str:
        return check_bic(value)


class AccessibilitySettings(_Frozen):
    """The accessibility statement (BITV 2.0 § 7): when it was made, where reported
    barriers go, and the body that mediates when the town does not help."""

    statement_date: date = date(2026, 12, 7)
    contact_email: str = ""  # empty: the town's address
    enforcement_name: str = ""
    enforcement_url: str = ""


class DataProtectionOfficer(_Frozen):
    """The town's data-protection officer (Art. 37 GDPR), named on the privacy notice
    (Art. 13 (1) b): the ``[dpo]`` section. A mail address is enough; an office's
    address and phone may follow."""

    name: str = Field(default="", max_length=120)  # a person or an office; may stay empty
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str = Field(default="", max_length=40)
    address: tuple[str, ...] = Field(default=(), max_length=6)


class Town(_Frozen):
    """Everything a town configures."""

    town: TownInfo
    booking: BookingRules = BookingRules()
    regular_hours: tuple[HoursRule, ...] = ()
    virtual_hours: tuple[HoursRule, ...] = Field(min_length=1)
    closing_days: tuple[date, ...] = ()
    verification: VerificationRules = VerificationRules()
    services: tuple[Service, ...] = Field(min_length=1)
    payment: PaymentSettings | None = None  # needed to issue invoices
    accessibility: AccessibilitySettings = AccessibilitySettings()
    dpo: DataProtectionOfficer | None = None  # without it the notice names the town's address

    @model_validator(mode="after")
    def _consistent(self) -> Town:
        ids = [s.id for s in self.services]
        if len(ids) != len(set(ids)):
            raise ValueError("service ids must be unique")
        unit = self.booking.unit_minutes
        for service in self.services:
            if service.duration_minutes % unit:
                raise ValueError(
                    f"service {service.id}: duration {service.duration_minutes} is not a "
                    f"multiple of booking.unit_minutes ({unit})"
                )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.town.timezone)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    @property
    def skills(self) -> frozenset[str]:
        return frozenset(s.skill for s in self.services)


class TownConfigError(Exception):
    """The town file cannot be read or is not valid."""


def load_town(path: Path | None = None) -> Town:
    """Load a town file; without a path, the shipped Ostfildern configuration."""
    try:
        if path is None:
            text = resources.files("office.towns").joinpath("ostfildern.toml").read_text("utf-8")
            source = "ostfildern.toml (built in)"
        else:
            text = path.read_text("utf-8")
            source = str(path)
        return Town.model_validate(tomllib.loads(text))
    except OSError as exc:
        raise TownConfigError(f"cannot read town configuration {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TownConfigError(f"{source}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise TownConfigError(f"{source}: {problems}") from exc
