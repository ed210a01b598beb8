"""Reading an uploaded photo safely: its size from the header before decoding (a
decompression bomb is refused unread), then the pixels, turned upright.

The image is recognised by decoding it (JPEG, PNG or WebP), never by a declared
content type.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from common.errors import UserError
from media.copies import Image

MAX_PHOTO_BYTES = 12 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel camera; more is a decompression bomb
MIN_SIDE = 480  # a still is meant to be sharper than the video, not a thumbnail


class PhotoInvalid(UserError):
    code = "image_invalid"
    message = "Die Datei ist kein lesbares Foto (JPEG, PNG oder WebP)."


class PhotoTooSmall(PhotoInvalid):
    message = "Das Foto ist zu klein. Bitte die Kamera in voller Auflösung nutzen."


class PhotoTooLarge(UserError):
    code = "image_too_large"
    message = "Das Foto ist zu groß (höchstens 12 MB und 50 Megapixel)."


def declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG, PNG or WebP header, without decoding; None for
    anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
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
    """The photo as a BGR image (turned upright by its EXIF orientation), or refused.
    CPU-bound: run it in an executor."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge()
    size = declared_size(data)
    if size is None or min(size) <= 0:
        raise PhotoInvalid()
    if size[0] * size[1] > MAX_PIXELS:
        raise PhotoTooLarge()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.ndim != 3:
        raise PhotoInvalid()
    if min(image.shape[:2]) < MIN_SIDE:
        raise PhotoTooSmall()
    return np.asarray(image, dtype=np.uint8)
