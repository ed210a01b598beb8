"""The identity check's checklist, its one-time code and its outcome (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from office.appointments import Appointments
from office.errors import Conflict, InvalidInput
from office.models import Appointment, AuditEntry
from office.verification import CLERK_STEPS, Outcome, Step, Verifications, required_steps
from signalling.keys import SESSIONS
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import SECRET, SLOT
from tests.helpers.mail import SmtpServer, body, deliver_mail


@pytest.fixture
async def appointment(desk: Appointments, clerk: int, clock: Clock) -> Appointment:
    booked = await book_at(desk, SLOT)
    clock.set(SLOT)
    return booked


@pytest.fixture
def checks(desk: Appointments) -> Verifications:
    return Verifications(desk.office, SECRET)


async def pass_clerk_steps(checks: Verifications, verification_id: str, clerk: int) -> None:
    for step in sorted(CLERK_STEPS):
        await checks.record(verification_id, clerk, Step(step), True)


async def mailed_code(client: TestClient[Any, Any], smtp: SmtpServer) -> str:
    await deliver_mail(client)
    [mail] = smtp.inbox.of_kind("Bestätigungscode")[-1:]
    match = re.search(r"^\s+(\d{6})\s*$", body(mail), re.MULTILINE)
    assert match, body(mail)
    return match.group(1)


async def test_a_complete_checklist_verifies_the_appointment(
    client: TestClient[Any, Any],
    checks: Verifications,
    appointment: Appointment,
    clerk: int,
    smtp: SmtpServer,
) -> None:
    started = await checks.start(appointment.id, clerk, "id_card")
    assert started.outcome is Outcome.PENDING
    assert len(started.security_features) == 3
    town_features = checks.rules.security_features["id_card"]
    assert set(started.security_features) <= set(town_features)
    vid = started.verification_id
    await checks.consent(vid)
    await pass_clerk_steps(checks, vid, clerk)
    assert (await checks.checklist(vid)).missing == (Step.ONE_TIME_CODE.value,)
    await checks.send_code(vid)
    assert await checks.check_code(vid, await mailed_code(client, smtp)) is True
    done = await checks.finish(vid, clerk, Outcome.VERIFIED)
    assert done.outcome is Outcome.VERIFIED and done.missing == ()
    assert await checks.is_verified(appointment.id) is True


async def test_verified_is_refused_while_steps_are_missing_or_failed(
    checks: Verifications, appointment: Appointment, clerk: int
) -> None:
    vid = (await checks.start(appointment.id, clerk, "passport")).verification_id
    assert Step.BACK_CAPTURED not in required_steps("passport")
    await checks.consent(vid)
    await pass_clerk_steps(checks, vid, clerk)
    await checks.record(vid, clerk, Step.PORTRAIT_COMPARED, False)  # the latest entry counts
    with pytest.raises(Conflict, match="portrait_compared"):
        await checks.finish(vid, clerk, Outcome.VERIFIED)
    assert await checks.is_verified(appointment.id) is False
    with pytest.raises(InvalidInput):
        await checks.finish(vid, clerk, Outcome.FAILED, reason=" ")
    failed = await checks.finish(vid, clerk, Outcome.FAILED, reason="Lichtbild passt nicht")
    assert failed.outcome is Outcome.FAILED
    with pytest.raises(Conflict):
        await checks.finish(vid, clerk, Outcome.FAILED, reason="noch einmal")
    with pytest.raises(Conflict):
        await checks.record(vid, clerk, Step.MRZ_VALID, True)


async def test_no_capture_before_consent(
    checks: Verifications, appointment: Appointment, clerk: int
) -> None:
    vid = (await checks.start(appointment.id, clerk, "id_card")).verification_id
    for step in (Step.FRONT_CAPTURED, Step.BACK_CAPTURED, Step.FACE_CAPTURED, Step.TILT_SEQUENCE):
        with pytest.raises(Conflict, match="zustimmen"):
            await checks.record(vid, clerk, step, True)
    assert (await checks.checklist(vid)).steps[Step.FRONT_CAPTURED.value] is None
    await checks.consent(vid)
    after = await checks.record(vid, clerk, Step.FRONT_CAPTURED, True)
    assert after.steps[Step.FRONT_CAPTURED.value] is True


async def test_inadmissible_documents_and_system_steps_are_refused(
    checks: Verifications, appointment: Appointment, clerk: int
) -> None:
    with pytest.raises(InvalidInput):
        await checks.start(appointment.id, clerk, "library_card")
    vid = (await checks.start(appointment.id, clerk, "id_card")).verification_id
    for step in (Step.CONSENT, Step.ONE_TIME_CODE):  # the citizen's, not the clerk's
        with pytest.raises(InvalidInput):
            await checks.record(vid, clerk, step, True)


async def test_one_time_code_tries_expiry_and_replay(
    client: TestClient[Any, Any],
    checks: Verifications,
    appointment: Appointment,
    clerk: int,
    clock: Clock,
    smtp: SmtpServer,
) -> None:
    vid = (await checks.start(appointment.id, clerk, "id_card")).verification_id
    with pytest.raises(Conflict, match="zuerst einen Code"):
        await checks.check_code(vid, "123456")
    await checks.send_code(vid)
    code = await mailed_code(client, smtp)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert [await checks.check_code(vid, wrong) for _ in range(5)] == [False] * 5
    with pytest.raises(Conflict, match="abgelaufen"):  # five tries used up
        await checks.check_code(vid, code)

    await checks.send_code(vid)  # a new code, new tries
    fresh = await mailed_code(client, smtp)
    clock.advance(minutes=11)
    with pytest.raises(Conflict, match="abgelaufen"):
        await checks.check_code(vid, fresh)

    await checks.send_code(vid)
    latest = await mailed_code(client, smtp)
    assert await checks.check_code(vid, latest) is True
    with pytest.raises(Conflict):  # used codes cannot be replayed
        await checks.check_code(vid, latest)

    async with client.app[SESSIONS]() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    logged = " ".join(str(e.detail) + e.action for e in entries)
    assert "one_time_code" in logged
    for secret in (code, fresh, latest):
        assert secret not in logged
