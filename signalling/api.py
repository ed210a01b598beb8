"""The JSON booking API (``/api/v1``) for towns that embed booking in their website.

Errors are ``{"error": {"code", "message"[, "fields"]}}`` with a stable code. The join
link never appears in a response: it goes only to the email address, which proves
the booker can read that mailbox.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from aiohttp import web

from office.booking_request import parse_booking
from office.catalogue import Service
from office.errors import InvalidInput
from office.models import Appointment
from office.tokens import Audience
from signalling.clients import BOOKING, LINK, allow
from signalling.errors import api_error
from signalling.keys import API_CONTRACT, APPOINTMENTS, METRICS, OFFICE

routes = web.RouteTableDef()
MAX_BODY = 16 * 1024


def service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "name_en": service.name_en,
        "description": service.description,
        "description_en": service.display_description("en"),
        "duration_minutes": service.duration_minutes,
        "fee_cents": service.fee_cents,
        "fee_is_sample": service.fee_is_sample,
        "verification_required": service.verification_required,
        "delivery": service.delivery.value,
        "documents": list(service.documents),
        "documents_en": list(service.display_documents("en")),
    }


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "reference": appointment.reference,
        "service_id": appointment.service_id,
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "status": appointment.status,
    }


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise InvalidInput(message="Der Inhalt muss JSON sein (Content-Type: application/json).")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise InvalidInput(message="Die Anfrage ist zu groß.")
    # Read to the end, in pieces: a chunked body may arrive in any number of them.
    raw = bytearray()
    async for chunk in request.content.iter_chunked(4096):
        raw += chunk
        if len(raw) > MAX_BODY:
            raise InvalidInput(message="Die Anfrage ist zu groß.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(message="Die Anfrage ist kein gültiges JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInput(message="Die Anfrage muss ein JSON-Objekt sein.")
    return body


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[API_CONTRACT].document)


@routes.get("/api/v1/services")
async def services(request: web.Request) -> web.Response:
    offered = [s for s in request.app[OFFICE].town.services if s.bookable]
    return web.json_response([service_json(s) for s in offered])


@routes.get("/api/v1/services/{service_id}/slots")
async def slots(request: web.Request) -> web.Response:
    request.app[OFFICE].service(request.match_info["service_id"])  # the path: 404 first
    raw = request.query.get("date", "")
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput({"date": "Bitte ein Datum im Format JJJJ-MM-TT angeben."})
    found = await request.app[APPOINTMENTS].slots(request.match_info["service_id"], day)
    return web.json_response(
        {
            "service_id": request.match_info["service_id"],
            "date": day.isoformat(),
            "slots": [
                {
                    "starts_at": s.starts_at.isoformat(),
                    "ends_at": s.ends_at.isoformat(),
                    "free_seats": s.free_seats,
                }
                for s in found
            ],
        }
    )


@routes.post("/api/v1/appointments")
async def book(request: web.Request) -> web.Response:
    if not await allow(request, "book", BOOKING):
        return api_error(429, "rate_limited", "Zu viele Anfragen. Bitte später erneut versuchen.")
    body = await _json_body(request)
    request.app[API_CONTRACT].check("BookingRequest", body)
    booked = await request.app[APPOINTMENTS].book(parse_booking(body))
    request.app[METRICS].bookings.labels("api").inc()
    return web.json_response(appointment_json(booked.appointment), status=201)


@routes.post("/api/v1/appointments/cancel")
async def cancel(request: web.Request) -> web.Response:
    if not await allow(request, "link", LINK):
        return api_error(429, "rate_limited", "Zu viele Anfragen. Bitte später erneut versuchen.")
    body = await _json_body(request)
    request.app[API_CONTRACT].check("CancelRequest", body)
    appointments = request.app[APPOINTMENTS]
    appointment = await appointments.open_token(body["token"], Audience.JOIN_LINK)
    cancelled = await appointments.cancel(appointment.id)
    return web.json_response(appointment_json(cancelled))
