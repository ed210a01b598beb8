"""Showing UTC instants as the town's local time, in German or English."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

_WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def _lang(language: str) -> str:
    return "en" if language == "en" else "de"


def format_day(day: date, language: str = "de") -> str:
    """'Mittwoch, 25. November 2026' / 'Wednesday, 25 November 2026'."""
    lang = _lang(language)
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    if lang == "de":
        return f"{weekday}, {day.day}. {month} {day.year}"
    return f"{weekday}, {day.day} {month} {day.year}"


def format_time(instant: datetime, tz: ZoneInfo, language: str = "de") -> str:
    local = instant.astimezone(tz)
    return f"{local:%H:%M} Uhr" if _lang(language) == "de" else f"{local:%H:%M}"


def format_datetime(instant: datetime, tz: ZoneInfo, language: str = "de") -> str:
    local = instant.astimezone(tz)
    return f"{format_day(local.date(), language)}, {format_time(instant, tz, language)}"


def format_euros(cents: int, language: str = "de") -> str:
    euros, rest = divmod(cents, 100)
    if _lang(language) == "de":
        return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"
    return f"€{euros:,}.{rest:02d}"
