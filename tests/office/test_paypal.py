"""Paying with PayPal (Orders v2) against the local stand-in, on SQLite and PostgreSQL:
order, approval, capture, the return route, webhooks in any order and any number,
amounts to the cent, PayPal down, and the secret kept out of the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlalchemy import delete, func, select

from office.appointments import Appointments
from office.case_views import CaseView, PaymentMethod
from office.cases import Cases, CaseState, InvalidTransition
from office.models import AuditEntry, Payment, PaypalOrder
from office.paypal_client import PaypalClient, PaypalUnavailable, format_amount, parse_amount
from office.paypal_payments import PaypalPayments
from signalling.keys import CASES, PAYPAL
from signalling.settings import Mode, Settings
from tests.helpers.booking import book_at, verify
from tests.helpers.clock import Clock
from tests.helpers.constants import SLOT
from tests.helpers.paypal_standin import CLIENT_ID, SECRET, WEBHOOK_ID, PaypalStandin

WEBHOOK = "/zahlung/paypal/webhook"
CLERK = "clerk:1"


@pytest.fixture
async def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[PaypalStandin]:
    server = await PaypalStandin(tmp_path / "paypal").start()
    # The client trusts the stand-in's certificate through the default trust store,
    # the way it trusts PayPal's: TLS is verified as in production.
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cert_file))
    yield server
    await server.stop()


@pytest.fixture
def settings(settings: Settings, standin: PaypalStandin) -> Settings:
    return settings.model_copy(
        update={
            "paypal_base_url": standin.base_url,
            "paypal_client_id": CLIENT_ID,
            "paypal_secret": SecretStr(SECRET),
            "paypal_webhook_id": WEBHOOK_ID,
        }
    )


@pytest.fixture
def paypal(client: TestClient[Any, Any]) -> PaypalPayments:
    desk: PaypalPayments = client.app[PAYPAL]
    return desk


@pytest.fixture
async def case(
    client: TestClient[Any, Any], desk: Appointments, clerk: int, clock: Clock
) -> CaseView:
    """A Führungszeugnis (13.00 EUR) waiting for payment by PayPal."""
    cases: Cases = client.app[CASES]
    appointment = await book_at(desk, SLOT)
    clock.set(SLOT)
    await verify(desk, appointment.id)
    opened = await cases.open(appointment.id, "fuehrungszeugnis", clerk)
    return await cases.transition(
        opened.id, CaseState.PAYMENT_PENDING, CLERK, method=PaymentMethod.PAYPAL
    )


async def snapshot(desk: Appointments, case_id: str) -> dict[str, Any]:
    """Everything PayPal could change about a case."""
    async with desk.office.sessions() as session:
        payments = (
            await session.execute(
                select(Payment.external_id, Payment.amount_cents).where(Payment.case_id == case_id)
            )
        ).all()
        orders = (
            await session.execute(
                select(PaypalOrder.id, PaypalOrder.status, PaypalOrder.amount_cents).where(
                    PaypalOrder.case_id == case_id
                )
            )
        ).all()
        audits = await session.scalar(select(func.count()).select_from(AuditEntry))
    return {"payments": sorted(payments), "orders": sorted(orders), "audits": audits}


async def audit_actions(desk: Appointments, prefix: str) -> list[str]:
    async with desk.office.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.startswith(prefix))
                .order_by(AuditEntry.id)
            )
        )


def order_id_of(approve_url: str) -> str:
    return approve_url.rsplit("token=", 1)[1]


async def post_webhook(
    client: TestClient[Any, Any], body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    # No CSRF token and no cookie: a server-to-server POST, as PayPal sends it.
    response = await client.post(WEBHOOK, data=body, headers=headers)
    return response.status, json.loads(await response.text())


# -- amounts ---------------------------------------------------------------------------


def test_amounts_are_integer_cents_both_ways() -> None:
    assert [format_amount(c) for c in (1300, 5, 0, 123456)] == ["13.00", "0.05", "0.00", "1234.56"]
    assert [parse_amount(v) for v in ("13.00", "13", "13.5", "0.05")] == [1300, 1300, 1350, 5]
    assert [parse_amount(v) for v in ("13.001", "-1.00", "1e3", 13.0, "", None)] == [None] * 6


def test_production_refuses_a_paypal_address_without_https(tmp_path: Path) -> None:
    base = {"_env_file": None, "mode": Mode.PRODUCTION, "data_dir": tmp_path}
    plain = Settings(**base, paypal_base_url="http://api-m.paypal.com")  # type: ignore[arg-type]
    assert any("BB_PAYPAL_BASE_URL" in problem for problem in plain.problems())
    live = Settings(**base, paypal_base_url="https://api-m.paypal.com")  # type: ignore[arg-type]
    assert not any("BB_PAYPAL" in problem for problem in live.problems())
    half = Settings(**base, paypal_client_id="abc")  # type: ignore[arg-type]
    assert any("BB_PAYPAL_SECRET" in problem for problem in half.problems())


# -- the citizen's way -----------------------------------------------------------------


async def test_order_approve_capture_pays_the_case_to_the_cent(
    paypal: PaypalPayments, standin: PaypalStandin, case: CaseView, desk: Appointments
) -> None:
    assert paypal.enabled
    approve_url = await paypal.start(case.id, "citizen")
    order_id = order_id_of(approve_url)
    sent = standin.order_requests[0]
    unit = sent["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "EUR", "value": "13.00"}
    assert unit["custom_id"] == case.id and unit["invoice_id"] == case.reference
    context = sent["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"] == "https://termine.test/zahlung/paypal/zurueck"
    assert context["cancel_url"] == "https://termine.test/zahlung/paypal/abbruch"

    # A second start (a reload) gives the same link, and PayPal has one order.
    assert await paypal.start(case.id, "citizen") == approve_url
    assert list(standin.orders) == [order_id]

    standin.approve(order_id)
    assert await paypal.returned(order_id) == case.id
    paid = await paypal.cases.get(case.id)
    assert paid.state is CaseState.PAID
    assert paid.paid_cents == paid.fee_cents == 1300
    capture_id = standin.orders[order_id].captures[0]["id"]
    assert (await snapshot(desk, case.id))["payments"] == [(capture_id, 1300)]
    assert (await snapshot(desk, case.id))["orders"] == [(order_id, "COMPLETED", 1300)]
    assert standin.token_requests == 1  # the token is reused


async def test_the_return_route_captures_and_redirects_to_the_status_page(
    client: TestClient[Any, Any], paypal: PaypalPayments, standin: PaypalStandin, case: CaseView
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    back = urlsplit(standin.approve(order_id))
    response = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/termin/status"
    assert (await paypal.cases.get(case.id)).state is CaseState.PAID

    cancelled = await client.get("/zahlung/paypal/abbruch?token=X", allow_redirects=False)
    assert cancelled.status == 303
    assert cancelled.headers["Location"] == "/termin/status?hinweis=paypal-abgebrochen"
    unknown = await client.get("/zahlung/paypal/zurueck?token=NOSUCHORDER", allow_redirects=False)
    assert unknown.status == 404


async def test_a_capture_paypal_refuses_leads_back_with_a_notice_and_books_nothing(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    before = await snapshot(desk, case.id)
    # Back without approving (as when PayPal declined the card): PayPal refuses the capture.
    refused = await client.get(f"/zahlung/paypal/zurueck?token={order_id}", allow_redirects=False)
    assert refused.status == 303
    assert refused.headers["Location"] == "/termin/status?hinweis=paypal-abgelehnt"
    assert (await snapshot(desk, case.id))["payments"] == before["payments"] == []
    assert (await paypal.cases.get(case.id)).state is CaseState.PAYMENT_PENDING


async def test_start_is_refused_unless_the_case_waits_for_paypal(
    client: TestClient[Any, Any], paypal: PaypalPayments, case: CaseView, standin: PaypalStandin
) -> None:
    cases: Cases = client.app[CASES]
    await cases.transition(case.id, CaseState.WAIVED, CLERK, reason="Härtefall")
    with pytest.raises(InvalidTransition):
        await paypal.start(case.id, "citizen")
    assert standin.order_requests == []


# -- webhooks --------------------------------------------------------------------------


async def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    standin.approve(order_id)
    capture = standin.capture_now(order_id)
    before = await snapshot(desk, case.id)

    body = standin.event("PAYMENT.CAPTURE.COMPLETED", capture)
    status, answer = await post_webhook(client, body, standin.signed("forged"))
    assert (status, answer["error"]["code"]) == (400, "webhook_invalid")
    unsigned = {"Content-Type": "application/json"}
    status, answer = await post_webhook(client, body, unsigned)
    assert (status, answer["error"]["code"]) == (400, "webhook_invalid")
    status, answer = await post_webhook(client, b"{not json", standin.signed())
    assert (status, answer["error"]["code"]) == (400, "webhook_invalid")

    assert await snapshot(desk, case.id) == before
    assert (await paypal.cases.get(case.id)).state is CaseState.PAYMENT_PENDING
    # PayPal was asked once (the forged one); the event went to it byte for byte.
    assert len(standin.verify_requests) == 1
    assert standin.verify_requests[0]["webhook_event"] == json.loads(body)


async def test_a_repeated_webhook_books_one_payment(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    standin.approve(order_id)
    capture = standin.capture_now(order_id)
    body = standin.event("PAYMENT.CAPTURE.COMPLETED", capture)

    assert await post_webhook(client, body, standin.signed()) == (
        200,
        {"ok": True, "outcome": "booked"},
    )
    after_first = await snapshot(desk, case.id)
    assert await post_webhook(client, body, standin.signed()) == (
        200,
        {"ok": True, "outcome": "known"},
    )
    assert await snapshot(desk, case.id) == after_first
    assert after_first["payments"] == [(capture["id"], 1300)]
    assert (await paypal.cases.get(case.id)).state is CaseState.PAID


async def test_capture_webhook_before_the_return_books_once(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    back = urlsplit(standin.approve(order_id))
    # PayPal captured (our capture's answer was lost) and says so before the return.
    capture = standin.capture_now(order_id)
    event = standin.event("PAYMENT.CAPTURE.COMPLETED", capture)
    assert (await post_webhook(client, event, standin.signed()))[0] == 200
    response = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
    assert response.status == 303
    assert (await snapshot(desk, case.id))["payments"] == [(capture["id"], 1300)]


async def test_order_approved_webhook_captures_and_the_return_changes_nothing(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    back = urlsplit(standin.approve(order_id))
    approved = standin.event("CHECKOUT.ORDER.APPROVED", standin.orders[order_id].body())
    assert await post_webhook(client, approved, standin.signed()) == (
        200,
        {"ok": True, "outcome": "captured"},
    )
    after = await snapshot(desk, case.id)
    assert len(after["payments"]) == 1
    assert (await client.get(f"{back.path}?{back.query}", allow_redirects=False)).status == 303
    # The completed-capture webhook that follows changes nothing either.
    capture = standin.orders[order_id].captures[0]
    completed = standin.event("PAYMENT.CAPTURE.COMPLETED", capture)
    assert (await post_webhook(client, completed, standin.signed()))[0] == 200
    assert await snapshot(desk, case.id) == after


async def test_a_refund_is_audited_and_the_case_stays_paid(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    standin.approve(order_id)
    await paypal.returned(order_id)
    capture_id = standin.orders[order_id].captures[0]["id"]
    refund = {
        "id": "REFUND1",
        "status": "COMPLETED",
        "amount": {"currency_code": "EUR", "value": "13.00"},
        "links": [{"rel": "up", "href": f"{standin.base_url}/v2/payments/captures/{capture_id}"}],
    }
    event = standin.event("PAYMENT.CAPTURE.REFUNDED", refund)
    assert (await post_webhook(client, event, standin.signed()))[1]["outcome"] == "recorded"
    assert (await post_webhook(client, event, standin.signed()))[1]["outcome"] == "known"
    assert (await paypal.cases.get(case.id)).state is CaseState.PAID
    assert (await snapshot(desk, case.id))["orders"] == [(order_id, "REFUNDED", 1300)]
    assert await audit_actions(desk, "paypal.capture_") == ["paypal.capture_refunded"]


async def test_a_capture_of_another_amount_is_audited_not_booked(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    standin.approve(order_id)
    standin.capture_value = "12.99"
    await paypal.returned(order_id)
    capture = standin.orders[order_id].captures[0]
    event = standin.event("PAYMENT.CAPTURE.COMPLETED", capture)
    assert (await post_webhook(client, event, standin.signed()))[0] == 200

    state = await snapshot(desk, case.id)
    assert state["payments"] == []
    assert state["orders"] == [(order_id, "MISMATCH", 1300)]
    assert (await paypal.cases.get(case.id)).state is CaseState.PAYMENT_PENDING
    assert await audit_actions(desk, "paypal.amount") == ["paypal.amount_mismatch"]


# -- failures --------------------------------------------------------------------------


async def test_paypal_down_is_paypal_unavailable_and_nothing_half_written(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    desk: Appointments,
) -> None:
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    back = urlsplit(standin.approve(order_id))
    before = await snapshot(desk, case.id)
    await standin.stop()

    with pytest.raises(PaypalUnavailable) as raised:
        await paypal.returned(order_id)
    assert raised.value.code == "paypal_unavailable"
    response = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
    assert response.status == 503
    assert "PayPal" in await response.text()
    # Without the stored order a new one is needed: it cannot be made, none is stored.
    async with desk.office.sessions() as session, session.begin():
        await session.execute(delete(PaypalOrder))
    with pytest.raises(PaypalUnavailable):
        await paypal.start(case.id, "citizen")

    after = await snapshot(desk, case.id)
    assert after["payments"] == [] and after["orders"] == []
    assert after["audits"] == before["audits"]
    assert (await paypal.cases.get(case.id)).state is CaseState.PAYMENT_PENDING


async def test_the_secret_never_reaches_the_logs(
    client: TestClient[Any, Any],
    paypal: PaypalPayments,
    standin: PaypalStandin,
    case: CaseView,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    order_id = order_id_of(await paypal.start(case.id, "citizen"))
    standin.approve(order_id)
    await paypal.returned(order_id)
    # Wrong credentials: the refusal is logged, the secret is not.
    wrong = PaypalClient(standin.base_url, CLIENT_ID, SECRET + "-wrong")
    with pytest.raises(PaypalUnavailable):
        await wrong.get_order(order_id)
    await wrong.close()

    assert "PayPal order" in caplog.text and "refused the client credentials" in caplog.text
    for text in (caplog.text, repr(settings), repr(paypal.client), str(settings.model_dump())):
        assert SECRET not in text
    assert all(token not in caplog.text for token in standin.tokens)


async def test_without_a_client_id_paypal_is_off(
    settings: Settings, aiohttp_client: Any, case: CaseView
) -> None:
    from signalling.app import create_app

    off = settings.model_copy(update={"paypal_client_id": None, "paypal_secret": None})
    client = await aiohttp_client(create_app(off, run_jobs=False))
    assert client.app[PAYPAL].enabled is False
    with pytest.raises(PaypalUnavailable):
        await client.app[PAYPAL].start(case.id, "citizen")
    assert (
        await client.get("/zahlung/paypal/zurueck?token=ABC", allow_redirects=False)
    ).status == 404
    assert (await client.post(WEBHOOK, data=b"{}")).status == 404
