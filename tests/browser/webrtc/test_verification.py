"""The identity check of a video appointment in real headless Chromium: the clerk
starts it, the citizen consents, the citizen's browser opens the capture peer to the
server, the clerk asks for the data page automatically (the citizen is prompted) and
captures the German passport specimen (shown by the fake camera) until two captures
agree on the MRZ. The clerk's console, on a 1366 x 768 laptop screen, shows a verdict:
each side of the passport once, as a small picture with its state; the MRZ as a table
beside the booking (name matches, expiry valid), the check digits in one line, the
portrait beside the face; the raw analysis only behind "Details"; and the panel stays
within the screen however many captures were taken. The clerk records the checklist
and sends the code; the citizen types the code from the mail; the clerk confirms.
axe-core checks both panels.

Run it in a loopback-only network namespace (capture_allow_loopback is set):

    unshare --net --map-root-user sh -c \
        'ip link set lo up && exec .venv/bin/pytest -q tests/browser/webrtc/test_verification.py'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, expect

from office.models import Appointment
from office.verification import CLERK_STEPS, Step, Verifications
from signalling.keys import APPOINTMENTS, JOBS
from signalling.settings import Settings
from tests.helpers.browser import accessibility_violations
from tests.helpers.call_pages import (
    LAPTOP,
    MEDIA_MS,
    WAIT_MS,
    Watched,
    book_soon,
    clerk_console,
    open_all_day,
    waiting_citizen,
)
from tests.helpers.constants import SAMPLES, SECRET

SPECIMEN = SAMPLES / "deu_passport_2024.png"
# manifest.json's ground truth: P<D<<MUSTERMANN<<ERIKA<<…, CZ6311T472D<<8308126F3405019…
MRZ_TABLE = {
    "name": ("MUSTERMANN, ERIKA", "Erika Mustermann", "stimmt überein"),
    "birth_date": ("12.08.1983", "nicht erfragt", "–"),
    "expiry_date": ("01.05.2034", "–", "gültig"),
    "document_number": ("CZ6311T47", "–", "–"),
    "nationality": ("D", "–", "–"),
}
FRAME_SIZE = (1280, 720)
PASSPORT_SIDES = ("front", "tilt_a", "tilt_b", "face")  # a passport has no back to show
DETAILS_KEPT = 10  # verdict.js keeps the raw data of the last ten captures
# After each change of the MRZ status line: the line, the table's state, the name's
# verdict and the sentence about the name line (the observer runs once the panel's
# update is complete).
SNAPSHOTS_OF_THE_MRZ = """() => {
  window.mrzSeen = [];
  const status = document.getElementById("verification-mrz-status");
  const table = document.getElementById("verification-mrz-table");
  new MutationObserver(() => window.mrzSeen.push({
    status: status.textContent,
    accepted: table.dataset.accepted,
    name: table.querySelector("tr[data-field=name] [data-value=verdict]").textContent,
    line: document.getElementById("verification-name-line").textContent,
  })).observe(status, {childList: true, characterData: true, subtree: true});
}"""
# The first MRZ reading also loads the recogniser: on a busy 2-core machine it has
# taken half a minute.
READ_MS = 90_000

# The clerk page's labels for the steps (console.html, #verification-texts).
STEP_LABELS = {
    "document_admissible": "Dokument zulässig",
    "not_expired": "Nicht abgelaufen",
    "front_captured": "Vorderseite aufgenommen",
    "back_captured": "Rückseite aufgenommen",
    "face_captured": "Gesicht aufgenommen",
    "tilt_sequence": "Kippbewegung (Hologramm) gesehen",
    "security_features": "Sicherheitsmerkmale gezeigt",
    "mrz_valid": "Maschinenlesbare Zone gültig",
    "name_matches": "Name stimmt mit der Buchung überein",
    "portrait_compared": "Lichtbild verglichen",
    "security_questions": "Sicherheitsfragen beantwortet",
}

PASSPORT_STEPS = {step: label for step, label in STEP_LABELS.items() if step != "back_captured"}


def write_card_camera(path: Path, frames: int = 4) -> Path:
    """A .y4m clip for Chromium's fake camera: the passport specimen on a desk."""
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    if not SPECIMEN.exists():
        pytest.skip(f"the passport specimen is missing: {SPECIMEN}")
    width, height = FRAME_SIZE
    card = cv2.imread(str(SPECIMEN), cv2.IMREAD_COLOR)
    assert card is not None, SPECIMEN
    scale = min(0.6 * width / card.shape[1], 0.7 * height / card.shape[0])
    card = cv2.resize(card, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    frame = np.full((height, width, 3), (60, 90, 120), dtype=np.uint8)
    top, left = (height - card.shape[0]) // 2, (width - card.shape[1]) // 2
    frame[top : top + card.shape[0], left : left + card.shape[1]] = card
    planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


@pytest.fixture
def fake_camera(tmp_path: Path) -> Iterator[Path]:
    path = write_card_camera(tmp_path / "card.y4m")
    yield path
    path.unlink()


def mailed_code(outbox: Path) -> str:
    """The six digits of the newest confirmation-code mail in the demo outbox."""
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if "Bestätigungscode" not in str(message["Subject"]):
            continue
        part = message.get_body(("plain",))
        assert part is not None
        match = re.search(r"^\s+(\d{6})\s*$", part.get_content(), re.MULTILINE)
        assert match, "no code in the mail"
        return match.group(1)
    raise AssertionError(f"no confirmation-code mail in {outbox}")


FRONT_STATE = "#verification-sides tr[data-side=front] [data-side-state]"
DETAILS = "#verification-details-list > section"  # one entry per capture, newest first
AGREED = "Zwei Aufnahmen stimmen überein."


async def capture_until_two_agree(console: Page) -> None:
    """The clerk captures the data page until two captures agree on the MRZ
    (time-boxed; the first tries may come before the server's peer has a frame), each
    time until its MRZ has been read."""
    front = console.locator("#verification").get_by_role(
        "button", name="Vorderseite aufnehmen", exact=True
    )
    front_state = console.locator(FRONT_STATE)
    entries = console.locator(DETAILS)
    mrz_status = console.locator("#verification-mrz-status")
    for _ in range(20):
        kept = await entries.count()
        await front.click()
        await expect(console.locator("#verification-status")).not_to_have_text(
            "Aufnahme läuft …", timeout=MEDIA_MS
        )
        if await entries.count() == kept:  # refused: no frame from the camera yet
            await console.wait_for_timeout(700)
            continue
        if "kein Dokument erkannt" not in (await front_state.text_content() or ""):
            # Its reading has arrived (the details list it under the capture).
            await expect(entries.first.locator("h5")).to_have_text("MRZ", timeout=READ_MS)
        if await mrz_status.text_content() == AGREED:
            break
    await expect(mrz_status).to_have_text(AGREED)


async def assert_accessible(page: Page, where: str) -> None:
    assert await accessibility_violations(page) == [], where


@dataclass
class InCall:
    """A citizen in a call with the clerk, whose console is on a laptop's screen."""

    appointment: Appointment
    citizen_context: BrowserContext
    citizen: Watched
    clerk_context: BrowserContext
    clerk: Watched


async def in_call(app: web.Application, server: str, browser: Browser) -> InCall:
    desk = app[APPOINTMENTS]
    clerk_id = await open_all_day(app)
    appointment = await book_soon(desk)  # Meldebescheinigung: verification required
    citizen_context, citizen = await waiting_citizen(browser, server, desk, appointment)
    clerk_context, clerk = await clerk_console(browser, server, app, clerk_id)
    console = clerk.page
    await console.set_viewport_size(LAPTOP)
    await console.get_by_role("button", name="Erika Mustermann aufrufen").click()
    await expect(citizen.page.get_by_role("heading", name="Videogespräch")).to_be_visible()
    await expect(console.locator("#stage")).to_have_attribute(
        "data-call-state", "connected", timeout=MEDIA_MS
    )
    return InCall(appointment, citizen_context, citizen, clerk_context, clerk)


async def test_clerk_verifies_the_citizens_passport(
    app: web.Application, server: str, browser: Browser, settings: Settings
) -> None:
    desk = app[APPOINTMENTS]
    call = await in_call(app, server, browser)
    appointment, citizen, clerk = call.appointment, call.citizen, call.clerk
    page, console = citizen.page, clerk.page

    # The clerk starts the check for a passport, in its tab beside the video.
    await console.get_by_role("tab", name="Identitätsprüfung").click()
    panel = console.locator("#verification")
    await expect(panel.get_by_role("heading", name="Identität prüfen")).to_be_visible()
    await panel.get_by_role("radio", name="Reisepass").check()
    await panel.get_by_role("button", name="Prüfung starten").click()
    await expect(console.locator("#verification-features li")).to_have_count(3)
    consent_row = console.locator("#verification-steps li[data-step=consent]")
    await expect(consent_row).to_contain_text("offen")
    await expect(console.locator("#verification-steps li")).to_have_count(
        len(PASSPORT_STEPS) + 2  # and the citizen's: consent, one-time code
    )
    # Each side of a passport once, nothing taken yet; no MRZ read.
    sides = console.locator("#verification-sides tbody tr:visible")
    await expect(sides).to_have_count(len(PASSPORT_SIDES))
    for index, side in enumerate(PASSPORT_SIDES):
        await expect(sides.nth(index)).to_have_attribute("data-side", side)
        await expect(sides.nth(index)).to_contain_text("noch nicht aufgenommen")
    await expect(console.locator("#verification-mrz-status")).to_have_text("Noch nicht gelesen.")
    await expect(console.locator("#verification-mrz-table")).to_be_hidden()

    # The citizen is asked; the panel explains the copies.
    consent = page.locator("#consent-panel")
    await expect(consent).to_be_visible()
    await expect(consent).to_contain_text("Reisepass")
    await expect(consent).to_contain_text("7 Tagen gelöscht")
    await assert_accessible(page, "citizen's consent panel")
    await page.get_by_role("button", name="Einverstanden").click()
    await expect(page.get_by_text("Bitte halten Sie Ihren Ausweis in die Kamera")).to_be_visible()
    await expect(page.locator("#verification-status")).to_have_text(
        "Die Kamera ist für die Aufnahme verbunden.", timeout=MEDIA_MS
    )
    await expect(consent_row).to_contain_text("bestanden")
    # The server looks at the capture camera and tells the citizen what to change.
    await expect(page.locator("#capture-guidance")).to_have_text(
        re.compile(r"\S"), timeout=MEDIA_MS
    )

    # Asked for automatically, the citizen is told what to show.
    await panel.get_by_role("button", name="Vorderseite automatisch aufnehmen").click()
    await expect(page.locator("#capture-hint")).to_have_text(
        "Bitte halten Sie die Vorderseite Ihres Ausweises ruhig in die Kamera."
    )
    await expect(console.locator("#verification-status")).to_contain_text("Das erste gute Bild")

    # The clerk captures the data page until two captures agree on the MRZ. What the
    # MRZ part said after each reading is noted: the first valid reading is only
    # provisional (the name line has no check digit).
    await console.evaluate(SNAPSHOTS_OF_THE_MRZ)
    await capture_until_two_agree(console)
    front_state = console.locator(FRONT_STATE)
    entries = console.locator(DETAILS)
    captured = await entries.count()
    assert captured >= 2
    seen = await console.evaluate("() => window.mrzSeen")
    provisional = [s for s in seen if s["status"].startswith("Eine Aufnahme gelesen")]
    assert provisional, seen
    assert provisional[0] == {
        "status": "Eine Aufnahme gelesen – zur Bestätigung bitte eine zweite.",
        "accepted": "false",
        "name": "erst nach zweiter Aufnahme",
        "line": "Die Namenszeile hat keine Prüfziffer; sie gilt erst, wenn zwei Aufnahmen"
        " sie gleich lesen.",
    }

    # The verdict: the MRZ beside the booking ("Erika Mustermann"), field by field.
    table = console.locator("#verification-mrz-table")
    name_verdict = table.locator("tr[data-field=name] [data-value=verdict]")
    await expect(table).to_be_visible()
    await expect(table).to_have_attribute("data-accepted", "true")
    for field, (read, booked, verdict) in MRZ_TABLE.items():
        row = table.locator(f"tr[data-field={field}]")
        await expect(row.locator("[data-value=mrz]")).to_have_text(read)
        await expect(row.locator("[data-value=booking]")).to_have_text(booked)
        await expect(row.locator("[data-value=verdict]")).to_have_text(verdict)
    await expect(name_verdict).to_have_attribute("data-verdict", "match")
    await expect(console.locator("#verification-checks")).to_have_text("Alle Prüfziffern stimmen.")
    await expect(console.locator("#verification-name-line")).to_have_text(
        "Die Namenszeile hat keine Prüfziffer; zwei Aufnahmen haben sie gleich gelesen."
    )

    # The data page once, however often it was taken: its newest picture and state.
    front_row = console.locator("#verification-sides tr[data-side=front]")
    await expect(console.locator("#verification-sides img")).to_have_count(1)  # front only
    thumb = front_row.locator("img")
    await expect(thumb).to_have_attribute("alt", "Vorderseite (Kopie)")
    await console.wait_for_function(
        "() => { const i = document.querySelector('#verification-sides tr[data-side=front] img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=WAIT_MS,
    )
    # The copy is the page found in the frame, flattened to the passport's 125 x 88 mm.
    width, height = await thumb.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert abs(width / height - 125 / 88) < 0.02, (width, height)
    # Its state: taken, or (the quality check may object to the specimen's gloss) why
    # to take it again.
    await expect(front_state).to_have_text(
        re.compile(r"^(aufgenommen, MRZ gelesen|erneut aufnehmen: \S.*)$")
    )
    assert (await front_state.get_attribute("data-state")) in ("taken", "retake")
    await expect(console.locator("#verification-sides tr[data-side=tilt_a]")).to_contain_text(
        "noch nicht aufgenommen"
    )
    # The portrait on the page beside the live face (the fake camera's face is the
    # passport's own portrait, which is face enough for the detector).
    await expect(console.locator("#verification-portrait")).to_have_attribute("data-drawn", "true")
    await expect(console.locator("#verification-compare")).to_be_visible()
    await panel.get_by_role("button", name="Gesicht aufnehmen", exact=True).click()
    await expect(console.locator("#verification-status")).to_have_text(
        "Gesicht aufgenommen.", timeout=MEDIA_MS
    )
    await expect(console.locator("#verification-face")).to_have_attribute("data-drawn", "true")
    face_row = console.locator("#verification-sides tr[data-side=face]")
    await expect(face_row.locator("[data-side-state]")).to_have_text("aufgenommen")
    await expect(console.locator("#verification-sides img")).to_have_count(2)
    captured += 1

    # Scores, coordinates and timings only behind "Details", one entry per capture.
    details = console.locator("#verification-details")
    await expect(details.get_by_text("timings_ms").first).to_be_hidden()
    await details.locator("summary").click()
    await expect(details.get_by_text("timings_ms").first).to_be_visible()
    await expect(entries).to_have_count(min(captured, DETAILS_KEPT))
    await expect(entries.first).to_have_attribute("data-kind", "face")  # newest first
    await expect(entries.nth(1)).to_contain_text("Vorderseite · ")
    await expect(entries.nth(1)).to_contain_text("sharpness")

    # However many captures, the tab stays within the laptop's screen: it scrolls inside,
    # and the page itself does not.
    tab = console.locator("#panel-verification")
    box = await tab.bounding_box()
    assert box is not None and box["y"] + box["height"] <= LAPTOP["height"], box
    assert await tab.evaluate("p => p.scrollHeight > p.clientHeight")
    assert await console.evaluate("innerHeight >= document.documentElement.scrollHeight")
    await details.locator("summary").click()

    # Every clerk step passed, by its button.
    assert set(STEP_LABELS) == {step.value for step in CLERK_STEPS}
    for step, label in PASSPORT_STEPS.items():
        await panel.get_by_role("button", name=f"{label}: bestanden", exact=True).click()
        row = console.locator(f"#verification-steps li[data-step={step}]")
        await expect(row).to_have_attribute("data-state", "passed")
        await expect(row.locator(".bb-verification__state")).to_have_text("bestanden")
    await expect(console.locator("#verification-missing")).to_contain_text("Code aus der E-Mail")
    await assert_accessible(console, "clerk's verification panel")

    # The code goes out by mail; the citizen types it.
    await panel.get_by_role("button", name="Code senden").click()
    await expect(console.locator("#verification-status")).to_have_text(
        "Der Code ist per E-Mail unterwegs."
    )
    code_input = page.get_by_label("Bestätigungscode aus Ihrer E-Mail (6 Ziffern)")
    await expect(code_input).to_be_visible()
    await app[JOBS].mail.run()
    await code_input.fill(mailed_code(settings.outbox_dir()))
    await page.get_by_role("button", name="Code prüfen").click()
    await expect(page.locator("#code-result")).to_have_text("Der Code ist richtig.")
    row = console.locator(f"#verification-steps li[data-step={Step.ONE_TIME_CODE.value}]")
    await expect(row).to_have_attribute("data-state", "passed")
    await expect(console.locator("#verification-missing")).to_have_text("Alle Schritte bestanden.")

    # "Failed" without a reason is refused on the page; then the clerk confirms.
    await panel.get_by_role("button", name="Prüfung gescheitert").click()
    await expect(console.get_by_text("Bitte geben Sie einen Grund an.")).to_be_visible()
    await expect(console.locator("#verification-reason")).to_have_attribute("aria-invalid", "true")
    await panel.get_by_role("button", name="Identität bestätigt").click()
    await expect(console.locator("#verification-outcome")).to_have_text("Identität verifiziert.")
    await expect(page.locator("#verification-outcome")).to_have_text(
        "Ihre Identität ist verifiziert."
    )
    await expect(panel.get_by_role("button", name="Code senden")).to_be_disabled()
    # The record agrees (it only reads the database; the code key plays no part).
    assert await Verifications(desk.office, SECRET).is_verified(appointment.id)

    assert citizen.problems == [] and clerk.problems == []
    await call.citizen_context.close()
    await call.clerk_context.close()


# What the clerk's verification panel shows, to compare before and after a reload
# (not the links: a reloaded console gets fresh ones).
PANEL_NOW = """() => {
  const text = (selector) => document.querySelector(selector).textContent;
  const table = document.getElementById("verification-mrz-table");
  return {
    sides: [...document.querySelectorAll("#verification-sides tr[data-side]")].map((row) => ({
      side: row.dataset.side,
      state: row.querySelector("[data-side-state]").dataset.state,
      text: row.querySelector("[data-side-state]").textContent,
      pictures: row.querySelectorAll("img").length,
    })),
    mrz_status: text("#verification-mrz-status"),
    accepted: table.dataset.accepted,
    hidden: table.hidden,
    rows: Object.fromEntries([...table.querySelectorAll("tr[data-field]")].map((row) =>
      [row.dataset.field, [...row.querySelectorAll("[data-value]")].map((c) => c.textContent)])),
    checks: text("#verification-checks"),
    name_line: text("#verification-name-line"),
    details: [...document.querySelectorAll("#verification-details-list > section")].map(
      (entry) => [entry.dataset.captureId, entry.querySelectorAll("h5").length]),
    portrait: document.getElementById("verification-portrait").dataset.drawn || null,
  };
}"""


async def test_a_reloaded_page_and_console_show_the_check_as_before(
    app: web.Application, server: str, browser: Browser
) -> None:
    call = await in_call(app, server, browser)
    citizen, clerk = call.citizen, call.clerk
    page, console = citizen.page, clerk.page
    await console.get_by_role("tab", name="Identitätsprüfung").click()
    panel = console.locator("#verification")
    await panel.get_by_role("radio", name="Reisepass").check()
    await panel.get_by_role("button", name="Prüfung starten").click()

    # The citizen's page reloads before the consent: it is asked again.
    await expect(page.locator("#consent-panel")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Videogespräch")).to_be_visible()
    await expect(page.locator("#consent-panel")).to_contain_text("Reisepass")
    await page.get_by_role("button", name="Einverstanden").click()
    ready = page.locator("#verification-status")
    await expect(ready).to_have_text("Die Kamera ist für die Aufnahme verbunden.", timeout=MEDIA_MS)
    # And after it: the camera connects for the capture again by itself (the captures
    # below come from this connection).
    await page.reload()
    await expect(page.locator("#capture-hint")).to_be_visible()
    await expect(page.locator("#consent-panel")).to_be_hidden()
    await expect(ready).to_have_text("Die Kamera ist für die Aufnahme verbunden.", timeout=MEDIA_MS)

    await capture_until_two_agree(console)
    before = await console.evaluate(PANEL_NOW)
    assert before["accepted"] == "true" and before["hidden"] is False
    assert before["rows"]["document_number"][0] == "CZ6311T47"  # read from the frame
    assert len(before["details"]) >= 2 and before["portrait"] == "true"

    # The console reloads: the captures, their analyses and the agreement come back.
    await console.reload()
    await console.get_by_role("tab", name="Identitätsprüfung").click()
    await expect(console.locator("#verification-mrz-status")).to_have_text(AGREED)
    await expect(console.locator("#verification-portrait")).to_have_attribute("data-drawn", "true")
    after = await console.evaluate(PANEL_NOW)
    # The document number was read and shown, but the town does not keep it.
    assert after["rows"]["document_number"][0] == "gelesen, nicht gespeichert"
    after["rows"]["document_number"][0] = before["rows"]["document_number"][0]
    assert after == before
    # The picture is the capture again, through a fresh link.
    await console.wait_for_function(
        "() => { const i = document.querySelector('#verification-sides tr[data-side=front] img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=WAIT_MS,
    )

    assert citizen.problems == [] and clerk.problems == []
    await call.citizen_context.close()
    await call.clerk_context.close()
