"""Rendering pages: every template gets the language, town and CSRF token (its texts
come through ``_()``, see :mod:`common.i18n`)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel.dates import get_day_names

from common.i18n import languages, native_name, translate
from office.localtime import format_datetime, format_day, format_euros, format_time
from signalling import i18n
from signalling.keys import CSRF, OFFICE, SETTINGS


def page_context(request: web.Request) -> dict[str, Any]:
    """What every template may use. Built per render, so error pages made by
    middlewares get it too."""
    lang = i18n.language(request)
    town = request.app[OFFICE].town  # with the admins' service settings
    tz = town.tz
    return {
        "lang": lang,
        "other_languages": [(other, native_name(other)) for other in languages() if other != lang],
        "town": town,
        "demo": request.app[SETTINGS].demo,
        "csrf_token": lambda: request.app[CSRF].token(request),
        "when": lambda instant: format_datetime(instant, tz, lang),
        "clock": lambda instant: format_time(instant, tz, lang),
        "hhmm": lambda instant: f"{instant.astimezone(tz):%H:%M}",
        "day": lambda d: format_day(d, lang),
        "euros": lambda cents: format_euros(cents, lang),
        "path": request.path,
        "weekday_names": weekday_names(lang),
        "static": lambda path: str(request.app.router["static"].url_for(filename=path)),
    }


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_names(lang: str) -> dict[str, str]:
    """The town's hours name their days "mon" … "sun"; Babel knows them in every language."""
    names = get_day_names("wide", locale=lang)  # 0 is Monday
    return {key: str(names[index]) for index, key in enumerate(WEEKDAYS)}


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
        {"title": translate(lang, "Das hat nicht geklappt"), "message": message},
        status=status,
    )


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    """An error page whose message is a German message id (marked ``N_``), shown in
    the page's language."""
    return error_page(request, status, translate(i18n.language(request), message))


def too_many_requests(request: web.Request) -> web.Response:
    """The page for a visitor a rate limit (booking, links, login) turned away."""
    message = translate(
        i18n.language(request), "Zu viele Anfragen in kurzer Zeit. Bitte warten Sie einige Minuten."
    )
    return error_page(request, 429, message)


def redirect(location: str) -> web.Response:
    """A 303 See Other that can carry cookies (raising HTTPSeeOther would work too,
    but a returned response reads more plainly where cookies are set)."""
    return web.Response(status=303, headers={"Location": location})
