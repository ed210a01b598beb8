"""The JSON booking API (/api/v1) over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import openapi_schema_validator
import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from sqlalchemy import func, select

from office.catalogue import Town
from office.models import Appointment, OutboxMail
from signalling.cookies import APPOINTMENT as COOKIE
from signalling.keys import SESSIONS
from tests.helpers.clock import Clock
from tests.helpers.mail import SmtpServer, body, deliver_mail, join_link

DAY = "2026-06-01"  # the clock's Monday
FIRST_SLOT = "2026-06-01T10:30:00+00:00"  # 12:30 local
NAME = "Erika Mustermann"
EMAIL = "erika@example.org"
MAX_BODY = 16 * 1024
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
APPOINTMENT_KEYS = {"id", "reference", "service_id", "starts_at", "ends_at", "status"}


def booking(**overrides: Any) -> dict[str, Any]:
    return {
        "service_id": "meldebescheinigung",
        "starts_at": FIRST_SLOT,
        "name": NAME,
        "email": EMAIL,
        "consent": True,
        **overrides,
    }


async def count(client: TestClient[Any, Any], model: Any) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    data = await response.json()
    assert set(data) == {"error"}
    assert data["error"]["code"] == code
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    error: dict[str, Any] = data["error"]
    return error


async def nothing_booked(client: TestClient[Any, Any], smtp: SmtpServer) -> None:
    assert await count(client, Appointment) == 0
    assert await count(client, OutboxMail) == 0
    await deliver_mail(client)
    assert smtp.inbox.messages == []


async def post_book(client: TestClient[Any, Any], payload: dict[str, Any]) -> Any:
    return await client.post("/api/v1/appointments", json=payload)


async def openapi_document(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    spec: dict[str, Any] = await response.json()
    return spec


def conforms(spec: dict[str, Any], schema_name: str, instance: Any) -> None:
    """Validate an instance against one of the document's component schemas."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    openapi_schema_validator.validate(instance, schema)


# -- reading -------------------------------------------------------------------------


async def test_services_lists_all_seven_with_integer_fees(
    client: TestClient[Any, Any], town: Town
) -> None:
    response = await client.get("/api/v1/services")
    assert response.status == 200
    services = await response.json()
    assert isinstance(services, list) and len(services) == 7
    assert [s["id"] for s in services] == [s.id for s in town.services]
    for service in services:
        assert type(service["fee_cents"]) is int, service["id"]
        assert service["fee_cents"] >= 0
    fees = {s["id"]: s["fee_cents"] for s in services}
    assert fees["meldebescheinigung"] == 1000 and fees["fuehrungszeugnis"] == 1300
    spec = await openapi_document(client)
    for service in services:
        conforms(spec, "Service", service)


async def test_slots_of_a_day(client: TestClient[Any, Any], clerk: int) -> None:
    response = await client.get(f"/api/v1/services/meldebescheinigung/slots?date={DAY}")
    assert response.status == 200
    data = await response.json()
    assert data["service_id"] == "meldebescheinigung" and data["date"] == DAY
    assert data["slots"][0] == {
        "starts_at": FIRST_SLOT,
        "ends_at": "2026-06-01T10:40:00+00:00",
        "free_seats": 1,
    }
    conforms(await openapi_document(client), "SlotList", data)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?date=",
        "?tag=2026-06-01",
        "?date=2026-13-01",
        "?date=2026-02-30",
        "?date=01.06.2026",
        "?date=2026-6-1",
        "?date=2026-06-01T10:00",
        "?date=tomorrow",
    ],
)
async def test_slots_with_missing_or_bad_date_is_invalid_input(
    client: TestClient[Any, Any], clerk: int, query: str
) -> None:
    response = await client.get(f"/api/v1/services/meldebescheinigung/slots{query}")
    error = await error_of(response, 400, "invalid_input")
    assert set(error["fields"]) == {"date"}


async def test_slots_of_unknown_service_is_not_found(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"/api/v1/services/gibt-es-nicht/slots?date={DAY}")
    await error_of(response, 404, "not_found")


