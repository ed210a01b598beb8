"""The JSON API held to its own OpenAPI description.

Requests the published schema forbids are generated from that schema (the document
the server serves at /api/v1/openapi.json, read the way a client would read it):
anything that is not the body's schema (hypothesis-jsonschema's ``not``), a valid
body with one field broken along each of its keywords (type, length, enum, const,
format, pattern), a required field left out and an unknown field added. Each must be
refused with one of the operation's documented 4xx answers and a stable code, and
change nothing.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from office.models import Appointment, AuditEntry, OutboxMail
from signalling.keys import SESSIONS
from signalling.settings import Settings

# Codes per status that the API's errors use (README, "The JSON API").
CODE_OF_STATUS = {400: "invalid_input", 404: "not_found", 409: None, 429: "rate_limited"}
VALID_BOOKING = {
    "service_id": "meldebescheinigung",
    "starts_at": "2026-06-01T10:30:00+00:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
    "phone": "+49 711 1234",
    "consent": True,
    "language": "de",
}
VALID_CANCEL = {"token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}

NEGATIVE = hypothesis_settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Behind a proxy, so each request can name a client of its own: the booking rate
    limit (ten an address) must not turn the refusals into 429s."""
    return settings.model_copy(update={"behind_proxy": True})


@pytest.fixture
async def spec(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    return document


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its one level of ``$ref`` into components replaced."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.rsplit("/", 1)[-1]
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


def body_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    content = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return resolved(spec, content["schema"])


def breaking(keyword_schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that violate one property's schema, along each keyword it has."""
    choices: list[st.SearchStrategy[Any]] = [from_schema({"not": keyword_schema})]
    if "const" in keyword_schema:
        const = keyword_schema["const"]
        choices.append(st.sampled_from(["true", 1, "yes", "on", False, None, [const]]))
    if "enum" in keyword_schema:
        allowed = keyword_schema["enum"]
        choices.append(st.text(max_size=40).filter(lambda t: t not in allowed))
        choices.append(st.sampled_from([v.upper() + " " for v in allowed]))
    if keyword_schema.get("type") == "string":
        choices.append(st.integers() | st.booleans() | st.lists(st.text(max_size=3), max_size=2))
        if "minLength" in keyword_schema and keyword_schema["minLength"] > 0:
            choices.append(st.text(max_size=keyword_schema["minLength"] - 1))
        if "maxLength" in keyword_schema:
            longest = keyword_schema["maxLength"]
            choices.append(st.text(min_size=longest + 1, max_size=longest + 40))
        if "pattern" in keyword_schema:
            pattern = re.compile(keyword_schema["pattern"])
            choices.append(st.text(max_size=30).filter(lambda t: not pattern.search(t)))
        if keyword_schema.get("format") == "date-time":
            choices.append(
                st.sampled_from(
                    ["2026-06-01", "2026-06-01 10:30", "morgen", "2026-13-01T10:30:00Z", ""]
                )
            )
        if keyword_schema.get("format") == "email":
            choices.append(st.text(max_size=30).filter(lambda t: "@" not in t))
    validator = Draft202012Validator(
        keyword_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return st.one_of(choices).filter(lambda value: not validator.is_valid(value))


def negative_bodies(schema: dict[str, Any], valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies the schema refuses: built from its keywords, checked against it."""
    properties: dict[str, dict[str, Any]] = schema["properties"]
    one_broken = st.sampled_from(sorted(properties)).flatmap(
        lambda name: breaking(properties[name]).map(lambda value: {**valid, name: value})
    )
    one_missing = st.sampled_from(sorted(schema["required"])).map(
        lambda name: {k: v for k, v in valid.items() if k != name}
    )
    one_unknown = st.text(min_size=1, max_size=20).filter(lambda k: k not in properties)
    with_unknown = one_unknown.map(lambda key: {**valid, key: "x"})
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(valid), list(validator.iter_errors(valid))
    return st.one_of(from_schema({"not": schema}), one_broken, one_missing, with_unknown).filter(
        lambda body: not validator.is_valid(body)
    )


async def nothing_changed(client: TestClient[Any, Any]) -> None:
    async with client.app[SESSIONS]() as session:
        for model in (Appointment, OutboxMail, AuditEntry):
            count = await session.scalar(select(func.count()).select_from(model))
            assert count == 0, model.__name__


async def refused_as_documented(
    response: Any, operation: dict[str, Any], spec: dict[str, Any], sent: Any
) -> str:
    """The answer is one of the operation's documented 4xx, with the Error shape and
    the code that status stands for; returns the code."""
    documented = {int(status) for status in operation["responses"] if status.startswith("4")}
    assert response.status in documented, (response.status, await response.text(), sent)
    assert response.content_type == "application/json"
    error = await response.json()
    Draft202012Validator(spec["components"]["schemas"]["Error"]).validate(error)
    expected = CODE_OF_STATUS[response.status]
    if expected is not None:
        assert error["error"]["code"] == expected, (error, sent)
    code: str = error["error"]["code"]
    return code


_clients = itertools.count(1)


def client_headers() -> dict[str, str]:
    """A new client address for each request (the app trusts the proxy's last entry)."""
    n = next(_clients)
    return {"X-Forwarded-For": f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250}"}


@NEGATIVE
@seed(20261207)
@given(data=st.data())
@pytest.mark.parametrize(
    ("path", "valid"),
    [("/api/v1/appointments", VALID_BOOKING), ("/api/v1/appointments/cancel", VALID_CANCEL)],
)
async def test_bodies_the_schema_forbids_are_refused(
    client: TestClient[Any, Any],
    spec: dict[str, Any],
    path: str,
    valid: dict[str, Any],
    data: st.DataObject,
) -> None:
    operation = spec["paths"][path]["post"]
    body = data.draw(negative_bodies(body_schema(spec, path), valid), label="body")
    response = await client.post(
        path,
        data=json.dumps(body),
        headers={"Content-Type": "application/json", **client_headers()},
    )
    code = await refused_as_documented(response, operation, spec, body)
    assert code == "invalid_input", (body, code)
    await nothing_changed(client)


def is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


@NEGATIVE
@seed(20261207)
@given(data=st.data())
async def test_slot_parameters_the_schema_forbids_are_refused(
    client: TestClient[Any, Any], spec: dict[str, Any], data: st.DataObject
) -> None:
    operation = spec["paths"]["/api/v1/services/{service_id}/slots"]["get"]
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    services = params["service_id"]["enum"]
    bad_service = st.text(min_size=1, max_size=30).filter(lambda t: t not in services)
    bad_date = (
        st.text(max_size=20) | st.datetimes().map(datetime.isoformat) | st.integers().map(str)
    ).filter(lambda t: not is_date(t))
    service = data.draw(st.sampled_from(services) | bad_service, label="service_id")
    day = data.draw(bad_date if service in services else st.just("2026-06-01") | bad_date)
    url = f"/api/v1/services/{quote(service, safe='')}/slots?date={quote(day, safe='')}"
    response = await client.get(url, headers=client_headers())
    code = await refused_as_documented(response, operation, spec, (service, day))
    assert code == ("not_found" if service not in services else "invalid_input")
    await nothing_changed(client)


@pytest.mark.parametrize(
    "consent", ["true", 1, "yes", "on", "1", [True], {"value": True}, None, False]
)
async def test_consent_must_be_the_json_literal_true(
    client: TestClient[Any, Any], consent: Any
) -> None:
    response = await client.post("/api/v1/appointments", json={**VALID_BOOKING, "consent": consent})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_input"
    assert set(error["fields"]) == {"consent"}
    await nothing_changed(client)
