"""The message catalogues are complete and in step with the code, and every page and
mail renders in every language from them.

German is the source language (the texts in the code are the message ids); each
other language is ``locale/<lang>/LC_MESSAGES/messages.po``. `make messages`
re-extracts ``locale/messages.pot`` and merges it into the catalogues.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from common import i18n
from common.assets import asset_dir
from office import mail
from office.catalogue import Service, load_town
from office.mail import MailKind

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
# As in the Makefile's `messages` target: common.i18n.translate(language, text).
KEYWORDS = {**DEFAULT_KEYWORDS, "translate": (2,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TRANSLATIONS = sorted(LOCALE.glob("*/LC_MESSAGES/messages.po"))
OTHER_LANGUAGES = [po.parent.parent.name for po in TRANSLATIONS]
# The staff's pages are German only (clerks work in German); only the frame they share
# with the citizens' pages (base.html) is translated.
GERMAN_ONLY = ("staff/", "dev/")


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def _ids(catalogue: Catalog) -> set[str]:
    return {str(message.id) for message in catalogue if message.id}


def test_the_makefile_extracts_with_the_same_keywords() -> None:
    assert "--keywords translate:2" in (ROOT / "Makefile").read_text()


def test_the_template_is_up_to_date_with_the_sources() -> None:
    """A text added or changed in the code or a template without `make messages`
    would reach no translator."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    extracted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }
    extracted.discard("")
    committed = _ids(_read(LOCALE / "messages.pot"))
    assert sorted(extracted - committed) == [], "new texts: run make messages"
    assert sorted(committed - extracted) == [], "texts gone from the code: run make messages"


def test_there_is_at_least_the_english_catalogue() -> None:
    assert "en" in OTHER_LANGUAGES
    assert i18n.languages()[0] == "de"
    assert set(i18n.languages()) == {"de", *OTHER_LANGUAGES}


@pytest.mark.parametrize("po", TRANSLATIONS, ids=OTHER_LANGUAGES)
def test_every_text_is_translated_and_nothing_else(po: Path) -> None:
    language = po.parent.parent.name
    catalogue = _read(po, language)
    template = _ids(_read(LOCALE / "messages.pot"))
    assert _ids(catalogue) == template
    assert list(catalogue.obsolete) == []
    untranslated = [
        message.id
        for message in catalogue
        if message.id and (not message.string or message.fuzzy or not str(message.string).strip())
    ]
    assert untranslated == []


@pytest.mark.parametrize("po", TRANSLATIONS, ids=OTHER_LANGUAGES)
def test_placeholders_agree(po: Path) -> None:
    """A translation that drops, adds or misspells a %(name)s would fail or show the
    wrong value at run time."""
    wrong = [
        (message.id, message.string)
        for message in _read(po, po.parent.parent.name)
        if message.id
        and sorted(PLACEHOLDER.findall(str(message.id)))
        != sorted(PLACEHOLDER.findall(str(message.string)))
    ]
    assert wrong == []


# -- rendering ------------------------------------------------------------------------


def _german_only_words() -> set[str]:
    """Words of the German texts that no translation uses: one of them in a page in
    another language means a text that was not translated. With umlauts, which no
    translation (nor the neutral test data below) contains, this is robust."""
    german: set[str] = set()
    translated: set[str] = set()
    for po in TRANSLATIONS:
        for message in _read(po, po.parent.parent.name):
            if message.id:
                german |= set(re.findall(r"\w{4,}", PLACEHOLDER.sub("", str(message.id))))
                translated |= set(re.findall(r"\w{4,}", PLACEHOLDER.sub("", str(message.string))))
    return german - translated


GERMAN_ONLY_WORDS = _german_only_words()
# Names that stay as they are in every language.
NAMES = {"Württemberg"}


def _suspicious(text: str) -> list[str]:
    visible = re.sub(r"<[^>]*>", " ", text)  # the tags' names and attributes are code
    words = set(re.findall(r"\w+", visible))
    umlauts = {word for word in words if re.search("[äöüßÄÖÜ]", word)}
    return sorted(((words & GERMAN_ONLY_WORDS) | umlauts) - NAMES)


class _Blank(jinja2.ChainableUndefined):
    """A value a page was not given: empty, and so is anything taken from it."""

    # Jinja's Undefined refuses calls and comparisons (typed as never returning).
    def __call__(self, *args: Any, **kwargs: Any) -> _Blank:  # type: ignore[override]
        return self

    def _never(self, *args: Any, **kwargs: Any) -> bool:
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _never  # type: ignore[assignment]


