"""The waiting room's connection check: what the citizen's browser needs to judge its
network before the call, from our own server only (static/js/connection_check.js).

- ``GET /termin/verbindung``: the STUN/TURN servers, as a call's ``call_assigned``
  brings them (``{"ice_servers", "ice_transport_policy"}``), with TURN credentials that
  last ten minutes. The browser gathers candidates with them: a server-reflexive or a
  relay candidate shows that our STUN or TURN server answers from the citizen's network.
- ``GET /termin/verbindung/probe?kib=N``: N KiB (1-512) of random bytes, never cached
  and incompressible, so that timing the download measures the line, not a cache or a
  proxy's gzip.
- ``POST /termin/verbindung/probe``: a form (``csrf``, ``probe`` up to 256 KiB) whose
  body is read and dropped; timing the upload measures the way out, the one a
  citizen's camera needs.

Only for a citizen whose appointment session is valid and whose check-in has not closed
yet (TURN credentials are a relay on the town's bandwidth), and a few checks per
appointment in ten minutes. Answers are JSON (or the bytes); a refusal is
``{"error": {"code", "message"}}``, which the page reports as "not measured": the
check never stops anyone from joining.
"""

from __future__ import annotations

import os
import time
from gettext import NullTranslations

from aiohttp import web

from common.i18n import N_, translate
from office.errors import TokenInvalid
from office.models import Appointment
from office.tokens import Audience
from signalling import cookies, i18n
from signalling.clients import CONNECTION_CHECK
from signalling.errors import api_error
from signalling.keys import APPOINTMENTS, CHECK_ICE, CLOCK, OFFICE, RATE_LIMITER
from signalling.middleware import allow_large_body

routes = web.RouteTableDef()
# How long the check's TURN credentials last (signalling/wiring.py): the check gathers
# candidates for a few seconds, so a credential outlives it by far and still expires
# long before a call's, which comes with call_assigned.
CHECK_TURN_TTL = 600
MAX_DOWNLOAD_KIB = 512
MAX_UPLOAD_BYTES = 256 * 1024
FIELD = "probe"

# What connection_check.js (the device check) and quality.js (the call's audio-only
# mode) show the citizen, in the waiting room's text island beside citizen.js's texts.
# The scripts fill in "{down}" and "{up}" themselves.
SCRIPT_TEXTS = {
    "check_running": N_("Ihre Internetverbindung wird geprüft …"),
    "check_good": N_("Ihre Verbindung reicht für Video."),
    "check_weak": N_(
        "Ihre Verbindung ist schwach: Wir schalten bei Bedarf auf nur Ton um. Rücken Sie näher "
        "an den Router, oder beenden Sie Downloads und Videos auf anderen Geräten."
    ),
    "check_blocked": N_(
        "Unser Verbindungsserver antwortet Ihrem Netz nicht: Das Videogespräch kommt dann "
        "vielleicht nicht zustande. Nutzen Sie wenn möglich ein anderes Netz, etwa mobile Daten "
        "statt eines Firmen- oder Gäste-WLANs."
    ),
    "check_unmeasured": N_("Die Geschwindigkeit Ihrer Verbindung ließ sich nicht messen."),
    "check_speed": N_("Gemessen: Empfangen etwa %(down)s Mbit/s, Senden etwa %(up)s Mbit/s."),
    "check_join_anyway": N_("Sie können trotzdem in den Warteraum."),
    "quality_audio_only": N_(
        "Nur Ton: Ihre Verbindung ist zu schwach für Video. Wir versuchen es später von selbst "
        "wieder."
    ),
    "quality_trying": N_("Video wird wieder versucht …"),
    "quality_video_back": N_("Ihre Verbindung reicht wieder für Video."),
}
PLACEHOLDERS = {name: f"{{{name}}}" for name in ("down", "up")}


def script_texts(messages: NullTranslations) -> dict[str, str]:
    """``SCRIPT_TEXTS`` in the page's language, placeholders as the scripts fill them."""
    return {key: messages.gettext(text) % PLACEHOLDERS for key, text in SCRIPT_TEXTS.items()}


async def _checking(request: web.Request) -> Appointment | web.Response:
    """The appointment of this browser's session, while its check-in is still to come
    or open; else the refusal to answer with."""
    try:
        appointment = await request.app[APPOINTMENTS].open_token(
            request.cookies.get(cookies.APPOINTMENT, ""), Audience.APPOINTMENT_SESSION
        )
    except TokenInvalid:
        return _refusal(request, 404, "not_found")
    if request.app[CLOCK]() >= request.app[OFFICE].checkin_window(appointment).end:
        return _refusal(request, 409, "checkin_closed")
    # Counted per appointment, not per address: citizens behind one mobile carrier's
    # address would otherwise use up each other's checks.
    key = f"connection_check:{appointment.id}"
    if not await request.app[RATE_LIMITER].allow(key, CONNECTION_CHECK):
        return _refusal(request, 429, "rate_limited")
    return appointment


def _refusal(request: web.Request, status: int, code: str) -> web.Response:
    message = translate(i18n.language(request), "Die Verbindung lässt sich gerade nicht prüfen.")
    return api_error(status, code, message)


@routes.get("/termin/verbindung")
async def ice_servers(request: web.Request) -> web.Response:
    appointment = await _checking(request)
    if isinstance(appointment, web.Response):
        return appointment
    ice = request.app[CHECK_ICE]
    # The same TURN user as the citizen's call (calls.py): coturn's logs name one person.
    user = f"a-{appointment.id[:8]}"
    return web.json_response(
        {
            "ice_servers": ice.servers(user, time.time()),
            "ice_transport_policy": ice.transport_policy,
        }
    )


@routes.get("/termin/verbindung/probe")
async def download_probe(request: web.Request) -> web.Response:
    refused = await _checking(request)
    if isinstance(refused, web.Response):
        return refused
    try:
        kib = int(request.query.get("kib", "256"))
    except ValueError:
        kib = 0
    if not 1 <= kib <= MAX_DOWNLOAD_KIB:
        return api_error(400, "invalid_payload", "kib: 1-512")
    # Random bytes: no proxy can compress them, so the timing is the line's.
    return web.Response(body=os.urandom(kib * 1024), content_type="application/octet-stream")


@routes.post("/termin/verbindung/probe")
@allow_large_body(MAX_UPLOAD_BYTES + 16 * 1024)
async def upload_probe(request: web.Request) -> web.Response:
    refused = await _checking(request)
    if isinstance(refused, web.Response):
        return refused
    # The CSRF middleware has read (and size-limited) the whole form: the upload is
    # over once this runs, which is all the page times.
    form = await request.post()
    if not isinstance(form.get(FIELD), web.FileField):
        return api_error(400, "invalid_payload", FIELD)
    return web.Response(status=204)
