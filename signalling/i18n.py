"""A page's language, and refusals in it. The texts themselves are in the message
catalogues (:mod:`common.i18n`).

The language is German unless the visitor chose another one the catalogues offer
(``?lang=en``, kept in a cookie by ``middleware.language_cookie``).
"""

from __future__ import annotations

from aiohttp import web

from common.errors import UserError
from common.i18n import SOURCE_LANGUAGE, catalogue, languages
from signalling import cookies


def language(request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get(cookies.LANGUAGE)
    return chosen if chosen in languages() else SOURCE_LANGUAGE


def field_errors(fields: dict[str, str], lang: str) -> dict[str, str]:
    """A form's field messages (German message ids, marked with ``N_``) in ``lang``."""
    messages = catalogue(lang)
    return {field: messages.gettext(text) for field, text in fields.items()}


def error_text(error: UserError, lang: str) -> str:
    """A refusal's message in the page's language. Its German message is the message
    id (marked with ``N_`` where the error is defined); a message the catalogue does
    not know (one put together at run time) stays German."""
    return catalogue(lang).gettext(error.message)
