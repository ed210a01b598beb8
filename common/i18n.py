"""The texts people read, in their language: gettext message catalogues.

German is the source language: the texts written in the code and the templates are
the message ids, so a translator reads real sentences, not keys. Each other language
is a catalogue, ``locale/<lang>/LC_MESSAGES/messages.po``, read with Babel when first
needed; there is no compiled ``.mo`` to keep in step. The languages offered are
German and whichever catalogues are present: adding one is ``pybabel init`` and a
translation, no code (see "Languages" in the README).

Placeholders are ``%(name)s`` everywhere (Jinja's newstyle gettext formats the same
way). A text a template or a call of :func:`translate` names literally is found by
``make messages``; one that is only looked up later (an error's message, a hint from
the vision code) is marked where it is written with :func:`N_`.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from typing import Any

import jinja2
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2.runtime import Context
from markupsafe import escape

from common.assets import asset_dir

SOURCE_LANGUAGE = "de"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


@cache
def _catalogues() -> dict[str, gettext.NullTranslations]:
    """Every language's translations, German (the message ids themselves) first."""
    catalogues: dict[str, gettext.NullTranslations] = {SOURCE_LANGUAGE: gettext.NullTranslations()}
    for po in sorted(asset_dir("locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po.parent.parent.name
        with po.open("rb") as source:
            catalogue = read_po(source, locale=language, domain=DOMAIN)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)  # fuzzy entries are left out: they show German
        compiled.seek(0)
        catalogues[language] = Translations(compiled, domain=DOMAIN)
    return catalogues


def languages() -> tuple[str, ...]:
    """The languages a person may choose, German first."""
    return tuple(_catalogues())


def catalogue(language: str) -> gettext.NullTranslations:
    """The translations for ``language``; German for a language without a catalogue."""
    catalogues = _catalogues()
    return catalogues.get(language, catalogues[SOURCE_LANGUAGE])


def translate(language: str, message: str, **values: Any) -> str:
    """``message`` (the German text) in ``language``, its ``%(name)s`` filled in."""
    return catalogue(language).gettext(message) % values


def native_name(language: str) -> str:
    """The language's name in itself ("Deutsch", "English"), for the language switch."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def install(environment: jinja2.Environment) -> None:
    """Give the templates ``_()``, ``gettext()``, ``ngettext()`` and ``{% trans %}``,
    translating into the ``lang`` of each render's own context (a page's visitor, a
    mail's recipient), never a process-wide language."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )


def _language_of(context: Context) -> str:
    language = context.get("lang", SOURCE_LANGUAGE)
    return language if isinstance(language, str) else SOURCE_LANGUAGE


def _safe(context: Context, text: str) -> str:
    # Catalogue texts are plain text: in HTML they are escaped like any other value
    # (a translator cannot add markup), and newstyle gettext then escapes the values.
    return escape(text) if context.eval_ctx.autoescape else text


@jinja2.pass_context
def _gettext(context: Context, message: str) -> str:
    return _safe(context, catalogue(_language_of(context)).gettext(message))


@jinja2.pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _safe(context, catalogue(_language_of(context)).ngettext(singular, plural, n))
