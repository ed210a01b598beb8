"""ID captures: marked as copies, CAN and document number blacked out, encrypted, shown
only to the right people through short-lived links, every view audited, deleted on
schedule."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, update

from media.copies import CAN_REGION, decode_image
from media.mrz import MrzResult, parse
from media.vault import CaptureForbidden, CaptureVault, Reading, load_key
from media.vision import mrz_reader
from media.vision.geometry import DocumentKind, Quad, warp
from office.appointments import Appointments
from office.catalogue import Town, load_town
from office.errors import NotFound, TokenInvalid
from office.models import AuditEntry, Capture, Clerk, Role
from office.staff import Staff
from office.tokens import Signer
from office.verification import Verifications
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import SAMPLES, SECRET, SLOT
from tests.helpers.specimens import TODAY, specimen_image

SPECIMEN = SAMPLES / "deu_idcard_2021_front.png"


@pytest.fixture
def vault(desk: Appointments, clock: Clock) -> CaptureVault:
    key = load_key(base64.b64encode(secrets.token_bytes(32)).decode())
    return CaptureVault(desk.office, key, Signer(SECRET, clock))


async def start_check(desk: Appointments, clerk: int, clock: Clock, document_type: str) -> str:
    appointment = await book_at(desk, SLOT)
    clock.set(SLOT)
    checks = Verifications(desk.office, SECRET)
    started = await checks.start(appointment.id, clerk, document_type)
    await checks.consent(started.verification_id)
    return started.verification_id


@pytest.fixture
async def verification(desk: Appointments, clerk: int, clock: Clock) -> str:
    return await start_check(desk, clerk, clock, "id_card")


def card() -> np.ndarray:
    if SPECIMEN.exists():
        image = cv2.imread(str(SPECIMEN), cv2.IMREAD_COLOR)
        assert image is not None
        return np.asarray(image, dtype=np.uint8)
    # Without the shared samples: a light card with dark "digits" where the CAN sits.
    image = np.full((447, 708, 3), 220, dtype=np.uint8)
    cv2.putText(image, "938568", (545, 360), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (30, 30, 30), 3)
    return image


async def clerk_by_id(staff: Staff, clerk_id: int) -> Clerk:
    return await staff.get(clerk_id)


async def audit_actions(desk: Appointments) -> list[str]:
    async with desk.office.sessions() as session:
        return [e.action for e in (await session.scalars(select(AuditEntry))).all()]


async def test_stored_capture_is_an_encrypted_marked_copy(
    vault: CaptureVault, verification: str, staff: Staff, clerk: int, desk: Appointments
) -> None:
    stored = await vault.store(verification, "front", card(), german_id_front=True)
    async with desk.office.sessions() as session:
        row = await session.get(Capture, stored.capture_id)
    assert row is not None
    assert b"\xff\xd8\xff" not in row.ciphertext[:16]  # not a JPEG at rest

    anna = await clerk_by_id(staff, clerk)
    jpeg = await vault.open(await vault.link(stored.capture_id, anna), anna)
    assert jpeg[:3] == b"\xff\xd8\xff"
    image = decode_image(jpeg)
    assert can_is_covered(image)
    # The watermark: clearly reddish pixels somewhere on the card.
    reddish = (image[..., 2].astype(int) - image[..., 1].astype(int)) > 60
    assert reddish.mean() > 0.02
    assert "capture.viewed" in await audit_actions(desk)


async def test_only_the_clerk_of_the_check_and_admins_see_it(
    vault: CaptureVault,
    verification: str,
    staff: Staff,
    clerk: int,
    desk: Appointments,
    clock: Clock,
) -> None:
    stored = await vault.store(verification, "back", card())
    anna = await clerk_by_id(staff, clerk)
    other = await staff.create("bernd", "Bernd", "another long password", skills=["meldewesen"])
    admin = await staff.create("admin", "Admin", "an admin's long password", role=Role.ADMIN)

    with pytest.raises(CaptureForbidden):
        await vault.link(stored.capture_id, other)
    annas_link = await vault.link(stored.capture_id, anna)
    with pytest.raises(CaptureForbidden):  # a link is for the viewer it was made for
        await vault.open(annas_link, other)
    assert (await vault.open(await vault.link(stored.capture_id, admin), admin))[:2] == b"\xff\xd8"

    clock.advance(minutes=6)
    with pytest.raises(TokenInvalid):
        await vault.open(annas_link, anna)
    actions = await audit_actions(desk)
    assert actions.count("capture.refused") == 2 and actions.count("capture.viewed") == 1


async def test_tampered_ciphertext_is_not_shown(
    vault: CaptureVault, verification: str, staff: Staff, clerk: int, desk: Appointments
) -> None:
    stored = await vault.store(verification, "face", card())
    async with desk.office.sessions() as session, session.begin():
        row = await session.get(Capture, stored.capture_id)
        assert row is not None
        flipped = bytes([row.ciphertext[0] ^ 1]) + row.ciphertext[1:]
        await session.execute(
            update(Capture).where(Capture.id == stored.capture_id).values(ciphertext=flipped)
        )
    anna = await clerk_by_id(staff, clerk)
    with pytest.raises(NotFound):
        await vault.open(await vault.link(stored.capture_id, anna), anna)


async def test_captures_are_deleted_after_the_retention_period(
    vault: CaptureVault, verification: str, desk: Appointments, clock: Clock
) -> None:
    first = await vault.store(verification, "front", card())
    clock.advance(days=5)
    second = await vault.store(verification, "back", card())
    from datetime import timedelta

    clock.advance(days=2, minutes=1)
    assert await vault.purge(timedelta(days=7)) == 1
    async with desk.office.sessions() as session:
        left = (await session.scalars(select(Capture.id))).all()
    assert left == [second.capture_id] and first.capture_id not in left
    assert await vault.delete_for(verification) == 1
    assert "capture.purged" in await audit_actions(desk)


def flattened(file: str, kind: DocumentKind) -> np.ndarray:
    """A flat specimen as the capture stores it: flattened to the document's aspect."""
    image = specimen_image(file)  # skips the test when the shared samples are not there
    height, width = image.shape[:2]
    corners = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
    return np.asarray(warp(image, Quad.of(corners), kind), dtype=np.uint8)


