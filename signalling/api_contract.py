"""The JSON API's published description, and the checks it promises.

The OpenAPI document served at ``/api/v1/openapi.json`` is also what request bodies are
validated against (JSON Schema 2020-12, formats included), so a client that follows the
description is never surprised: what it forbids is refused with ``invalid_input`` and a
message per field, before any domain rule looks at the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from office.booking_request import MESSAGES
from office.errors import InvalidInput

UNKNOWN_FIELD = "Dieses Feld gibt es nicht."
NOT_AN_OBJECT = "Die Anfrage muss ein JSON-Objekt sein."
FIELD_MESSAGES = {**MESSAGES, "token": "Der Token aus dem Link fehlt oder ist ungültig."}
# Where a message can say more than "this field is wrong": (field, broken rule).
RULE_MESSAGES = {
    ("name", "maxLength"): MESSAGES["name_too_long"],
    ("email", "maxLength"): MESSAGES["email_too_long"],
}


class ApiContract:
    """One app's API description, with a validator for each request body in it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        checker = Draft202012Validator.FORMAT_CHECKER
        self._validators = {
            name: Draft202012Validator(schema, format_checker=checker)
            for name, schema in document["components"]["schemas"].items()
            if name.endswith("Request")
        }

    def check(self, schema: str, body: Any) -> None:
        """Raise :class:`InvalidInput` naming every field the body gets wrong."""
        fields: dict[str, str] = {}
        for error in self._validators[schema].iter_errors(body):
            for field in _fields_of(error):
                message = RULE_MESSAGES.get((field, str(error.validator)))
                fields.setdefault(field, message or FIELD_MESSAGES.get(field, UNKNOWN_FIELD))
        if fields:
            raise InvalidInput(fields)


def _fields_of(error: ValidationError) -> Iterable[str]:
    """The body's fields an error is about; an error about the body as a whole (not an
    object) refuses it at once."""
    body, rule, schema = error.instance, error.validator_value, error.schema
    if error.path:
        yield str(error.path[0])
    elif error.validator == "required" and isinstance(body, dict) and isinstance(rule, list):
        yield from (field for field in rule if field not in body)
    elif error.validator == "additionalProperties" and isinstance(body, dict):
        known = schema.get("properties", {}) if isinstance(schema, dict) else {}
        yield from (field for field in body if field not in known)
    else:
        raise InvalidInput(message=NOT_AN_OBJECT)
