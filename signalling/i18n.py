"""UI texts in German (the default) and English.

The language is German unless the visitor chose English (``?lang=en``, kept in a
cookie). Domain errors carry German messages; for English pages their stable codes
are looked up here.
"""

from __future__ import annotations

from aiohttp import web

LANGUAGES = ("de", "en")
COOKIE = "bb_lang"

TEXTS: dict[str, tuple[str, str]] = {
    # key: (German, English)
    "skip_to_content": ("Zum Inhalt springen", "Skip to content"),
    "language_switch": ("English", "Deutsch"),
    "privacy": ("Datenschutz", "Privacy"),
    "imprint": ("Impressum", "Imprint"),
    "staff_login": ("Anmeldung für Mitarbeitende", "Staff login"),
    "book_title": ("Videotermin buchen", "Book a video appointment"),
    "book_intro": (
        "Erledigen Sie Ihr Anliegen per Video – von zu Hause, im Browser, ohne App. "
        "Wählen Sie zuerst Ihr Anliegen.",
        "Take care of your matter by video – from home, in your browser, no app needed. "
        "First choose your service.",
    ),
    "virtual_hours": ("Sprechzeiten der Videotermine", "Video appointment hours"),
    "choose": ("Auswählen", "Choose"),
    "duration": ("Dauer", "Duration"),
    "minutes": ("Minuten", "minutes"),
    "fee": ("Gebühr", "Fee"),
    "fee_sample": ("Beispielwert", "sample value"),
    "free_of_charge": ("gebührenfrei", "free of charge"),
    "id_check": ("mit Identitätsprüfung", "identity check required"),
    "documents": ("Bitte halten Sie bereit", "Please have at hand"),
    "step_day": ("Tag wählen", "Choose a day"),
    "step_slot": ("Uhrzeit wählen", "Choose a time"),
    "step_details": ("Ihre Angaben", "Your details"),
    "no_days": (
        "In diesem Zeitraum ist leider kein Termin frei.",
        "Unfortunately no appointment is free in this period.",
    ),
    "no_slots": ("An diesem Tag ist kein Termin mehr frei.", "No appointment is free on this day."),
    "earlier": ("Frühere Tage", "Earlier days"),
    "later": ("Spätere Tage", "Later days"),
    "back_to_services": ("Zurück zur Auswahl", "Back to the services"),
    "name": ("Vor- und Nachname", "First and last name"),
    "email": ("E-Mail-Adresse", "Email address"),
    "email_hint": (
        "An diese Adresse senden wir Ihren persönlichen Link zum Termin.",
        "We send your personal link to the appointment to this address.",
    ),
    "phone": ("Telefonnummer", "Phone number"),
    "optional": ("optional", "optional"),
    "phone_hint": (
        "Für Rückfragen, falls die Verbindung nicht zustande kommt.",
        "For questions if the connection fails.",
    ),
    "consent": (
        "Ich bin damit einverstanden, dass meine Angaben zur Durchführung des Termins "
        "verarbeitet werden.",
        "I agree that my details are processed to carry out the appointment.",
    ),
    "consent_link": ("Datenschutzhinweise lesen", "Read the privacy notice"),
    "honeypot": ("Bitte dieses Feld leer lassen", "Please leave this field empty"),
    "book_button": ("Termin verbindlich buchen", "Book appointment"),
    "form_errors": ("Bitte prüfen Sie Ihre Angaben", "Please check your details"),
    "booked_title": ("Ihr Termin ist gebucht", "Your appointment is booked"),
    "booked_text": (
        "Wir haben Ihnen eine E-Mail mit Ihrem persönlichen Link zum Termin geschickt. "
        "Bitte prüfen Sie auch den Spam-Ordner.",
        "We have sent you an email with your personal link to the appointment. "
        "Please check your spam folder too.",
    ),
    "reference": ("Vorgangsnummer", "Reference"),
    "service": ("Anliegen", "Service"),
    "when": ("Termin", "Time"),
    "appointment_title": ("Ihr Videotermin", "Your video appointment"),
    "enter_waiting_room": ("Warteraum betreten", "Enter the waiting room"),
    "waiting_room_opens": (
        "Der Warteraum öffnet {minutes} Minuten vor Ihrem Termin, am {when}.",
        "The waiting room opens {minutes} minutes before your appointment, on {when}.",
    ),
    "waiting_room_closed": (
        "Die Zeit zum Betreten des Warteraums ist vorbei.",
        "The time to enter the waiting room is over.",
    ),
    "reschedule": ("Termin verschieben", "Reschedule"),
    "reschedule_button": ("Auf diese Uhrzeit verschieben", "Move to this time"),
    "rescheduled": (
        "Ihr Termin ist verschoben. Sie erhalten eine neue E-Mail; der alte Link gilt nicht mehr.",
        "Your appointment has been moved. You will get a new email; the old link no longer works.",
    ),
    "cancel": ("Termin absagen", "Cancel appointment"),
    "cancel_confirm": (
        "Möchten Sie Ihren Termin wirklich absagen?",
        "Do you really want to cancel your appointment?",
    ),
    "cancel_button": ("Ja, Termin absagen", "Yes, cancel it"),
    "cancelled_title": ("Ihr Termin ist abgesagt", "Your appointment is cancelled"),
    "cancelled_text": (
        "Der Termin ist wieder frei. Sie erhalten eine Bestätigung per E-Mail.",
        "The slot is free again. You will receive a confirmation by email.",
    ),
    "book_again": ("Neuen Termin buchen", "Book a new appointment"),
    "delete_data": ("Meine Daten jetzt löschen", "Delete my data now"),
    "delete_confirm": (
        "Wir löschen Ihren Namen, Ihre E-Mail-Adresse und Telefonnummer sofort. "
        "Liegt der Termin noch in der Zukunft, wird er abgesagt.",
        "We delete your name, email address and phone number at once. "
        "If the appointment is still ahead, it is cancelled.",
    ),
    "delete_button": ("Ja, Daten löschen", "Yes, delete my data"),
    "deleted_title": ("Ihre Daten sind gelöscht", "Your data has been deleted"),
    "deleted_text": (
        "Ihr Link zum Termin funktioniert nicht mehr.",
        "Your link to the appointment no longer works.",
    ),
    "back": ("Zurück", "Back"),
    "link_invalid_title": ("Dieser Link funktioniert nicht", "This link does not work"),
    "link_invalid_text": (
        "Der Link ist ungültig, abgelaufen oder der Termin wurde abgesagt. Nutzen Sie den "
        "Link aus Ihrer neuesten E-Mail oder buchen Sie einen neuen Termin.",
        "The link is invalid or expired, or the appointment was cancelled. Use the link "
        "from your most recent email or book a new appointment.",
    ),
    "error_title": ("Das hat nicht geklappt", "That did not work"),
    "csrf_failed": (
        "Die Sicherheitsprüfung des Formulars ist fehlgeschlagen. Bitte laden Sie die Seite "
        "neu und versuchen Sie es noch einmal.",
        "The form's security check failed. Please reload the page and try again.",
    ),
    "rate_limited": (
        "Zu viele Anfragen in kurzer Zeit. Bitte warten Sie einige Minuten.",
        "Too many requests in a short time. Please wait a few minutes.",
    ),
    "not_found": ("Diese Seite gibt es nicht.", "This page does not exist."),
    "server_error": (
        "Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.",
        "A technical error occurred. Please try again later.",
    ),
    "slot_taken": (
        "Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie einen anderen.",
        "This slot has just been taken. Please choose another one.",
    ),
    "slot_unavailable": (
        "Zu diesem Zeitpunkt kann kein Termin gebucht werden.",
        "No appointment can be booked at this time.",
    ),
    "appointment_closed": (
        "Dieser Termin kann nicht mehr geändert werden.",
        "This appointment can no longer be changed.",
    ),
    "waiting_room_title": ("Warteraum", "Waiting room"),
    "waiting_room_pending": (
        "Der virtuelle Warteraum ist in dieser Version noch nicht freigeschaltet. "
        "Die Mitarbeitenden melden sich zur Terminzeit bei Ihnen.",
        "The virtual waiting room is not enabled in this version yet. "
        "Staff will contact you at the appointment time.",
    ),
}


def language(request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else "de"


def translate(key: str, lang: str, **values: object) -> str:
    german, english = TEXTS[key]
    text = english if lang == "en" else german
    return text.format(**values) if values else text


def error_text(code: str, german_message: str, lang: str) -> str:
    """A domain error's message in the page language."""
    if lang == "en" and code in TEXTS:
        return TEXTS[code][1]
    return german_message