def number_read(image: np.ndarray) -> str | None:
    result = mrz_reader.read(image, today=TODAY).result
    return result.document_number if result else None


DOCUMENTS = [
    ("id_card", "deu_idcard_2021_back.png", "id1", "back", "L01X00T47"),
    ("passport", "deu_passport_2024.png", "passport", "front", "CZ6311T47"),
]


def can_is_covered(image: np.ndarray) -> bool:
    """Black under a translucent red "KOPIE": no bright pixel of the digits' background."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = CAN_REGION
    can = image[
        int(y0 * height) + 5 : int(y1 * height) - 5, int(x0 * width) + 5 : int(x1 * width) - 5
    ]
    return bool(can[..., :2].max() < 60)


@pytest.mark.parametrize("kind", ["front", "tilt_a", "tilt_b"])
async def test_the_can_goes_from_every_capture_of_an_id_card_front(
    vault: CaptureVault, verification: str, staff: Staff, clerk: int, kind: str
) -> None:
    # the console did not say "German ID front" (its flag is for the front only): the
    # vault sees the card's front and covers the CAN anyway
    stored = await vault.store(verification, kind, card(), german_id_front=False)
    anna = await clerk_by_id(staff, clerk)
    copy = decode_image(await vault.open(await vault.link(stored.capture_id, anna), anna))
    assert can_is_covered(copy)


async def test_the_back_of_an_id_card_keeps_its_mrz_where_the_can_would_be(
    vault: CaptureVault, verification: str, staff: Staff, clerk: int
) -> None:
    back = flattened("deu_idcard_2021_back.png", "id1")
    stored = await vault.store(verification, "tilt_a", back)
    anna = await clerk_by_id(staff, clerk)
    copy = decode_image(await vault.open(await vault.link(stored.capture_id, anna), anna))
    assert not can_is_covered(copy)


@pytest.mark.parametrize(
    ("document_type", "file", "shape", "kind", "number"), DOCUMENTS, ids=["id_card", "passport"]
)
async def test_a_stored_copy_does_not_show_the_document_number(
    vault: CaptureVault,
    desk: Appointments,
    staff: Staff,
    clerk: int,
    clock: Clock,
    document_type: str,
    file: str,
    shape: DocumentKind,
    kind: str,
    number: str,
) -> None:
    image = flattened(file, shape)
    assert number_read(image) == number  # readable on the frame itself
    check = await start_check(desk, clerk, clock, document_type)
    stored = await vault.store(check, kind, image)
    anna = await clerk_by_id(staff, clerk)
    copy = decode_image(await vault.open(await vault.link(stored.capture_id, anna), anna))
    assert number_read(copy) != number
    assert number_read(image) == number  # the frame, read after the copy was made


def town_keeping_numbers() -> Town:
    town = load_town()
    rules = town.verification.model_copy(update={"redact_serial_number": False})
    return town.model_copy(update={"verification": rules})


@pytest.mark.parametrize("town", [town_keeping_numbers()], ids=["redact_serial_number=false"])
async def test_a_town_may_keep_the_document_number_on_copies(
    vault: CaptureVault, desk: Appointments, staff: Staff, clerk: int, clock: Clock, town: Town
) -> None:
    assert not vault.needs_flat_document("back")
    check = await start_check(desk, clerk, clock, "id_card")
    stored = await vault.store(check, "back", flattened("deu_idcard_2021_back.png", "id1"))
    anna = await clerk_by_id(staff, clerk)
    copy = decode_image(await vault.open(await vault.link(stored.capture_id, anna), anna))
    assert number_read(copy) == "L01X00T47"


def test_the_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError):
        load_key(base64.b64encode(b"short").decode())


async def test_the_hourly_purge_deletes_old_captures(
    client: Any, verification: str, desk: Appointments, clock: Clock
) -> None:
    from signalling.keys import JOBS, VAULT

    await client.app[VAULT].store(verification, "front", card())
    await client.app[JOBS].purge.run()
    async with desk.office.sessions() as session:
        assert len((await session.scalars(select(Capture.id))).all()) == 1
    clock.advance(days=7, minutes=1)
    await client.app[JOBS].purge.run()
    async with desk.office.sessions() as session:
        assert (await session.scalars(select(Capture.id))).all() == []


# -- what the console was told of each capture, kept beside it -------------------------

DEU_TD1 = [
    "IDD<<L01X00T471<<<<<<<<<<<<<<<",
    "8308126<3108011D<<2108<<<<<<<7",
    "MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
]


def mrz_result() -> MrzResult:
    return parse(DEU_TD1, today=TODAY)


def analysed(capture_id: str, accepted: bool) -> dict[str, Any]:
    """A capture_analysed payload as the desk sends it (the parts the vault looks at)."""
    result = mrz_result()
    mrz = {
        "read_lines": list(DEU_TD1),
        "error": None,
        "lines": list(result.lines),
        "format": result.format,
        "valid": result.valid,
        # one look-alike fixed in the number, one in the name
        "corrections": [
            {"line": 0, "column": 7, "found": "O", "replaced_by": "0"},
            {"line": 2, "column": 1, "found": "0", "replaced_by": "U"},
        ],
        "fields": {**result.fields(), "sex": None},
    }
    return {
        "capture_id": capture_id,
        "analysis": {"found": True, "quality": {"verdict": "ok"}, "mrz": mrz},
        "mrz_accepted": accepted,
        "mrz_fields": result.fields() if accepted else None,
        "name_check": None,
        "mrz_expired": False if accepted else None,
    }


async def keep(vault: CaptureVault, verification: str, shot: dict[str, Any]) -> str:
    """A capture of the back recorded with ``shot`` (its image does not matter here)."""
    order = await vault.prepare(verification, "back")
    stored = await vault.keep(verification, order, b"sealed elsewhere", shot)
    return stored.capture_id


async def test_what_the_console_was_told_comes_back_sealed_and_in_order(
    vault: CaptureVault, verification: str, desk: Appointments, clock: Clock
) -> None:
    first_shot = {"width": 1200, "height": 757, "flattened": True, "taken_by": "take"}
    first = await keep(vault, verification, first_shot)
    clock.advance(seconds=2)
    second = await keep(vault, verification, {**first_shot, "taken_by": "auto"})
    key = vault.agreement(mrz_result())
    assert key is not None and "L01X00T47" not in key

    # The second capture is read first: it is judged against nothing, the first against it.
    seen: list[list[Reading]] = []

    def judge(capture_id: str, accepted: bool) -> Callable[[Sequence[Reading]], Reading]:
        def judged(earlier: Sequence[Reading]) -> Reading:
            seen.append(list(earlier))
            return Reading(capture_id, analysed(capture_id, accepted), key)

        return judged

    told = await vault.record_reading(verification, second, judge(second, False))
    assert told.analysed == analysed(second, False)  # as judged: the clerk is told all
    await vault.record_reading(verification, first, judge(first, True))
    assert seen[0] == []
    [earlier] = seen[1]
    assert (earlier.capture_id, earlier.agreement) == (second, key)

    captures, readings = await vault.kept(verification)
    assert [(c.capture_id, c.shot) for c in captures] == [
        (first, first_shot),
        (second, {**first_shot, "taken_by": "auto"}),
    ]
    assert captures[0].taken_at < captures[1].taken_at
    assert [r.capture_id for r in readings] == [second, first]  # the order they were judged
    kept = readings[1].analysed
    # The town blacks the document number out of its copies: the reading is kept without it.
    mrz = kept["analysis"]["mrz"]
    assert (
        mrz["fields"]["document_number"] is None and kept["mrz_fields"]["document_number"] is None
    )
    assert mrz["lines"] == ["IDD<<" + "*" * 10 + "<" * 15, DEU_TD1[1], DEU_TD1[2]]
    assert "read_lines" not in mrz
    assert mrz["corrections"] == [{"line": 2, "column": 1, "found": "0", "replaced_by": "U"}]
    assert mrz["fields"]["surname"] == "MUSTERMANN" and kept["mrz_accepted"] is True
    assert not any("L01X00T47" in str(r.analysed) for r in readings)

    # At rest it is all ciphertext.
    async with desk.office.sessions() as session:
        rows = (await session.scalars(select(Capture))).all()
    for row in rows:
        assert row.shot is not None and row.reading is not None
        assert b"width" not in row.shot and b"MUSTERMANN" not in row.reading


async def test_a_reading_moved_to_another_capture_does_not_open(
    vault: CaptureVault, verification: str, desk: Appointments
) -> None:
    first = await keep(vault, verification, {"width": 1})
    second = await keep(vault, verification, {"width": 2})
    await vault.record_reading(
        verification, first, lambda _: Reading(first, analysed(first, False), None)
    )
    async with desk.office.sessions() as session, session.begin():
        row = await session.get(Capture, first)
        assert row is not None
        await session.execute(
            update(Capture).where(Capture.id == second).values(reading=row.reading, read_seq=2)
        )
    with pytest.raises(InvalidTag):
        await vault.kept(verification)


@pytest.mark.parametrize("town", [town_keeping_numbers()], ids=["redact_serial_number=false"])
async def test_a_town_that_keeps_document_numbers_keeps_the_reading_whole(
    vault: CaptureVault, desk: Appointments, clerk: int, clock: Clock, town: Town
) -> None:
    check = await start_check(desk, clerk, clock, "id_card")
    capture = await keep(vault, check, {"width": 1})
    await vault.record_reading(
        check, capture, lambda _: Reading(capture, analysed(capture, True), None)
    )
    _captures, [reading] = await vault.kept(check)
    assert reading.analysed == analysed(capture, True)


def test_readings_agree_by_their_lines_and_only_when_valid(vault: CaptureVault) -> None:
    result = mrz_result()
    assert vault.agreement(result) == vault.agreement(parse(DEU_TD1, today=TODAY))
    invalid = parse([DEU_TD1[0], DEU_TD1[1][:-1] + "3", DEU_TD1[2]], today=TODAY)
    assert not invalid.valid and vault.agreement(invalid) is None
    assert vault.agreement(None) is None
    other_key = CaptureVault(vault.office, secrets.token_bytes(32), vault.signer)
    assert other_key.agreement(result) != vault.agreement(result)  # keyed: not the lines' hash
