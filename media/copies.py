"""Making an ID capture a lawful copy (PAuswG §20): marked "KOPIE", CAN blacked out
(and the document number: :mod:`media.document_number`).

Both are burned into the pixels before the image is encrypted and stored, so no
stored or displayed capture exists without them.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]

Region = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the image

# Where the six-digit card access number (CAN) sits on the front of the German ID
# card (designs 2010, 2019 and 2021), as fractions of the flattened card. Measured
# on the Federal Ministry's specimens, with a margin for an imperfect warp.
CAN_REGION: Region = (0.72, 0.63, 0.97, 0.86)


def black_out(image: Image, regions: Iterable[Region]) -> Image:
    """A copy of ``image`` with each region filled black; the original is left as it
    is (the MRZ is still read from it after the copy is stored)."""
    height, width = image.shape[:2]
    covered = image.copy()
    for x0, y0, x1, y1 in regions:
        cv2.rectangle(
            covered,
            (int(x0 * width), int(y0 * height)),
            (int(x1 * width), int(y1 * height)),
            (0, 0, 0),
            thickness=cv2.FILLED,
        )
    return covered


def black_out_can(card: Image) -> Image:
    """Cover the CAN on a flattened front side of a German ID card."""
    return black_out(card, [CAN_REGION])


def mark_as_copy(image: Image, text: str = "KOPIE") -> Image:
    """Repeat the word diagonally across the whole image, half transparent.

    Repeated rather than once in the middle, so that no crop of the capture is free
    of it; translucent, so the clerk can still compare the document's details.
    """
    height, width = image.shape[:2]
    size = max(width, height)
    # Draw on a square canvas twice the size, rotate it, then cut the middle: the
    # text then covers every corner of the image after rotation.
    canvas = np.zeros((2 * size, 2 * size), dtype=np.uint8)
    scale = max(size / 400, 0.6)
    thickness = max(int(scale * 2), 2)
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
    step_x, step_y = int(text_w * 1.6), int(text_h * 4)
    for row, y in enumerate(range(text_h, 2 * size, step_y)):
        offset = (row % 2) * step_x // 2
        for x in range(-step_x + offset, 2 * size, step_x):
            cv2.putText(
                canvas, text, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, 255, thickness, cv2.LINE_AA
            )
    rotation = cv2.getRotationMatrix2D((size, size), 30, 1.0)
    canvas = cv2.warpAffine(canvas, rotation, (2 * size, 2 * size))
    top, left = size - height // 2, size - width // 2
    mask = canvas[top : top + height, left : left + width].astype(np.float32) / 255 * 0.45
    ink = np.array([0, 0, 200], dtype=np.float32)  # red, in BGR
    marked = image.astype(np.float32) * (1 - mask[..., None]) + ink * mask[..., None]
    return np.clip(marked, 0, 255).astype(np.uint8)


def encode_jpeg(image: Image, quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the capture as JPEG")
    return bytes(encoded.tobytes())


def decode_image(data: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not an image")
    return np.asarray(image, dtype=np.uint8)
