"""The fonts the held-out documents are printed in.

The MRZ is printed in OCR-B (Debian's ``fonts-ocr-b``), as ICAO 9303 requires. The visual
zone uses whatever other outline fonts the machine has (DejaVu, Liberation, ...), never
OCR-B: a reader must not learn to find the MRZ by its font alone, and the training
generator's choice of visual-zone fonts must not be ours.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont

OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class FontMissing(RuntimeError):
    """OCR-B is not installed (``apt-get install fonts-ocr-b``)."""


def ocr_b(size_px: int) -> ImageFont.FreeTypeFont:
    if not OCR_B.is_file():
        raise FontMissing(f"{OCR_B} not found: install Debian's fonts-ocr-b")
    return _load(str(OCR_B), size_px)


@cache
def visual_zone_fonts() -> tuple[str, ...]:
    """Paths of the machine's TrueType/OpenType fonts other than OCR-B, sorted so a seed
    picks the same font on the same machine. Empty when there are none."""
    found = {
        path
        for root in _FONT_DIRS
        if root.is_dir()
        for path in root.rglob("*")
        if path.suffix.lower() in {".ttf", ".otf"} and "ocr" not in path.name.lower()
    }
    # Symbol and maths fonts would print boxes and signs instead of words.
    usable = [p for p in found if not any(k in p.name for k in ("Math", "Symbol", "Emoji"))]
    return tuple(str(p) for p in sorted(usable))


def visual_zone_font(index: int, size_px: int) -> Font:
    """The ``index``-th (modulo) visual-zone font at ``size_px``; Pillow's own scalable
    default font on a machine without any."""
    paths = visual_zone_fonts()
    if not paths:
        return ImageFont.load_default(size_px)
    return _load(paths[index % len(paths)], size_px)


@cache
def _load(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_px)
