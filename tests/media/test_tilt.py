"""The tilt of a document from its outline: flat, one way, the other way."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from media.vision.geometry import Quad
from media.vision.tilt import MIN_TILT, tilt_of

CARD = np.array([[-428, -270, 0], [428, -270, 0], [428, 270, 0], [-428, 270, 0]], np.float64)


def seen_at(yaw_degrees: float = 0.0, pitch_degrees: float = 0.0) -> Quad:
    """The ID-1 card's corners (0.1 mm units) through a 1280x720 camera 40 cm away."""
    rotation, _ = cv2.Rodrigues(np.radians([pitch_degrees, yaw_degrees, 0.0]))
    camera = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    points, _ = cv2.projectPoints(CARD, rotation, np.array([0, 0, 4000.0]), camera, None)
    return Quad.of(points.reshape(4, 2))


def test_a_card_held_flat_is_not_tilted() -> None:
    tilt = tilt_of(seen_at())
    assert abs(tilt.horizontal) < 1e-6 and abs(tilt.vertical) < 1e-6
    assert not tilt.tilted


@pytest.mark.parametrize("degrees", [20, -20, 35])
def test_turning_about_the_vertical_axis_is_a_horizontal_tilt(degrees: float) -> None:
    tilt = tilt_of(seen_at(yaw_degrees=degrees))
    assert tilt.axis == "horizontal" and tilt.tilted
    assert abs(tilt.amount) > MIN_TILT


def test_turning_about_the_horizontal_axis_is_a_vertical_tilt() -> None:
    tilt = tilt_of(seen_at(pitch_degrees=25))
    assert tilt.axis == "vertical" and tilt.tilted


def test_a_slight_wobble_is_not_a_tilt() -> None:
    assert not tilt_of(seen_at(yaw_degrees=3)).tilted


def test_the_second_angle_must_be_the_other_way_about_the_same_axis() -> None:
    left, right = tilt_of(seen_at(yaw_degrees=-20)), tilt_of(seen_at(yaw_degrees=20))
    assert right.opposite_of(left) and left.opposite_of(right)
    assert not tilt_of(seen_at(yaw_degrees=-30)).opposite_of(left)  # the same way again
    assert not tilt_of(seen_at(yaw_degrees=2)).opposite_of(left)  # back to flat only
    assert not tilt_of(seen_at(pitch_degrees=25)).opposite_of(left)  # another axis
