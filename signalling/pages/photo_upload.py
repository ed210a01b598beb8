"""The citizen's full-resolution photo of their ID document, uploaded once per token.

``POST /erfassungen/hochladen/{token}``, ``multipart/form-data`` with ``photo`` (the
image file) and ``csrf`` (the token the waiting-room page carries): the token in the
path grants one photo of one kind for one running check (``office.photo_uploads``),
and the appointment's session cookie must be the token's appointment. The CSRF
middleware's rules hold as for every form (same origin, double-submit token); only
the body limit is raised for this route. The image is read by ``media.photos``.
Answers are JSON: ``{"received": kind}`` (201) or ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from common.errors import UserError
from media.photos import MAX_PHOTO_BYTES, PhotoInvalid, decode_photo
from office.errors import TokenInvalid, UploadForbidden
from office.tokens import Audience
from signalling import cookies
from signalling.errors import api_error
from signalling.keys import APPOINTMENTS, PHOTO_REQUESTS, PHOTO_UPLOADS
from signalling.middleware import allow_large_body

routes = web.RouteTableDef()
FIELD = "photo"
STATUS = {
    "upload_token_invalid": 403,
    "upload_forbidden": 403,
    "upload_token_expired": 410,
    "upload_token_used": 410,
    "image_too_large": 413,
    "verification_closed": 409,
    "not_in_call": 409,
}  # anything else (the photo unreadable or refused by the analysis): 422


async def _photo_bytes(request: web.Request) -> bytes:
    form = await request.post()  # parsed (and size-limited) by the CSRF middleware already
    field = form.get(FIELD)
    if not isinstance(field, web.FileField):
        raise PhotoInvalid()
    data = field.file.read(MAX_PHOTO_BYTES + 1)
    return data if isinstance(data, bytes) else b""


@routes.post("/erfassungen/hochladen/{token}")
@allow_large_body(MAX_PHOTO_BYTES + 64 * 1024)
async def upload(request: web.Request) -> web.Response:
    try:
        grant = request.app[PHOTO_UPLOADS].grant(request.match_info["token"])
        try:
            appointment = await request.app[APPOINTMENTS].open_token(
                request.cookies.get(cookies.APPOINTMENT, ""), Audience.APPOINTMENT_SESSION
            )
        except TokenInvalid:
            raise UploadForbidden() from None
        if appointment.id != grant.appointment_id:
            raise UploadForbidden()
        data = await _photo_bytes(request)
        image = await asyncio.get_running_loop().run_in_executor(None, decode_photo, data)
        await request.app[PHOTO_REQUESTS].receive(grant, image)
    except UserError as refused:
        response = api_error(STATUS.get(refused.code, 422), refused.code, refused.message)
    else:
        response = web.json_response({"received": grant.kind}, status=201)
    response.headers["Cache-Control"] = "no-store"
    return response
