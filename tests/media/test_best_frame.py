"""A capture takes the sharpest of the last few frames, not whatever is newest."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from media.vision.best import Image, frame_sharpness, sharpest


def card_on_desk(blur_sigma: float) -> Image:
    rng = np.random.default_rng(7)
    frame: Image = np.full((720, 1280, 3), (60, 90, 120), dtype=np.uint8)
    card = rng.integers(0, 255, size=(300, 480), dtype=np.uint8)
    card = np.where(card > 128, 230, 30).astype(np.uint8)  # print-like hard edges
    frame[200:500, 400:880] = cv2.cvtColor(cv2.resize(card, (480, 300)), cv2.COLOR_GRAY2BGR)
    if blur_sigma:
        frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma)
    return frame


def test_the_sharp_frame_wins_over_newer_blurred_ones() -> None:
    sharp = card_on_desk(0)
    frames = [card_on_desk(3), sharp, card_on_desk(2), card_on_desk(4)]
    assert sharpest(frames) is sharp


def test_sharpness_falls_as_blur_grows() -> None:
    # (Below about one pixel of blur the score saturates: edges cannot get steeper.)
    scores = [frame_sharpness(card_on_desk(sigma)) for sigma in (1, 2, 3, 4)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 2 * scores[-1]
    assert frame_sharpness(card_on_desk(0)) > scores[1]


def test_equal_frames_give_the_newest() -> None:
    first, second = card_on_desk(1), card_on_desk(1)
    assert sharpest([first, second]) is second


def test_no_frames_is_an_error() -> None:
    with pytest.raises(ValueError):
        sharpest([])
