"""Faces: the portrait printed on the document, and the citizen's live face in a frame.

OpenCV's frontal-face Haar cascade (shipped with opencv-python in ``cv2.data``): no model
download, a few milliseconds per image. ``CascadeClassifier`` objects are not documented
as thread-safe, so each executor thread gets its own (they are small).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy.typing as npt

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
Box = tuple[int, int, int, int]  # x, y, width, height

_CASCADE = "haarcascade_frontalface_default.xml"
_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    cascade: cv2.CascadeClassifier | None = getattr(_local, "cascade", None)
    if cascade is None:
        # cv2.data ships with opencv-python < 5 but is missing from its type stubs
        path = Path(cv2.data.haarcascades) / _CASCADE  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        _local.cascade = cascade
    return cascade


def _largest_face(image: Image, min_share: float, max_width: int) -> Box | None:
    """The largest face at least ``min_share`` of the image height, searched on a copy at
    most ``max_width`` wide (speed), in ``image`` pixels."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = min(1.0, max_width / gray.shape[1])
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.equalizeHist(small)  # specimen portraits are often pale or tinted
    side = max(20, int(min_share * small.shape[0]))
    faces = _cascade().detectMultiScale(
        small, scaleFactor=1.1, minNeighbors=5, minSize=(side, side)
    )
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: int(f[2]) * int(f[3]))
    return (round(x / scale), round(y / scale), round(w / scale), round(h / scale))


def find_portrait(document: Image) -> Box | None:
    """The holder's portrait on a flattened document (the largest face; the small ghost
    image some cards print is ignored by the minimum size)."""
    return _largest_face(document, min_share=0.15, max_width=600)


def find_live_face(frame: Image) -> Box | None:
    """The citizen's face in a camera frame captured for the comparison."""
    return _largest_face(frame, min_share=0.1, max_width=640)
