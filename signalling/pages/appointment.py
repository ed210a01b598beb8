"""The citizen's own appointment: opened from the mailed link, then by cookie.

``/t/{token}`` checks the link, swaps it for an HttpOnly session cookie and
redirects to a URL without the token, so the token does not stay in the address
bar, the history or any later Referer.
"""

from __future__ import annotations

from gettext import NullTranslations
from typing import Any

from aiohttp import web

from common.i18n import N_, catalogue, translate
from office import retention
from office.booking_request import parse_starts_at
from office.errors import OfficeError, TokenInvalid
from office.models import Appointment
from office.tokens import Audience
from signalling import cookies, i18n
from signalling.clients import LINK, allow, secure_cookies
from signalling.keys import APPOINTMENTS, CLOCK, OFFICE
from signalling.pages import connection_check
from signalling.pages.booking import parse_day, slot_picker
from signalling.render import error_page, redirect, render, too_many_requests

routes = web.RouteTableDef()
NEXT_PAGES = {
    "loeschen": "/termin/daten-loeschen",
    "absagen": "/termin/absagen",
    "umbuchen": "/termin/verschieben",  # the rebooking mail (office.absences)
    "status": "/termin/status",
}


def _invalid_link(request: web.Request) -> web.Response:
    response = render(request, "link_invalid.html", status=404)
    response.del_cookie(cookies.APPOINTMENT, path="/")
    return response


def set_session(
    request: web.Request, response: web.StreamResponse, appointment: Appointment
) -> None:
    token = request.app[OFFICE].issue_token(appointment, Audience.APPOINTMENT_SESSION)
    response.set_cookie(
        cookies.APPOINTMENT,
        token,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
        path="/",
    )


@routes.get("/t/{token}", name="join_link")
async def open_link(request: web.Request) -> web.StreamResponse:
    if not await allow(request, "link", LINK):
        return too_many_requests(request)
    try:
        appointment = await request.app[APPOINTMENTS].open_token(
            request.match_info["token"], Audience.JOIN_LINK
        )
    except TokenInvalid:
        return _invalid_link(request)
    response = redirect(NEXT_PAGES.get(request.query.get("next", ""), "/termin"))
    set_session(request, response, appointment)
    return response


async def current(request: web.Request) -> Appointment:
    """The appointment of this browser's session cookie."""
    try:
        return await request.app[APPOINTMENTS].open_token(
            request.cookies.get(cookies.APPOINTMENT, ""), Audience.APPOINTMENT_SESSION
        )
    except TokenInvalid:
        raise web.HTTPNotFound() from None


def _page(request: web.Request, appointment: Appointment, **extra: object) -> dict[str, object]:
    office = request.app[OFFICE]
    now = request.app[CLOCK]()
    checkin = office.checkin_window(appointment)
    return {
        "appointment": appointment,
        "service": office.service_of(appointment),
        "checkin": checkin,
        "checkin_open": checkin.start <= now < checkin.end,
        "checkin_over": now >= checkin.end,
        # Counted by the server's clock: a citizen's clock may be minutes off.
        "opens_in_seconds": max(0, int((checkin.start - now).total_seconds()) + 1),
        "before_minutes": office.town.booking.checkin_before_minutes,
        **extra,
    }


@routes.get("/termin", name="appointment")
async def appointment_page(request: web.Request) -> web.Response:
    try:
        appointment = await current(request)
    except web.HTTPNotFound:
        return _invalid_link(request)
    notice = request.query.get("hinweis")
    return render(request, "appointment.html", _page(request, appointment, notice=notice))


@routes.get("/termin/absagen")
async def cancel_confirm(request: web.Request) -> web.Response:
    appointment = await current(request)
    return render(request, "cancel.html", _page(request, appointment))


@routes.post("/termin/absagen")
async def cancel(request: web.Request) -> web.Response:
    appointment = await current(request)
    try:
        await request.app[APPOINTMENTS].cancel(appointment.id)
    except OfficeError as exc:
        lang = i18n.language(request)
        return error_page(request, 409, i18n.error_text(exc, lang))
    response = render(request, "cancelled.html")
    response.del_cookie(cookies.APPOINTMENT, path="/")
    return response


@routes.get("/termin/daten-loeschen")
async def delete_confirm(request: web.Request) -> web.Response:
    appointment = await current(request)
    return render(request, "delete.html", _page(request, appointment))


@routes.post("/termin/daten-loeschen")
async def delete_data(request: web.Request) -> web.Response:
    appointment = await current(request)
    await retention.forget(request.app[OFFICE], appointment.id)
    response = render(request, "deleted.html")
    response.del_cookie(cookies.APPOINTMENT, path="/")
    return response


@routes.get("/termin/verschieben")
async def reschedule_form(request: web.Request) -> web.Response:
    appointment = await current(request)
    service = request.app[OFFICE].service_of(appointment)
    picker = await slot_picker(request, service, parse_day(request.query.get("tag")))
    return render(request, "reschedule.html", {**_page(request, appointment), **picker})


