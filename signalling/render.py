"""Rendering pages: every template gets the language, texts, town and CSRF token."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from office.localtime import format_datetime, format_day, format_euros, format_time
from signalling import i18n
from signalling.keys import CSRF, SETTINGS, TOWN


def page_context(request: web.Request) -> dict[str, Any]:
    """What every template may use. Built per render, so error pages made by
    middlewares get it too."""
    lang = i18n.language(request)
    town = request.app[TOWN]
    tz = town.tz

    def t(key: str, **values: object) -> str:
        return i18n.translate(key, lang, **values)

    return {
        "lang": lang,
        "t": t,
        "town": town,
        "demo": request.app[SETTINGS].demo,
        "csrf_token": lambda: request.app[CSRF].token(request),
        "when": lambda instant: format_datetime(instant, tz, lang),
        "clock": lambda instant: format_time(instant, tz, lang),
        "hhmm": lambda instant: f"{instant.astimezone(tz):%H:%M}",
        "day": lambda d: format_day(d, lang),
        "euros": lambda cents: format_euros(cents, lang),
        "path": request.path,
        "weekday_names": WEEKDAY_NAMES[lang],
        "static": lambda path: str(request.app.router["static"].url_for(filename=path)),
    }


WEEKDAY_NAMES = {
    "de": {
        "mon": "Montag",
        "tue": "Dienstag",
        "wed": "Mittwoch",
        "thu": "Donnerstag",
        "fri": "Freitag",
        "sat": "Samstag",
        "sun": "Sonntag",
    },
    "en": {
        "mon": "Monday",
        "tue": "Tuesday",
        "wed": "Wednesday",
        "thu": "Thursday",
        "fri": "Friday",
        "sat": "Saturday",
        "sun": "Sunday",
    },
}


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template, request, {**page_context(request), **(context or {})}, status=status
    )
    response.headers["Cache-Control"] = "no-store"  # pages may show personal data
    return response


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    lang = i18n.language(request)
    return render(
        request,
        "error.html",
        {"title": i18n.translate("error_title", lang), "message": message},
        status=status,
    )


def redirect(location: str) -> web.Response:
    """A 303 See Other that can carry cookies (raising HTTPSeeOther would work too,
    but a returned response reads more plainly where cookies are set)."""
    return web.Response(status=303, headers={"Location": location})
