"""Pick the best of the last few camera frames for a capture.

A card held in the hand blurs whenever it moves; the frame that happens to be the
newest when the clerk clicks is often one of those. Sharpness alone decides: it is
cheap (a few milliseconds a frame at 600 px) and motion blur is what varies most
between neighbouring frames, while light and framing stay the same within a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy.typing as npt

from media.vision.quality import sharpness

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)

_SCORE_WIDTH = 600  # as in quality: scores of different frame sizes stay comparable


def frame_sharpness(image: Image) -> float:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if gray.shape[1] > _SCORE_WIDTH:
        scale = _SCORE_WIDTH / gray.shape[1]
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return sharpness(gray)


def sharpest(frames: Sequence[Image]) -> Image:
    """The sharpest frame; on a tie the later one (it is closer to the click)."""
    if not frames:
        raise ValueError("no frames to choose from")
    best_index = max(range(len(frames)), key=lambda i: (frame_sharpness(frames[i]), i))
    return frames[best_index]
