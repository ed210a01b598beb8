"""The privacy notice names every processing (booking and contact data, mail, the
call and its TURN relay, ID copies, invoices and bank entries, PayPal when it is
offered, feedback, guests, the audit log), the retention periods as configured, and
the data-protection officer from the town file, in German and in English."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from office.catalogue import Town

PAYPAL = {
    "paypal_client_id": "client-id",
    "paypal_secret": SecretStr("secret"),
    "paypal_webhook_id": "webhook",
    "retention_days": 9,
    "capture_retention_days": 3,
    "accounting_retention_years": 10,
    "audit_retention_years": 2,
}
PAYPAL_PRIVACY = "https://www.paypal.com/de/webapps/mpp/ua/privacy-full"


async def notice(client: TestClient[Any, Any], lang: str) -> str:
    page = await client.get("/datenschutz", params={"lang": lang})
    assert page.status == 200
    return " ".join((await page.text()).split())


@pytest.mark.parametrize("settings_update", [PAYPAL])
async def test_the_notice_names_every_processing_in_both_languages(
    client: TestClient[Any, Any], town: Town
) -> None:
    assert town.dpo is not None
    german, english = await notice(client, "de"), await notice(client, "en")
    for page in (german, english):
        assert town.dpo.email in page and town.dpo.name in page and town.dpo.phone in page
        assert "PayPal (Europe) S.à r.l. et Cie, S.C.A." in page and PAYPAL_PRIVACY in page
        assert "TURN" in page
        assert "CAN" in page and "KOPIE" in page
    for expected in (
        "Datenschutzbeauftragte Stelle",
        "Ausweiskopien",
        "E-Mails",
        "Mailserver der Stadt",
        "Vermittlungsserver (TURN-Relay)",
        "als eigener Verantwortlicher",
        "Dolmetscherin",
        "automatisch 9 Tage nach dem Termin",  # BB_RETENTION_DAYS
        "spätestens 3 Tage nach der Aufnahme",  # BB_CAPTURE_RETENTION_DAYS
        "§ 39 der Gemeindehaushaltsverordnung Baden-Württemberg 10 Jahre",
        # The clock is in 2026: accounts adopted in 2027, ten years from 2028.
        "Für eine Rechnung aus dem Jahr 2026 löschen wir Namen und Anschrift Anfang 2038.",
        "Einträge aus dem Jahr 2026 löschen wir Anfang 2029.",  # two years after
        "Kommentare löschen wir nach 365 Tagen",
    ):
        assert expected in german, expected
    for expected in (
        "Data protection officer",
        "copies of your ID document",
        "Emails",
        "by email through the town",  # (the apostrophe is escaped)
        "mail server",
        "relay servers (TURN relay)",
        "a controller in its own right",
        "automatically 9 days after the appointment",
        "at the latest 3 days after they were taken",
        "for 10 years",
        "for an invoice from 2026 we delete the name and address at the beginning of 2038",
        "We delete entries from 2026 at the beginning of 2029.",
        "We delete comments after 365 days",
    ):
        assert expected in english, expected
    assert "Verlangt Ihr Anliegen" not in english


async def test_without_paypal_the_notice_does_not_name_it_as_a_processor(
    client: TestClient[Any, Any],
) -> None:
    for lang in ("de", "en"):
        page = await notice(client, lang)
        assert PAYPAL_PRIVACY not in page and "S.à r.l." not in page
        assert "TURN" in page
    german = await notice(client, "de")
    assert "automatisch 7 Tage nach dem Termin" in german  # the defaults
    assert "Anfang 2034" in german and "Anfang 2028" in german
