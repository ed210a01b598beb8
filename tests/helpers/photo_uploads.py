"""A citizen's page uploading a full-resolution photo of their ID document, as its
script does: the form with the CSRF token the waiting-room page carries, posted to
the one-time link of ``capture_still_requested``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.helpers.booking import csrf_for

DESK = (60, 90, 120)


def photo_of(card_file: Path) -> bytes:
    """A 2400x1600 phone photo (JPEG) of the card on a desk, the card 2.5 times as
    large as in the video tests' 1280x720 frames."""
    card = cv2.imread(str(card_file), cv2.IMREAD_COLOR)
    assert card is not None, card_file
    card = cv2.resize(card, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
    frame = np.full((1600, 2400, 3), DESK, dtype=np.uint8)
    height, width = card.shape[:2]
    top, left = (1600 - height) // 2, (2400 - width) // 2
    frame[top : top + height, left : left + width] = card
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(encoded.tobytes())


async def upload(
    client: TestClient[Any, Any],
    url: str,
    cookie: str,
    data: bytes,
    *,
    content_type: str = "image/jpeg",
    csrf: bool = True,
    origin: str | None = None,
) -> tuple[int, Any]:
    """Post a photo as the page does; returns the status and the JSON (or None)."""
    token, csrf_cookie = await csrf_for(client, cookie)
    client.session.cookie_jar.clear()
    form = FormData()
    if csrf:
        form.add_field("csrf", token)
    form.add_field("photo", data, filename="foto.jpg", content_type=content_type)
    headers = {"Cookie": f"{cookie}; bb_csrf={csrf_cookie}"}
    if origin is not None:
        headers["Origin"] = origin
    response = await client.post(url, data=form, headers=headers)
    body = await response.json() if response.content_type == "application/json" else None
    if body is not None:
        assert response.headers["Cache-Control"] == "no-store"
    return response.status, body
