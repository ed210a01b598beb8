"""The citizen's full-resolution photo of their ID document, uploaded once per token.

``POST /erfassungen/hochladen/{token}``, ``multipart/form-data`` with ``photo`` (the
image file) and ``csrf`` (the token the waiting-room page carries): the token in the
path grants one photo of one kind for one running check, and the appointment's
session cookie must be the token's appointment. The CSRF middleware's rules hold as
for every form (same origin, double-submit token); only the body limit is raised for
this route. The image is recognised by decoding it (JPEG, PNG or WebP), never by its
declared type, after its declared size has been checked against a pixel limit.
Answers are JSON: ``{"received": kind}`` (201) or ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import asyncio
import struct

import cv2
import numpy as np
from aiohttp import web

from media.copies import Image
from office.errors import TokenInvalid
from office.tokens import Audience
from signalling import cookies
from signalling.errors import api_error
from signalling.keys import APPOINTMENTS, STILLS
from signalling.middleware import allow_large_body
from signalling.realtime.stills import NOT_YOURS, Refusal, UploadRefused

routes = web.RouteTableDef()
MAX_PHOTO_BYTES = 12 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel camera; more is a decompression bomb
MIN_SIDE = 480  # a still is meant to be sharper than the video, not a thumbnail
FIELD = "photo"

IMAGE_INVALID = Refusal(
    422, "image_invalid", "Die Datei ist kein lesbares Foto (JPEG, PNG oder WebP)."
)
IMAGE_TOO_LARGE = Refusal(
    413, "image_too_large", "Das Foto ist zu groß (höchstens 12 MB und 50 Megapixel)."
)
IMAGE_TOO_SMALL = Refusal(
    422, "image_invalid", "Das Foto ist zu klein. Bitte die Kamera in voller Auflösung nutzen."
)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG, PNG or WebP header, without decoding; None for
    anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            width = 1 + int.from_bytes(data[24:27], "little")
            return width, 1 + int.from_bytes(data[27:30], "little")
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            width = int.from_bytes(data[26:28], "little") & 0x3FFF
            height = int.from_bytes(data[28:30], "little") & 0x3FFF
            return width, height
        return None
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_size(data)
    return None


_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0-15, not DHT/JPG/DAC


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_FRAMES:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        at += 2 + length
    return None


def decode_photo(data: bytes) -> Image:
    """The photo as a BGR image (turned upright by its EXIF orientation), or refused."""
    if len(data) > MAX_PHOTO_BYTES:
        raise UploadRefused(IMAGE_TOO_LARGE)
    size = declared_size(data)
    if size is None or min(size) <= 0:
        raise UploadRefused(IMAGE_INVALID)
    if size[0] * size[1] > MAX_PIXELS:
        raise UploadRefused(IMAGE_TOO_LARGE)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.ndim != 3:
        raise UploadRefused(IMAGE_INVALID)
    if min(image.shape[:2]) < MIN_SIDE:
        raise UploadRefused(IMAGE_TOO_SMALL)
    return np.asarray(image, dtype=np.uint8)


async def _photo_bytes(request: web.Request) -> bytes:
    form = await request.post()  # parsed (and size-limited) by the CSRF middleware already
    field = form.get(FIELD)
    if not isinstance(field, web.FileField):
        raise UploadRefused(IMAGE_INVALID)
    data = field.file.read(MAX_PHOTO_BYTES + 1)
    return data if isinstance(data, bytes) else b""


@routes.post("/erfassungen/hochladen/{token}")
@allow_large_body(MAX_PHOTO_BYTES + 64 * 1024)
async def upload(request: web.Request) -> web.Response:
    stills = request.app[STILLS]
    try:
        grant = stills.grant(request.match_info["token"])
        try:
            appointment = await request.app[APPOINTMENTS].open_token(
                request.cookies.get(cookies.APPOINTMENT, ""), Audience.APPOINTMENT_SESSION
            )
        except TokenInvalid:
            raise UploadRefused(NOT_YOURS) from None
        if appointment.id != grant.appointment_id:
            raise UploadRefused(NOT_YOURS)
        data = await _photo_bytes(request)
        image = await asyncio.get_running_loop().run_in_executor(None, decode_photo, data)
        await stills.receive(grant, image)
    except UploadRefused as refused:
        response = api_error(refused.status, refused.code, refused.message)
    else:
        response = web.json_response({"received": grant.kind}, status=201)
    response.headers["Cache-Control"] = "no-store"
    return response
