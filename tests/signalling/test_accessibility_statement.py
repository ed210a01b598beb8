"""The accessibility statement and its report form (BITV 2.0 § 7), and the page in
Leichte Sprache. On SQLite and PostgreSQL, with a real SMTP server."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from office.catalogue import Town
from tests.helpers.mail import SmtpServer, body, deliver_mail
from tests.helpers.pages import csrf_of


async def post_report(client: TestClient[Any, Any], **form: str) -> Any:
    page = await client.get("/barrierefreiheit")
    assert page.status == 200
    data = {"csrf": csrf_of(await page.text()), **form}
    return await client.post("/barrierefreiheit", data=data)


async def test_a_reported_barrier_reaches_the_town_and_a_wrong_report_changes_nothing(
    client: TestClient[Any, Any], smtp: SmtpServer, town: Town
) -> None:
    page = await (await client.get("/barrierefreiheit")).text()
    assert "Erklärung zur Barrierefreiheit" in page and town.accessibility.enforcement_name in page
    english = await (await client.get("/barrierefreiheit?lang=en")).text()
    assert "Accessibility statement" in english and "Report a barrier" in english

    refused = await post_report(client, what="  ", email="not an address")
    text = await refused.text()
    assert refused.status == 400
    assert "Please describe the barrier." in text  # the language cookie stays English
    await deliver_mail(client)
    assert smtp.inbox.to(town.town.email) == []

    sent = await post_report(
        client,
        what="Der Kalender ist mit der Tastatur schwer zu bedienen.",
        where="/buchen",
        email="leser@example.org",
    )
    assert sent.status == 200 and "We have received your report." in await sent.text()
    await deliver_mail(client)
    [mail] = smtp.inbox.to(town.town.email)
    assert mail["Reply-To"] == "leser@example.org"
    assert "Der Kalender ist mit der Tastatur schwer zu bedienen." in body(mail)
    assert "Wo: /buchen" in body(mail)


async def test_the_easy_read_page_and_the_footer_links(client: TestClient[Any, Any]) -> None:
    page = await (await client.get("/leichte-sprache")).text()
    assert "in Leichter Sprache" in page and "Sie müssen dafür nicht ins Rathaus gehen." in page
    home = await (await client.get("/")).text()
    assert 'href="/barrierefreiheit"' in home and 'href="/leichte-sprache"' in home
