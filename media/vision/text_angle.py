"""The angle of a document's lines of print, to turn an image whose text is not level.

The MRZ finder looks for level rows: where no outline flattened the document (a photo
of an open passport on a table, a scan put in askew) or the outline was wrong, the
rows slope and are not found. Print is many glyphs of about one size standing on
common lines, so the angle at which the glyphs' centres project onto the fewest,
fullest bands is the angle of the lines. Centres, not ink: a long edge or a photo's
outline is one component and drops out by its size, while in a projection of ink
pixels it outweighs the small print.
"""

from __future__ import annotations

import cv2
import numpy as np

from media.vision.channels import brightest, dark_ink
from media.vision.geometry import Image

_WORK_WIDTH = 800
_LIMIT = 30  # degrees either way: a document turned further is left to its outline
_BAND = 2.0  # band height in work pixels, about a fifth of a small glyph
_FEWEST_GLYPHS = 20


def text_angle(image: Image) -> float:
    """Degrees by which the lines of print in ``image`` rise to the right (negative:
    they fall), whole degrees within 30 either way; 0 when too few glyphs are seen."""
    gray = brightest(image)
    scale = _WORK_WIDTH / gray.shape[1]
    work = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    count, _, stats, centres = cv2.connectedComponentsWithStats(dark_ink(work, 9))
    width, height = stats[1:count, 2], stats[1:count, 3]
    glyphs = centres[1:count][(height >= 4) & (height <= 30) & (width <= 1.5 * height)]
    if len(glyphs) < _FEWEST_GLYPHS:
        return 0.0
    xs = glyphs[:, 0] - glyphs[:, 0].mean()
    ys = glyphs[:, 1] - glyphs[:, 1].mean()
    angles = np.arange(-_LIMIT, _LIMIT + 1)
    theta = np.deg2rad(angles)[:, np.newaxis]
    bands = np.floor((ys * np.cos(theta) + xs * np.sin(theta)) / _BAND).astype(np.int64)
    bands -= bands.min(axis=1, keepdims=True)
    # fullest bands: the sum of squared band counts is largest when centres share lines
    scores = [int(np.dot(filled, filled)) for filled in map(np.bincount, bands)]
    return float(angles[int(np.argmax(scores))])


def levelled(image: Image, angle: float) -> Image:
    """``image`` turned about its centre so that lines rising by ``angle`` lie level,
    on a canvas large enough to keep its corners (the MRZ is often in one)."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (round(width * cos + height * sin), round(width * sin + height * cos))
    matrix[0, 2] += size[0] / 2 - width / 2
    matrix[1, 2] += size[1] / 2 - height / 2
    turned: Image = cv2.warpAffine(
        image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return turned
