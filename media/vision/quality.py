"""Capture quality of a document in a frame: sharpness, exposure, glare, fill; a verdict and
German hints the citizen sees during the call.

All scores are measured on the flattened document, scaled to the resolution the camera
actually delivered for it (a small card upsampled by the warp would look blurred, but its
real problem is distance, which the fill score reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from common.i18n import N_
from media.vision.channels import darkest
from media.vision.geometry import Quad

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
Verdict = Literal["ok", "retry", "no_document"]

HINT_NO_DOCUMENT = N_("Kein Ausweis erkannt – bitte den Ausweis vor die Kamera halten")
HINT_CLOSER = N_("Bitte näher an die Kamera")
HINT_BLUR = N_("Bild unscharf – Ausweis bitte ruhig halten")
HINT_GLARE = N_("Spiegelung – Ausweis leicht kippen")
HINT_DARK = N_("Zu dunkel – bitte für mehr Licht sorgen")
HINT_BRIGHT = N_("Zu hell – bitte direktes Licht vermeiden")
HINT_EDGE = N_("Bitte den ganzen Ausweis ins Bild halten")

# Thresholds, measured on synthetic 720p frames of the specimens (bench/documents.py):
MIN_SHARPNESS = 0.2  # edge steepness; a Gaussian blur of sigma 3 px gives ~0.2
MIN_FILL = 0.10  # document area / frame area; below, MRZ characters are < 9 px high
MAX_GLARE = 0.002  # share of the document covered by specular highlights
_SCORE_WIDTH = 600


@dataclass(frozen=True)
class Quality:
    sharpness: float  # steepest edges relative to contrast, ~1/(blur sigma * 2.5)
    brightness: float  # median grey level of the document, 0-255
    contrast: float  # 95th minus 5th percentile grey level
    glare: float  # share of the document area in specular highlights
    fill: float  # document area / frame area
    verdict: Verdict
    hints: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


def no_document() -> Quality:
    return Quality(0.0, 0.0, 0.0, 0.0, 0.0, "no_document", (HINT_NO_DOCUMENT,))


def sharpness(gray: Image) -> float:
    """Steepness of the strongest edges relative to the image contrast.

    For a step edge of height C blurred by a Gaussian of sigma s pixels the steepest
    gradient is C / (s * sqrt(2 pi)); dividing by the contrast cancels C, so the score
    depends on blur, not on how much or how dark the print is.
    """
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 8
    magnitude = cv2.magnitude(gx, gy)
    low, high = np.percentile(gray, (2, 98))
    return float(np.percentile(magnitude, 99.5) / max(float(high - low), 16.0))


def glare(bgr: Image) -> float:
    """Share of the document in specular highlights.

    A highlight is a clipped patch (near 255 in every channel) that is round and solid:
    white paper between the print is clipped too on some cards and in bright light, but
    it is shaped by the print around it - ragged, with holes. On a page that is itself
    clipped white (median >= 248: flat renders, overexposure) a highlight cannot be told
    apart from the paper and 0 is returned; the exposure check covers that case.
    """
    floor = darkest(bgr)
    if float(np.median(floor)) >= 248:
        return 0.0
    clipped = cv2.morphologyEx(
        (floor >= 250).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
    )
    contours, _ = cv2.findContours(clipped, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area = float(bgr.shape[0] * bgr.shape[1])
    total = 0.0
    for contour in contours:
        blob_area = float(cv2.contourArea(contour))
        if blob_area < 0.001 * area:
            continue
        _, radius = cv2.minEnclosingCircle(contour)
        roundness = blob_area / (np.pi * radius * radius)
        hull_area = float(cv2.contourArea(cv2.convexHull(contour)))
        solidity = blob_area / hull_area if hull_area else 0.0
        if roundness > 0.45 and solidity > 0.85:
            total += blob_area
    return total / area


def _touches_border(quad: Quad, frame_shape: tuple[int, ...]) -> bool:
    height, width = frame_shape[:2]
    margin = 0.004 * max(height, width)
    pts = quad.array()
    return bool(
        (pts[:, 0] < margin).any()
        or (pts[:, 1] < margin).any()
        or (pts[:, 0] > width - 1 - margin).any()
        or (pts[:, 1] > height - 1 - margin).any()
    )


def assess(
    warped: Image, quad: Quad, frame_shape: tuple[int, ...], *, whole_frame: bool = False
) -> Quality:
    """Scores and verdict for the flattened document ``warped`` found at ``quad``.

    ``whole_frame``: the image is a scan or render of the document alone (no outline was
    found, the frame itself is the document) - distance and framing do not apply.
    """
    top, _, bottom, _ = quad.side_lengths()
    native = max(32, min(_SCORE_WIDTH, round((top + bottom) / 2)))
    scale = native / warped.shape[1]
    small = cv2.resize(warped, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    frame_area = float(frame_shape[0] * frame_shape[1])
    fill = 1.0 if whole_frame else min(1.0, quad.area() / frame_area)
    low, median, high = np.percentile(gray, (5, 50, 95))
    scores = {
        "sharpness": sharpness(gray),
        "glare": glare(small),
        "brightness": float(median),
        "contrast": float(high - low),
    }
    hints = []
    if not whole_frame and fill < MIN_FILL:
        hints.append(HINT_CLOSER)
    if not whole_frame and _touches_border(quad, frame_shape):
        hints.append(HINT_EDGE)
    if high < 110:
        hints.append(HINT_DARK)
    elif low > 200:
        hints.append(HINT_BRIGHT)
    if scores["glare"] > MAX_GLARE:
        hints.append(HINT_GLARE)
    if scores["sharpness"] < MIN_SHARPNESS:
        hints.append(HINT_BLUR)
    return Quality(
        sharpness=round(scores["sharpness"], 4),
        brightness=round(scores["brightness"], 1),
        contrast=round(scores["contrast"], 1),
        glare=round(scores["glare"], 5),
        fill=round(fill, 4),
        verdict="retry" if hints else "ok",
        hints=tuple(hints),
    )
