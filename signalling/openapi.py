"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from common.i18n import languages
from office.booking_request import PHONE_PATTERN
from office.catalogue import Town

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable machine-readable code",
                    "examples": ["invalid_input", "slot_taken", "token_invalid"],
                },
                "message": {"type": "string", "description": "German, for people"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "With invalid_input: a message per offending field",
                },
            },
        }
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def spec(town: Town) -> dict[str, Any]:
    service_ids = [s.id for s in town.services]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{town.town.office_name} – Termin-API",
            "version": "1.0.0",
            "description": "Book, list and cancel video appointments. The personal join "
            "link is sent only to the email address given when booking.",
        },
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This description",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/v1/services": {
                "get": {
                    "operationId": "listServices",
                    "summary": "The services that can be booked",
                    "responses": {
                        "200": {
                            "description": "All services",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Service"},
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/v1/services/{service_id}/slots": {
                "get": {
                    "operationId": "listSlots",
                    "summary": "Free slots of a service on a day (Europe/Berlin)",
                    "parameters": [
                        {
                            "name": "service_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": service_ids},
                        },
                        {
                            "name": "date",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "format": "date"},
                        },
                    ],
                    "responses": {
                        "200": _json("SlotList", "Free slots, earliest first"),
                        "400": _error("Missing or malformed date (invalid_input)"),
                        "404": _error("Unknown service (not_found)"),
                    },
                }
            },
            "/api/v1/appointments": {
                "post": {
                    "operationId": "bookAppointment",
                    "summary": "Book a slot; the join link is mailed to the citizen",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/BookingRequest"}
                            }
                        },
                    },
                    "responses": {
                        "201": _json("Appointment", "Booked"),
                        "400": _error("Invalid input (invalid_input, with fields)"),
                        "409": _error("slot_taken or slot_unavailable"),
                        "429": _error("Too many requests (rate_limited)"),
                        "503": _error(
                            "The database cannot be reached just now (unavailable): nothing "
                            "was booked; try again shortly"
                        ),
                    },
                }
            },
            "/api/v1/appointments/cancel": {
                "post": {
                    "operationId": "cancelAppointment",
                    "summary": "Cancel with the token from the mailed link (the part after /t/)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CancelRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json("Appointment", "Cancelled"),
                        "400": _error("invalid_input"),
                        "404": _error("Invalid, expired or already cancelled (token_invalid)"),
                        "409": _error(
                            "The appointment is over (appointment_closed), or a clerk is "
                            "serving it right now (appointment_in_progress)"
                        ),
                        "429": _error("Too many requests (rate_limited)"),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Service": {
                    "type": "object",
                    "required": [
                        "id",
                        "name",
                        "duration_minutes",
                        "fee_cents",
                        "verification_required",
                        "delivery",
                    ],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "name_en": {"type": "string"},
                        "description": {"type": "string"},
                        "description_en": {
                            "type": "string",
                            "description": "in English (the German text where the town gives none)",
                        },
                        "duration_minutes": {"type": "integer"},
                        "fee_cents": {"type": "integer", "description": "Euro cents"},
                        "fee_is_sample": {"type": "boolean"},
                        "verification_required": {"type": "boolean"},
                        "delivery": {"type": "string", "enum": ["town", "bzr", "none"]},
                        "documents": {"type": "array", "items": {"type": "string"}},
                        "documents_en": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "SlotList": {
                    "type": "object",
                    "required": ["service_id", "date", "slots"],
                    "properties": {
                        "service_id": {"type": "string"},
                        "date": {"type": "string", "format": "date"},
                        "slots": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["starts_at", "ends_at", "free_seats"],
                                "properties": {
                                    "starts_at": {"type": "string", "format": "date-time"},
                                    "ends_at": {"type": "string", "format": "date-time"},
                                    "free_seats": {"type": "integer", "minimum": 1},
                                },
                            },
                        },
                    },
                },
                "BookingRequest": {
                    "type": "object",
                    "description": "Checked as written here (unknown fields, other types "
                    "and formats are refused), then for meaning: the email's domain, the "
                    "name's characters, whether the slot is free.",
                    "required": ["service_id", "starts_at", "name", "email", "consent"],
                    "additionalProperties": False,
                    "properties": {
                        "service_id": {"type": "string", "enum": service_ids},
                        "starts_at": {
                            "type": "string",
                            "format": "date-time",
                            "maxLength": 40,
                            "description": "A slot's starts_at, with offset (RFC 3339)",
                        },
                        "name": {"type": "string", "minLength": 2, "maxLength": 100},
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "phone": {
                            "type": "string",
                            "maxLength": 30,
                            "pattern": PHONE_PATTERN.pattern,
                        },
                        "consent": {"const": True, "description": "Consent to data processing"},
                        "language": {"type": "string", "enum": list(languages()), "default": "de"},
                    },
                },
                "CancelRequest": {
                    "type": "object",
                    "required": ["token"],
                    "additionalProperties": False,
                    "properties": {
                        "token": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 2048,
                            "description": "The part of the mailed link after /t/",
                        }
                    },
                },
                "Appointment": {
                    "type": "object",
                    "required": ["id", "reference", "service_id", "starts_at", "ends_at", "status"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "reference": {"type": "string"},
                        "service_id": {"type": "string"},
                        "starts_at": {"type": "string", "format": "date-time"},
                        "ends_at": {"type": "string", "format": "date-time"},
                        "status": {"type": "string", "enum": ["booked", "cancelled"]},
                    },
                },
            }
        },
    }