def _page_environment() -> jinja2.Environment:
    """The app's template setup, with every value the pages are given left undefined
    (so every page renders without its handler): what is left is the pages' text."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(asset_dir("templates")),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=_Blank,
    )
    i18n.install(environment)
    return environment


def _page_context(language: str) -> dict[str, Any]:
    blank = "x"
    return {
        "lang": language,
        "other_languages": [],
        "town": SimpleNamespace(
            town=SimpleNamespace(office_name="Office", name="Town", email="a@b.c", phone="1")
        ),
        "csrf_token": lambda: blank,
        "static": lambda path: f"/static/{path}",
        "when": lambda _: blank,
        "clock": lambda _: blank,
        "hhmm": lambda _: blank,
        "day": lambda _: blank,
        "euros": lambda _: blank,
        "short": lambda _: blank,
        "weekday_names": {},
        "errors": {},
        "walk_in_now": set(),
        "values": {},
        "script_texts": {},
        "verification_texts": {},
        "path": "/",
    }


PAGES = sorted(
    path.relative_to(asset_dir("templates")).as_posix()
    for path in asset_dir("templates").rglob("*.html")
    if not path.name.startswith("_")
)


def test_the_pages_are_found() -> None:
    assert {"base.html", "home.html", "book.html", "waiting_room.html", "status.html"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_every_language(page: str) -> None:
    environment = _page_environment()
    german = environment.get_template(page).render(_page_context("de"))
    for language in OTHER_LANGUAGES:
        other = environment.get_template(page).render(_page_context(language))
        assert other != german, f"{page} shows nothing in {language}"
        if not page.startswith(GERMAN_ONLY):
            assert _suspicious(other) == [], f"{page} in {language}"
            assert f'lang="{language}"' in other or page.startswith("dev/")


MAIL_CONTEXT: dict[str, Any] = {
    "town": SimpleNamespace(
        town=SimpleNamespace(office_name="Office", name="Town", email="a@b.c", phone="1")
    ),
    "service": SimpleNamespace(
        documents=("Document",),
        display_documents=lambda language: ("Document",),
        verification_required=True,
        duration_minutes=20,
    ),
    "service_name": "Service",
    "name": "Kim Doe",  # neutral: no word of the German texts
    "reference": "REF-1",
    "when": "then",
    "checkin_from": "then",
    "join_url": "https://x/t/1",
    "delete_url": "https://x/d",
    "booking_url": "https://x/b",
    "retention_days": 7,
    "code": "123456",
    "code_minutes": 10,
    "case_reference": "CASE-1",
    "case_service": "Service",
    "status": "State",
    "status_note": "Note",
    "status_url": "https://x/s",
    "number": "2026-000001",
    "amount": "1",
    "due": date(2026, 12, 1).isoformat(),
    "payment_reference": "RF18",
    "kind": "interpreter",  # a guest's invitation
    "link": "https://x/g",
    "until": "then",
}


# Mails to the town's staff are German only, as the staff's pages are.
STAFF_MAILS = {MailKind.BARRIER_REPORT, MailKind.STAFF_INVITATION}


@pytest.mark.parametrize("kind", [kind for kind in MailKind if kind not in STAFF_MAILS])
def test_every_mail_renders_in_every_language(kind: MailKind) -> None:
    """Every branch shown (documents, the identity check, a note, a link)."""
    template = mail._templates.get_template(f"{kind.value}.txt")
    german = template.render({**MAIL_CONTEXT, "lang": "de"})
    assert german.startswith("Subject: ") and "Mit freundlichen Grüßen" in german
    for language in OTHER_LANGUAGES:
        other = template.render({**MAIL_CONTEXT, "lang": language})
        assert other.startswith("Subject: ")
        assert other != german
        assert _suspicious(other) == [], f"{kind.value} in {language}"


def test_an_unknown_language_falls_back_to_german() -> None:
    assert i18n.translate("xx", "Sprache") == "Sprache"
    assert i18n.translate("en", "Sprache") == "Language"
    assert i18n.translate("en", "Guten Tag %(name)s,", name="<b>") == "Hello <b>,"


def test_capture_hints_reach_the_citizen_in_the_language_of_their_page() -> None:
    from media.capture_desk import guidance
    from media.capture_events import CaptureGuidance
    from media.capture_station import HINT_FACE, Look
    from media.vision.quality import HINT_CLOSER
    from signalling.sockets.capture_commands import Offer

    look = Look(True, "retry", (HINT_CLOSER, HINT_FACE), passes=False)
    assert guidance(look, "de") == CaptureGuidance(True, "retry", [HINT_CLOSER, HINT_FACE])
    english = guidance(look, "en")
    assert english.hints == [
        "Please come closer to the camera",
        "Please look straight into the camera, without the document",
    ]
    assert Offer.model_validate({"sdp": "v=0 " * 4}).lang == "de"
    assert Offer.model_validate({"sdp": "v=0 " * 4, "lang": "en"}).lang == "en"
    with pytest.raises(ValueError):
        Offer.model_validate({"sdp": "v=0 " * 4, "lang": "<script>"})


def test_the_shipped_town_describes_every_service_in_english_too() -> None:
    """What a service is and what to bring, for the English pages and mails."""
    for service in load_town().services:
        assert service.description_en, service.id
        assert service.display_description("en") != service.display_description("de")
        assert len(service.documents_en) == len(service.documents), service.id
        assert service.display_documents("de") == service.documents


def test_a_town_file_without_english_texts_shows_the_german_ones() -> None:
    town = load_town()
    service = town.services[0].model_copy(update={"description_en": "", "documents_en": ()})
    assert service.display_description("en") == service.description
    assert service.display_documents("en") == service.documents


def test_english_documents_must_match_the_german_ones_one_by_one() -> None:
    data = load_town().services[0].model_dump()
    data["documents"], data["documents_en"] = ["Ausweis", "Formular"], ["ID card"]
    with pytest.raises(ValueError, match="documents_en must name each of documents"):
        Service.model_validate(data)