async def test_unknown_api_route_answers_json(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/gibt-es-nicht")
    await error_of(response, 404, "not_found")


# -- booking -------------------------------------------------------------------------


async def test_booking_returns_appointment_without_link_and_mails_the_link(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    response = await post_book(client, booking())
    assert response.status == 201
    raw = await response.text()
    data = json.loads(raw)
    assert set(data) == APPOINTMENT_KEYS
    assert data["status"] == "booked" and data["service_id"] == "meldebescheinigung"
    assert data["starts_at"] == FIRST_SLOT and data["ends_at"] == "2026-06-01T10:40:00+00:00"
    assert isinstance(data["id"], str) and len(data["reference"]) == 8
    conforms(await openapi_document(client), "Appointment", data)
    # Neither the body nor a cookie hands out the join link or any token.
    assert "token" not in raw.lower() and "/t/" not in raw and "termine.test" not in raw
    assert COOKIE not in response.cookies

    await deliver_mail(client)
    [mail] = smtp.inbox.to(EMAIL)
    link = join_link(mail)
    token = link.removeprefix("/t/")
    assert token not in raw and token.split(".")[2] not in raw
    assert data["reference"] in body(mail)
    opened = await client.get(link, allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/termin"


async def test_name_of_exactly_100_characters_is_accepted(
    client: TestClient[Any, Any], clerk: int
) -> None:
    response = await post_book(client, booking(name="x" * 100))
    assert response.status == 201
    assert await count(client, Appointment) == 1


async def test_invalid_fields_are_each_reported(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    payload = booking(name="x" * 101, email="not-an-address")
    del payload["consent"]
    response = await post_book(client, payload)
    error = await error_of(response, 400, "invalid_input")
    assert set(error["fields"]) == {"name", "email", "consent"}
    assert "100" in error["fields"]["name"]
    conforms(await openapi_document(client), "Error", {"error": error})

    refused = await post_book(client, booking(consent=False, phone="call me"))
    error = await error_of(refused, 400, "invalid_input")
    assert set(error["fields"]) == {"consent", "phone"}
    await nothing_booked(client, smtp)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/x-www-form-urlencoded", None),
        ("text/plain", json.dumps(booking())),
        ("multipart/form-data; boundary=x", json.dumps(booking())),
    ],
)
async def test_non_json_content_type_is_refused(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer, content_type: str, data: Any
) -> None:
    if data is None:  # a genuine HTML form post of the same fields
        form = {**booking(), "consent": "on"}
        response = await client.post("/api/v1/appointments", data=form)
        assert response.request_info.headers["Content-Type"] == content_type
    else:
        response = await client.post(
            "/api/v1/appointments", data=data, headers={"Content-Type": content_type}
        )
    await error_of(response, 400, "invalid_input")
    await nothing_booked(client, smtp)


def padded(size: int) -> bytes:
    """A valid booking body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    raw = json.dumps(booking()).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def test_body_of_exactly_16_kib_is_accepted(client: TestClient[Any, Any], clerk: int) -> None:
    response = await client.post(
        "/api/v1/appointments",
        data=padded(MAX_BODY),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, await response.text()


@pytest.mark.parametrize("size", [MAX_BODY + 1, 64 * 1024])
async def test_body_over_16_kib_is_refused(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer, size: int
) -> None:
    response = await client.post(
        "/api/v1/appointments", data=padded(size), headers={"Content-Type": "application/json"}
    )
    assert response.status in (400, 413)
    assert (await response.json())["error"]["code"] in ("invalid_input", "too_large")
    await nothing_booked(client, smtp)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
        await asyncio.sleep(0.05)  # let the server see each chunk on its own


async def test_chunked_body_over_16_kib_is_refused(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    """Without Content-Length the limit must hold all the same."""
    first = json.dumps(booking()).encode()
    response = await client.post(
        "/api/v1/appointments",
        data=_chunks(first, b" " * MAX_BODY),
        headers={"Content-Type": "application/json"},
    )
    assert response.status in (400, 413)
    await nothing_booked(client, smtp)


async def test_small_body_sent_in_two_chunks_is_read_whole(
    client: TestClient[Any, Any], clerk: int
) -> None:
    """A client (or the network) may deliver the body in pieces; it is still one body."""
    raw = json.dumps(booking()).encode()
    response = await client.post(
        "/api/v1/appointments",
        data=_chunks(raw[:20], raw[20:]),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, await response.text()


@pytest.mark.parametrize(
    "raw",
    [b'{"service_id": "meldebescheinigung", ', b"", b"\xff\xfe{}", b"[1, 2]", b'"text"', b"null"],
)
async def test_malformed_json_is_invalid_input(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer, raw: bytes
) -> None:
    response = await client.post(
        "/api/v1/appointments", data=raw, headers={"Content-Type": "application/json"}
    )
    await error_of(response, 400, "invalid_input")
    await nothing_booked(client, smtp)


async def test_taken_slot_is_a_conflict(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    first = await post_book(client, booking())
    assert first.status == 201
    second = await post_book(client, booking(name="Max Mustermann", email="max@example.org"))
    await error_of(second, 409, "slot_taken")
    assert await count(client, Appointment) == 1
    await deliver_mail(client)
    assert smtp.inbox.to("max@example.org") == []


@pytest.mark.parametrize(
    "starts_at",
    [
        "2026-06-01T10:35:00+00:00",  # between two 10-minute slots
        "2026-06-01T10:31:00+00:00",  # not even on the 5-minute grid
        "2026-06-01T09:00:00+00:00",  # 11:00 local: no virtual office hours
        "2026-06-01T17:00:00+00:00",  # 19:00 local: the hours have just ended
        "2026-06-07T10:30:00+00:00",  # a Sunday
        "2026-06-01T05:30:00+00:00",  # the morning hour, already past
        "2026-06-01T06:20:00+00:00",  # inside the 30-minute lead time (and no hours)
        "2026-09-01T10:30:00+00:00",  # beyond the 42-day horizon
    ],
)
async def test_time_outside_the_schedule_is_unavailable(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer, starts_at: str
) -> None:
    response = await post_book(client, booking(starts_at=starts_at))
    await error_of(response, 409, "slot_unavailable")
    await nothing_booked(client, smtp)


# -- cancelling ----------------------------------------------------------------------


async def test_cancel_with_mailed_token_then_token_is_spent(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    booked = await post_book(client, booking())
    assert booked.status == 201
    appointment = await booked.json()
    await deliver_mail(client)
    [mail] = smtp.inbox.to(EMAIL)
    token = join_link(mail).removeprefix("/t/")

    cancelled = await client.post("/api/v1/appointments/cancel", json={"token": token})
    assert cancelled.status == 200
    data = await cancelled.json()
    assert data["status"] == "cancelled" and data["id"] == appointment["id"]
    assert set(data) == APPOINTMENT_KEYS

    again = await client.post("/api/v1/appointments/cancel", json={"token": token})
    await error_of(again, 404, "token_invalid")

    await deliver_mail(client)
    assert len(smtp.inbox.of_kind("Abgesagt")) == 1
    # The slot is free again.
    slots = await client.get(f"/api/v1/services/meldebescheinigung/slots?date={DAY}")
    assert (await slots.json())["slots"][0]["starts_at"] == FIRST_SLOT


async def test_cancel_with_bad_or_missing_token(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer
) -> None:
    assert (await post_book(client, booking())).status == 201
    await deliver_mail(client)
    token = join_link(smtp.inbox.to(EMAIL)[0]).removeprefix("/t/")
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    forged = signature[:middle] + ("B" if signature[middle] == "A" else "A")
    forged += signature[middle + 1 :]

    forged_token = {"token": f"{header}.{payload}.{forged}"}
    response = await client.post("/api/v1/appointments/cancel", json=forged_token)
    await error_of(response, 404, "token_invalid")
    # What the schema forbids (too long, empty, missing) is invalid input.
    for bad in ({"token": "x" * 3000}, {"token": ""}, {}):
        refused = await client.post("/api/v1/appointments/cancel", json=bad)
        error = await error_of(refused, 400, "invalid_input")
        assert set(error["fields"]) == {"token"}
    assert [a.status for a in await _all_appointments(client)] == ["booked"]


async def test_cancel_with_expired_token_is_token_invalid(
    client: TestClient[Any, Any], clerk: int, smtp: SmtpServer, clock: Clock
) -> None:
    """Expired answers like invalid (as the OpenAPI document promises): nothing leaks."""
    booked = await post_book(client, booking())
    assert booked.status == 201
    ends_at = (await booked.json())["ends_at"]
    await deliver_mail(client)
    token = join_link(smtp.inbox.to(EMAIL)[0]).removeprefix("/t/")
    [appointment] = await _all_appointments(client)
    assert appointment.ends_at.isoformat() == ends_at
    clock.set(appointment.ends_at + timedelta(days=8))
    response = await client.post("/api/v1/appointments/cancel", json={"token": token})
    await error_of(response, 404, "token_invalid")


async def _all_appointments(client: TestClient[Any, Any]) -> list[Appointment]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(Appointment))).all())


# -- the OpenAPI document ------------------------------------------------------------


async def test_openapi_document_is_valid(client: TestClient[Any, Any], town: Town) -> None:
    spec = await openapi_document(client)
    validate(spec)
    assert spec["openapi"].startswith("3.")
    slots = spec["paths"]["/api/v1/services/{service_id}/slots"]["get"]
    [service_id] = [p for p in slots["parameters"] if p["name"] == "service_id"]
    assert service_id["schema"]["enum"] == [s.id for s in town.services]


async def test_openapi_document_covers_every_registered_api_route(
    client: TestClient[Any, Any],
) -> None:
    spec = await openapi_document(client)
    registered = {
        (resource.canonical, route.method.lower())
        for resource in client.app.router.resources()
        if resource.canonical.startswith("/api/v1")
        for route in resource
        if route.method != "HEAD"  # added automatically next to every GET
    }
    assert len(registered) >= 5
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert registered - documented == set(), "registered but not documented"
    assert documented - registered == set(), "documented but not registered"
