"""A laptop webcam looking at a held-up document: pose, then the camera's faults.

The pose is a real 3-D turn (yaw, pitch, roll) seen through a pinhole, so the tilt comes
with the foreshortening a camera gives, rather than random corner jitter. Then, in the
order light and the sensor apply them: light falloff and colour cast, glare off the
laminate, defocus or motion blur, shot and read noise, JPEG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from heldout.scenes import FRAME_SIZE
from media.vision.synthetic import jpeg as encode_and_decode

Image = npt.NDArray[Any]
Points = npt.NDArray[np.float64]  # (4, 2)
MIN_FILL, MAX_FILL = 0.10, 0.60  # of the frame's area, as the target says
_MARGIN = 0.01  # of the frame's width: the card is wholly in view


@dataclass(frozen=True)
class Pose:
    yaw: float  # degrees, turning about the vertical axis
    pitch: float
    roll: float  # in the image plane
    fill: float  # the outline's area over the frame's


def random_pose(rng: np.random.Generator) -> Pose:
    return Pose(
        yaw=float(rng.uniform(-30, 30)),
        pitch=float(rng.uniform(-25, 25)),
        roll=float(rng.uniform(-25, 25)),
        fill=float(rng.uniform(MIN_FILL, MAX_FILL)),
    )


def _project(size_mm: tuple[float, float], pose: Pose, distance: float) -> Points:
    w, h = size_mm
    corners = np.array([[-w, -h, 0], [w, -h, 0], [w, h, 0], [-w, h, 0]], np.float64) / 2
    rotation, _ = cv2.Rodrigues(np.radians([pose.pitch, pose.yaw, 0.0]))
    turned = corners @ rotation.T
    z = distance + turned[:, 2]
    flat: Points = turned[:, :2] / z[:, None]
    roll = np.radians(pose.roll)
    spin = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    projected: Points = flat @ spin.T
    return projected


def place(size_mm: tuple[float, float], pose: Pose, rng: np.random.Generator) -> Points | None:
    """The outline in frame pixels, wholly in view and covering ``pose.fill`` of the frame
    (less when that does not fit); None when even the fitted outline is under MIN_FILL."""
    width, height = FRAME_SIZE
    # A card at two to five times its width from the lens: an arm's length for a card.
    outline = _project(size_mm, pose, size_mm[0] * float(rng.uniform(2.0, 5.0)))
    area = float(cv2.contourArea(outline.astype(np.float32)))
    outline *= np.sqrt(pose.fill * width * height / area)
    span = outline.max(axis=0) - outline.min(axis=0)
    room = np.array([width, height]) * (1 - 2 * _MARGIN)
    if (span > room).any():
        outline *= float((room / span).min())
        span = outline.max(axis=0) - outline.min(axis=0)
    if cv2.contourArea(outline.astype(np.float32)) < MIN_FILL * width * height:
        return None
    low = _MARGIN * width - outline.min(axis=0)
    high = np.array([width, height]) * (1 - _MARGIN) - outline.max(axis=0)
    placed: Points = outline + rng.uniform(low, np.maximum(high, low))
    return placed


def paste(frame: Image, document: Image, outline: Points, target: Points) -> Image:
    """``document`` (BGRA) warped so that its ``outline`` lands on ``target``; the
    transparent parts (rounded corners) show the frame."""
    scale = float(np.linalg.norm(target[1] - target[0]) / np.linalg.norm(outline[1] - outline[0]))
    if scale < 0.8:  # shrink first, by area: warping alone would alias the fine print
        document = cv2.resize(document, None, fx=scale * 1.25, fy=scale * 1.25,
                              interpolation=cv2.INTER_AREA)  # fmt: skip
        outline = outline * scale * 1.25
    matrix = cv2.getPerspectiveTransform(outline.astype(np.float32), target.astype(np.float32))
    size = FRAME_SIZE
    colour = cv2.warpPerspective(document[:, :, :3], matrix, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(document[:, :, 3], matrix, size, flags=cv2.INTER_LINEAR)
    weight = (alpha.astype(np.float32) / 255)[:, :, None]
    out: Image = colour.astype(np.float32) * weight + frame * (1 - weight)
    return out


def light(image: Image, rng: np.random.Generator) -> Image:
    """Vignette, a lamp to one side, a colour cast and the auto-exposure's gain."""
    width, height = FRAME_SIZE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xs - width / 2) / width) ** 2 + ((ys - height / 2) / width) ** 2
    gain = 1 - rng.uniform(0.1, 0.6) * r2 * 2
    lamp = np.array([rng.uniform(-0.5, 1.5) * width, rng.uniform(-0.5, 1.5) * height])
    near = np.sqrt((xs - lamp[0]) ** 2 + (ys - lamp[1]) ** 2) / width
    gain *= 1 + rng.uniform(0, 0.35) * (1 - np.clip(near, 0, 1.5) / 1.5)
    cast = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    out: Image = image * (gain[:, :, None] * cast * rng.uniform(0.75, 1.15))
    return out


def glare(image: Image, target: Points, rng: np.random.Generator) -> Image:
    """A specular highlight on the card: an ellipse, sometimes a long streak, with a
    clipped white core."""
    height, width = image.shape[:2]
    centre = rng.dirichlet(np.ones(4)) @ target
    axes = np.array([rng.uniform(15, 70), rng.uniform(8, 40)])
    if rng.random() < 0.3:
        axes[0] *= 3
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u = (xs - centre[0]) * np.cos(angle) + (ys - centre[1]) * np.sin(angle)
    v = -(xs - centre[0]) * np.sin(angle) + (ys - centre[1]) * np.cos(angle)
    spot = np.exp(-((u / axes[0]) ** 2 + (v / axes[1]) ** 2)) * rng.uniform(120, 350)
    out: Image = image + spot[:, :, None].astype(np.float32)
    return out


def blur(image: Image, rng: np.random.Generator) -> Image:
    """Defocus (a disc, as a lens gives) or motion (a line), or neither."""
    choice = rng.random()
    if choice < 0.45:
        radius = rng.uniform(0.6, 2.2)
        size = int(np.ceil(radius)) * 2 + 1
        disc = np.zeros((size, size), np.float32)
        cv2.circle(disc, (size // 2 * 16, size // 2 * 16), int(radius * 16), 1.0, -1,
                   cv2.LINE_AA, shift=4)  # fmt: skip
        return cv2.filter2D(image, -1, disc / disc.sum())
    if choice < 0.75:
        length = int(rng.integers(3, 9))
        line = np.zeros((length, length), np.float32)
        line[length // 2, :] = 1
        turn = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = cv2.warpAffine(line, turn, (length, length))
        return cv2.filter2D(image, -1, kernel / kernel.sum())
    return image


def sensor(image: Image, rng: np.random.Generator) -> Image:
    """Shot noise (grows with the signal) and read noise, each channel on its own."""
    signal = np.clip(image, 0, 255)
    shot = rng.standard_normal(image.shape).astype(np.float32) * np.sqrt(signal)
    read = rng.standard_normal(image.shape).astype(np.float32) * rng.uniform(1.0, 4.0)
    out: Image = signal + shot * rng.uniform(0.15, 0.5) + read
    return out


def jpeg(image: Image, rng: np.random.Generator) -> Image:
    """Encoded as the browser's camera stream would be, at quality 50 to 90."""
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    # The codec round trip is the one thing shared with media.vision.synthetic: what is
    # held out is the content of the frames, not libjpeg.
    return encode_and_decode(pixels, int(rng.integers(50, 91)))