@routes.post("/termin/verschieben")
async def reschedule(request: web.Request) -> web.StreamResponse:
    appointment = await current(request)
    form = await request.post()
    raw = form.get("starts_at")
    starts_at = parse_starts_at(raw) if isinstance(raw, str) else None
    lang = i18n.language(request)
    if starts_at is None:
        return error_page(
            request, 400, translate(lang, "Zu diesem Zeitpunkt kann kein Termin gebucht werden.")
        )
    try:
        moved = await request.app[APPOINTMENTS].reschedule(appointment.id, starts_at)
    except OfficeError as exc:
        return error_page(request, 409, i18n.error_text(exc, lang))
    response = redirect("/termin?hinweis=verschoben")
    set_session(request, response, moved.appointment)
    return response


# The strings citizen.js shows: a JSON island in the page (the CSP runs no inline script).
# citizen.js fills in "{position}", "{minutes}" and "{clerk}" itself.
WAITING_ROOM_SCRIPT_TEXTS = {
    "device_check_running": N_("Kamera und Mikrofon werden gestartet …"),
    "device_check_ok": N_("Kamera und Mikrofon funktionieren. Sie können jetzt in den Warteraum."),
    "problem_denied_title": N_("Kamera und Mikrofon sind blockiert"),
    "problem_denied": N_(
        "Ihr Browser hat den Zugriff nicht erlaubt. Geben Sie ihn frei, wie unten beschrieben, "
        "und starten Sie dann Kamera und Mikrofon erneut."
    ),
    "problem_notfound_title": N_("Keine Kamera und kein Mikrofon gefunden"),
    "problem_notfound": N_(
        "Schließen Sie eine Kamera oder ein Headset an, oder nutzen Sie ein Smartphone oder "
        "Tablet. Starten Sie dann Kamera und Mikrofon erneut."
    ),
    "problem_busy_title": N_("Kamera oder Mikrofon ist belegt"),
    "problem_busy": N_(
        "Ein anderes Programm benutzt sie gerade, etwa eine andere Videokonferenz. Schließen Sie "
        "es und versuchen Sie es erneut."
    ),
    "problem_unsupported_title": N_("Ihr Browser unterstützt keine Videotermine"),
    "problem_unsupported": N_(
        "Bitte öffnen Sie den Link in einem aktuellen Chrome, Edge, Firefox, Safari oder Samsung "
        "Internet."
    ),
    "problem_no_camera": N_(
        "Keine Kamera gefunden: Die Sachbearbeitung kann Sie nicht sehen. Für eine "
        "Identitätsprüfung brauchen Sie eine Kamera."
    ),
    "problem_no_microphone": N_(
        "Kein Mikrofon gefunden: Sie hören die Sachbearbeitung und können ihr im Chat schreiben."
    ),
    "queue_joining": N_("Sie werden im Warteraum angemeldet …"),
    "queue_position": N_("Sie sind an Position %(position)s der Warteschlange."),
    "queue_estimate": N_("Geschätzte Wartezeit: etwa %(minutes)s Minuten."),
    "queue_next_up": N_("Sie sind als Nächstes an der Reihe."),
    "queue_no_clerk": N_(
        "Gerade ist niemand von der Sachbearbeitung im Dienst. Bleiben Sie bitte auf dieser "
        "Seite: Wir rufen Sie auf."
    ),
    "notify_default": N_(
        "Mit einer Benachrichtigung merken Sie den Aufruf auch in einem anderen Fenster."
    ),
    "notify_granted": N_("Benachrichtigungen sind eingeschaltet."),
    "notify_denied": N_("Benachrichtigungen sind blockiert. Lassen Sie diese Seite sichtbar."),
    "notify_unsupported": N_(
        "Ihr Browser zeigt keine Benachrichtigungen. Lassen Sie diese Seite sichtbar."
    ),
    "returned_requeued_by_clerk": N_(
        "Die Sachbearbeitung hat Sie in den Warteraum zurückgesetzt. Sie sind als Nächstes an der "
        "Reihe."
    ),
    "returned_clerk_lost": N_(
        "Die Verbindung zur Sachbearbeitung ist abgebrochen. Sie sind als Nächstes an der Reihe."
    ),
    "returned_transferred": N_(
        "Sie werden an eine Kollegin oder einen Kollegen weitergegeben und sind dort als "
        "Nächstes an der Reihe. Bitte bleiben Sie auf dieser Seite."
    ),
    "error_checkin_not_open": N_(
        "Der Warteraum öffnet erst kurz vor Ihrem Termin. Bitte kommen Sie dann wieder."
    ),
    "error_generic": N_("Das hat nicht geklappt. Bitte laden Sie die Seite neu."),
    "connection_lost": N_(
        "Die Verbindung zum Server ist unterbrochen und wird wiederhergestellt …"
    ),
    "connection_refused": N_("Bitte öffnen Sie den Link aus Ihrer E-Mail noch einmal."),
    "called_title": N_("Sie sind an der Reihe"),
    "called_body": N_("%(clerk)s ist jetzt für Sie da."),
    "call_with": N_("Ihre Sachbearbeitung: %(clerk)s"),
    "call_connecting": N_("Verbindung wird aufgebaut …"),
    "call_connected": N_("Verbunden."),
    "call_peer_left": N_("Verbindung zur Sachbearbeitung unterbrochen – bitte warten"),
    "peer_muted": N_("Die Sachbearbeitung ist stummgeschaltet."),
    "peer_camera_off": N_("Die Kamera der Sachbearbeitung ist aus."),
    "own_muted": N_("Ihr Mikrofon ist aus."),
    "own_camera_off": N_("Ihre Kamera ist aus."),
    "hang_up_confirm": N_(
        "Möchten Sie das Gespräch wirklich verlassen? Ihr Termin ist dann beendet."
    ),
    "chat_me": N_("Sie"),
    "chat_clerk": N_("Sachbearbeitung"),
    "chat_failed": N_("Die Nachricht wurde nicht gesendet."),
    "status_pay_paypal": N_("Mit PayPal bezahlen"),
    "error_checkin_closed": N_("Die Zeit zum Betreten des Warteraums ist vorbei."),
    "guest_interpreter": N_(
        "Eine Dolmetscherin oder ein Dolmetscher, von der Sachbearbeitung eingeladen, nimmt "
        "am Gespräch teil."
    ),
    "guest_companion": N_(
        "Eine Begleitperson, von der Sachbearbeitung eingeladen, nimmt am Gespräch teil."
    ),
    "guest_guest": N_("Eine weitere Person, von der Sachbearbeitung eingeladen, nimmt teil."),
    "guest_muted": N_("Die weitere Person ist stummgeschaltet."),
    "guest_camera_off": N_("Die Kamera der weiteren Person ist aus."),
}
# What verification.js shows the citizen during the identity check (another island).
VERIFICATION_SCRIPT_TEXTS: dict[str, Any] = {
    "documents": {"id_card": N_("Personalausweis"), "passport": N_("Reisepass")},
    "consented": N_("Danke. Die Kamera wird für die Aufnahme verbunden …"),
    "capture_ready": N_("Die Kamera ist für die Aufnahme verbunden."),
    "guidance_ok": N_("Gut so – bitte halten Sie den Ausweis ruhig."),
    "prompts": {
        "front": N_("Bitte halten Sie die Vorderseite Ihres Ausweises ruhig in die Kamera."),
        "back": N_("Bitte drehen Sie den Ausweis um und halten Sie die Rückseite in die Kamera."),
        "tilt_a": N_("Bitte kippen Sie den Ausweis langsam zur einen Seite."),
        "tilt_b": N_("Und jetzt bitte langsam zur anderen Seite kippen."),
        "face": N_("Bitte legen Sie den Ausweis beiseite und schauen Sie direkt in die Kamera."),
    },
    "prompt_taken": N_("Danke, die Aufnahme ist gemacht."),
    "capture_failed": N_("Die Kamera ließ sich für die Aufnahme nicht verbinden."),
    "still_sending": N_("Foto wird übertragen …"),
    "still_sent": N_("Foto übertragen."),
    "still_failed": N_("Das Foto konnte nicht übertragen werden."),
    "code_format": N_("Bitte geben Sie die 6 Ziffern aus der E-Mail ein."),
    "code_passed": N_("Der Code ist richtig."),
    "code_wrong": N_("Der Code ist nicht richtig. Bitte versuchen Sie es noch einmal."),
    "outcomes": {
        "verified": N_("Ihre Identität ist verifiziert."),
        "failed": N_("Ihre Identität konnte nicht bestätigt werden."),
    },
    "failed": N_("Das hat nicht geklappt. Bitte laden Sie die Seite neu."),
}
SCRIPT_PLACEHOLDERS = {name: f"{{{name}}}" for name in ("position", "minutes", "clerk")}


@routes.get("/termin/warteraum")
async def waiting_room(request: web.Request) -> web.Response:
    """Device check, waiting room and call: one page that citizen.js switches between."""
    appointment = await current(request)
    page = _page(request, appointment)
    service = request.app[OFFICE].service_of(appointment)
    lang = i18n.language(request)
    messages = catalogue(lang)
    texts = {
        key: messages.gettext(text) % SCRIPT_PLACEHOLDERS
        for key, text in WAITING_ROOM_SCRIPT_TEXTS.items()
    }
    texts.update(connection_check.script_texts(messages))
    return render(
        request,
        "waiting_room.html",
        {
            **page,
            "service_name": service.display_name(lang),
            "documents": service.display_documents(lang),
            "delivery": service.delivery.value,
            "language": lang,
            "script_texts": texts,
            "verification_texts": _translated(VERIFICATION_SCRIPT_TEXTS, messages),
        },
    )


def _translated(texts: Any, messages: NullTranslations) -> Any:
    """``texts`` (nested dicts of marked German texts) in the page's language."""
    if isinstance(texts, dict):
        return {key: _translated(value, messages) for key, value in texts.items()}
    return messages.gettext(texts)
