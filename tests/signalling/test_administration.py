"""Administration pages: staff accounts by invitation, edits, deactivation, the second
factor's reset, the list of appointments to rebook, and who may use them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from office.appointments import Appointments
from office.models import AuditEntry, Clerk, Role
from office.staff import Staff
from signalling.keys import ABSENCES, SESSIONS
from tests.helpers.booking import add_clerk, book_at
from tests.helpers.clock import Clock
from tests.helpers.mail import SmtpServer, body, deliver_mail
from tests.helpers.pages import csrf_of
from tests.helpers.staff_login import code_at, post_code

PERSONAL = "/verwaltung/personal"
NEW_ACCOUNT = {
    "username": "carla.neu",
    "display_name": "Carla Neu",
    "email": "carla@example.org",
    "role": "clerk",
    "skills": "meldewesen",
    "hours-0": "08:00-12:00, 13:00-16:00",
    "hours-2": "09:00-12:00",
}


async def as_staff(client: TestClient[Any, Any], staff: Staff, clerk_id: int, page: str) -> str:
    """Log this account in (a session cookie); the CSRF token of ``page``'s first form."""
    client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(clerk_id)})
    response = await client.get(page)
    assert response.status == 200, await response.text()
    return csrf_of(await response.text())


async def admin_of(staff: Staff) -> int:
    return (await staff.create("root", "Ada Admin", "correct horse battery", role=Role.ADMIN)).id


async def audit_actions(client: TestClient[Any, Any]) -> list[tuple[str, str, str]]:
    async with client.app[SESSIONS]() as session:
        rows = await session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject).order_by(AuditEntry.id)
        )
        return [(a, b, c) for a, b, c in rows.all()]


async def test_an_invited_clerk_sets_a_password_by_the_mailed_link_and_enrols(
    client: TestClient[Any, Any], staff: Staff, clock: Clock, smtp: SmtpServer
) -> None:
    admin = await admin_of(staff)
    csrf = await as_staff(client, staff, admin, PERSONAL)
    created = await client.post(PERSONAL, data={"csrf": csrf, **NEW_ACCOUNT}, allow_redirects=False)
    assert created.status == 303
    account_page = created.headers["Location"]
    assert re.fullmatch(r"/verwaltung/personal/\d+\?hinweis=eingeladen", account_page)
    carla = next(c for c in await staff.all() if c.username == "carla.neu")
    assert {s.skill for s in carla.skills} == {"meldewesen"}
    assert sorted((h.weekday, f"{h.start:%H:%M}", f"{h.end:%H:%M}") for h in carla.hours) == [
        (0, "08:00", "12:00"),
        (0, "13:00", "16:00"),
        (2, "09:00", "12:00"),
    ]
    assert "eingeladen" in await (await client.get(PERSONAL)).text()

    await deliver_mail(client)
    (mail,) = smtp.inbox.to("carla@example.org")
    text = body(mail)
    assert "carla.neu" in text and "correct horse" not in text
    match = re.search(r"https://termine\.test(/anmelden/einladung/\S+)", text)
    assert match
    link = match.group(1)

    # The new clerk, in her own browser (no admin cookie).
    client.session.cookie_jar.clear()
    form = await client.get(link)
    assert form.status == 200 and "carla.neu" in await form.text()
    csrf = csrf_of(await form.text())
    mismatch = {"csrf": csrf, "password": "a long new password", "repeated": "something else"}
    refused = await client.post(link, data=mismatch, allow_redirects=False)
    assert refused.status == 400 and "stimmen nicht überein" in await refused.text()
    short = await client.post(
        link, data={"csrf": csrf, "password": "short", "repeated": "short"}, allow_redirects=False
    )
    assert short.status == 400 and "mindestens 12" in await short.text()

    good = {"csrf": csrf, "password": "a long new password", "repeated": "a long new password"}
    accepted = await client.post(link, data=good, allow_redirects=False)
    assert accepted.status == 303 and accepted.headers["Location"] == "/anmelden/einrichten"
    page = await client.get("/anmelden/einrichten")
    secret = re.search(r'<code class="bb-secret">([A-Z2-7]{16,})</code>', await page.text())
    assert secret
    enrolled = await post_code(client, "/anmelden/einrichten", code_at(secret.group(1), clock))
    assert enrolled.status == 303 and enrolled.headers["Location"] == "/sachbearbeitung"
    console = await client.get("/sachbearbeitung")
    assert console.status == 200 and "Carla Neu" in await console.text()

    # The link works once.
    client.session.cookie_jar.clear()
    again = await client.get(link)
    assert again.status == 410 and "gilt nicht" in await again.text()
    done = [(actor, action) for actor, action, _ in await audit_actions(client)]
    assert (f"clerk:{admin}", "staff.created") in done
    assert (f"clerk:{admin}", "staff.enrolment_sent") in done
    assert (f"clerk:{carla.id}", "staff.password_set") in done


async def test_bad_input_creates_no_account(
    client: TestClient[Any, Any], staff: Staff, smtp: SmtpServer
) -> None:
    admin = await admin_of(staff)
    csrf = await as_staff(client, staff, admin, PERSONAL)
    for change, message in [
        ({"email": "not-an-address"}, "gültige E-Mail-Adresse"),
        ({"username": "x"}, "3–64 Zeichen"),
        ({"hours-0": "acht bis zwölf"}, "Bitte als 08:00-12:00 angeben"),
        ({"hours-1": "12:00-08:00"}, "Ende muss nach dem Beginn"),
        ({"skills": "zauberei"}, "Unbekannte Zuständigkeit"),
        ({"role": "root"}, "Rolle"),
    ]:
        response = await client.post(PERSONAL, data={"csrf": csrf, **NEW_ACCOUNT, **change})
        assert response.status == 400, change
        assert message in await response.text(), change
    async with client.app[SESSIONS]() as session:
        assert await session.scalar(select(func.count()).select_from(Clerk)) == 1
    await deliver_mail(client)
    assert smtp.inbox.messages == []


async def test_a_clerk_or_a_dpo_cannot_administer(
    client: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    dpo = (await staff.create("dora", "Dora D.", "correct horse battery", role=Role.DPO)).id
    for account in (clerk, dpo):
        client.session.cookie_jar.update_cookies({"bb_staff": await staff.open_session(account)})
        for path in (PERSONAL, "/verwaltung", "/verwaltung/abwesenheiten", f"{PERSONAL}/{clerk}"):
            assert (await client.get(path)).status == 403, path
    home = await client.get("/anmelden")  # any page's form token
    csrf = csrf_of(await home.text())
    refused = await client.post(f"{PERSONAL}/{clerk}/aktiv", data={"csrf": csrf, "aktiv": "0"})
    assert refused.status == 403
    assert (await staff.get(clerk)).active


async def test_deactivating_ends_every_session_and_an_admin_cannot_lock_herself_out(
    client: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    clerks_session = await staff.open_session(clerk)
    admin = await admin_of(staff)
    csrf = await as_staff(client, staff, admin, f"{PERSONAL}/{clerk}")
    off = await client.post(
        f"{PERSONAL}/{clerk}/aktiv", data={"csrf": csrf, "aktiv": "0"}, allow_redirects=False
    )
    assert off.status == 303
    assert not (await staff.get(clerk)).active
    assert await staff.session_clerk(clerks_session) is None
    own = await client.post(f"{PERSONAL}/{admin}/aktiv", data={"csrf": csrf, "aktiv": "0"})
    assert own.status == 409 and (await staff.get(admin)).active
    demote = await client.post(
        f"{PERSONAL}/{admin}", data={"csrf": csrf, "display_name": "Ada", "role": "clerk"}
    )
    assert demote.status == 400 and (await staff.get(admin)).role == Role.ADMIN
    on = await client.post(f"{PERSONAL}/{clerk}/aktiv", data={"csrf": csrf, "aktiv": "1"})
    assert on.status == 200 and (await staff.get(clerk)).active
    assert await staff.session_clerk(clerks_session) is None  # the old session stays ended


async def test_an_edit_of_hours_keeps_the_session_and_a_new_skill_ends_it(
    client: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    admin = await admin_of(staff)
    csrf = await as_staff(client, staff, admin, f"{PERSONAL}/{clerk}")
    form = {
        "csrf": csrf,
        "display_name": "Anna Amsel",
        "role": "clerk",
        "hours-0": "07:00-19:00",
    }
    skills = [("skills", "meldewesen"), ("skills", "beratung")]
    session = await staff.open_session(clerk)
    same = await client.post(f"{PERSONAL}/{clerk}", data=[*form.items(), *skills])
    assert same.status == 200 and "gespeichert" in await same.text()
    anna = await staff.get(clerk)
    assert anna.display_name == "Anna Amsel" and [h.weekday for h in anna.hours] == [0]
    assert await staff.session_clerk(session) is not None
    fewer = await client.post(f"{PERSONAL}/{clerk}", data=[*form.items(), skills[0]])
    assert fewer.status == 200
    assert {s.skill for s in (await staff.get(clerk)).skills} == {"meldewesen"}
    assert await staff.session_clerk(session) is None


async def test_resetting_the_second_factor_and_a_new_link(
    client: TestClient[Any, Any], staff: Staff, clerk: int, smtp: SmtpServer
) -> None:
    admin = await admin_of(staff)
    csrf = await as_staff(client, staff, admin, f"{PERSONAL}/{clerk}")
    await staff.start_enrolment(clerk)
    reset = await client.post(f"{PERSONAL}/{clerk}/zweiter-faktor", data={"csrf": csrf})
    assert reset.status == 200
    assert (await staff.get(clerk)).totp_secret is None
    for address in ("anna@example.org", "anna2@example.org"):
        sent = await client.post(
            f"{PERSONAL}/{clerk}/einladung", data={"csrf": csrf, "email": address}
        )
        assert sent.status == 200 and "Ein neuer Link ist verschickt" in await sent.text()
    refused = await client.post(f"{PERSONAL}/{clerk}/einladung", data={"csrf": csrf, "email": "x"})
    assert refused.status == 400 and "gültige E-Mail-Adresse" in await refused.text()
    await deliver_mail(client)
    links = [
        re.search(r"(/anmelden/einladung/\S+)", body(smtp.inbox.to(a)[0]))
        for a in ("anna@example.org", "anna2@example.org")
    ]
    assert all(links)
    client.session.cookie_jar.clear()
    assert (await client.get(links[0].group(1))).status == 410  # type: ignore[union-attr]
    assert (await client.get(links[1].group(1))).status == 200  # type: ignore[union-attr]


async def test_the_rebooking_list_shows_a_clerk_her_skills_and_audits_the_read(
    client: TestClient[Any, Any], staff: Staff, desk: Appointments, clerk: int
) -> None:
    await add_clerk(staff, "bert", "bundeszentralregister")
    at = datetime(2026, 6, 2, 11, 0, tzinfo=UTC)
    mine = await book_at(desk, at, email="m@example.org", name="Mia Melde")
    theirs = await book_at(desk, at, service="fuehrungszeugnis", email="f@example.org")
    await client.app[ABSENCES].close(date(2026, 6, 2), actor="clerk:999")
    csrf = await as_staff(client, staff, clerk, "/verwaltung/umbuchen")
    page = await (await client.get("/verwaltung/umbuchen")).text()
    assert mine.reference in page and "Mia Melde" in page and "m@example.org" in page
    assert theirs.reference not in page
    reads = [a for a in await audit_actions(client) if a[1] == "read.rebooking_list"]
    assert len(reads) == 2 and all(actor == f"clerk:{clerk}" for actor, _, _ in reads)

    forbidden = await client.post(f"/verwaltung/umbuchen/{theirs.id}/erledigt", data={"csrf": csrf})
    assert forbidden.status == 403
    settled = await client.post(f"/verwaltung/umbuchen/{mine.id}/erledigt", data={"csrf": csrf})
    assert settled.status == 200 and "Keine Termine umzubuchen" in await settled.text()


async def test_absences_closures_and_extra_hours_through_the_pages(
    client: TestClient[Any, Any], staff: Staff, desk: Appointments, clerk: int
) -> None:
    page = "/verwaltung/abwesenheiten"
    csrf = await as_staff(client, staff, await admin_of(staff), page)
    booked = await book_at(desk, datetime(2026, 6, 3, 11, 0, tzinfo=UTC))
    missing = await client.post(page, data={"csrf": csrf, "clerk_id": str(clerk)})
    assert missing.status == 400 and "Bitte ein Datum angeben" in await missing.text()
    added = await client.post(
        page,
        data={"csrf": csrf, "clerk_id": str(clerk), "first_day": "2026-06-03", "note": "Urlaub"},
        allow_redirects=False,
    )
    assert added.status == 303 and added.headers["Location"].endswith("uebergeben=0&umbuchen=1")
    shown = await (await client.get(page)).text()
    assert "Urlaub" in shown and "03.06.2026 00:00" in shown
    absence_id = re.search(r"/verwaltung/abwesenheiten/abwesenheit/(\d+)/entfernen", shown)
    assert absence_id
    closed = await client.post(
        f"{page}/schliessung", data={"csrf": csrf, "day": "2026-06-04", "note": "Ausflug"}
    )
    assert closed.status == 200 and "Ausflug" in await closed.text()
    bad = await client.post(
        f"{page}/sonderoeffnung", data={"csrf": csrf, "day": "2026-06-06", "start": "15:00"}
    )
    assert bad.status == 400
    extra = await client.post(
        f"{page}/sonderoeffnung",
        data={"csrf": csrf, "day": "2026-06-06", "start": "14:00", "end": "15:00"},
    )
    assert extra.status == 200 and "06.06.2026, 14:00–15:00" in await extra.text()
    shown = await extra.text()
    for kind in ("abwesenheit", "schliessung", "sonderoeffnung"):
        found = re.search(rf"/verwaltung/abwesenheiten/{kind}/(\d+)/entfernen", shown)
        assert found, kind
        removed = await client.post(found.group(0), data={"csrf": csrf})
        assert removed.status == 200, kind
        assert found.group(0) not in await removed.text()
    gone = await client.post(f"{page}/abwesenheit/999/entfernen", data={"csrf": csrf})
    assert gone.status == 404
    assert [a.id for a in await client.app[ABSENCES].to_rebook()] == [booked.id]
    actions = {action for _, action, _ in await audit_actions(client)}
    assert {"absence.added", "absence.removed", "closure.added", "closure.removed"} <= actions
    assert {"special_hours.added", "special_hours.removed"} <= actions


async def test_the_administration_speaks_english_too(
    client: TestClient[Any, Any], staff: Staff, clerk: int
) -> None:
    admin = await admin_of(staff)
    csrf = await as_staff(client, staff, admin, PERSONAL + "?lang=en")
    page = await (await client.get(PERSONAL)).text()  # the language stays (cookie)
    assert "Create account and invite" in page and "Konto anlegen" not in page
    refused = await client.post(PERSONAL, data={"csrf": csrf, **NEW_ACCOUNT, "hours-0": "8-12"})
    assert refused.status == 400 and "Please enter as 08:00-12:00." in await refused.text()
    absences = await (await client.get("/verwaltung/abwesenheiten")).text()
    assert "Enter absence" in absences and "Extra opening hours" in absences
    own = await client.post(f"{PERSONAL}/{admin}/aktiv", data={"csrf": csrf, "aktiv": "0"})
    assert own.status == 409 and "You cannot deactivate your own account." in await own.text()


def test_the_password_rule_names_the_limits_it_enforces() -> None:
    from office.staff import PASSWORD_LENGTH, PASSWORD_MAX, PASSWORD_MIN

    assert f"mindestens {PASSWORD_MIN} und höchstens {PASSWORD_MAX} Zeichen" in PASSWORD_LENGTH
