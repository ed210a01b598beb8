"""The shared specimen ID documents and their ground truth (``manifest.json``), as the
media tests read them. Missing specimens skip a test with the reason; CI has them."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

import cv2
import numpy.typing as npt
import pytest

from tests.helpers.constants import SAMPLES

TODAY = date(2026, 11, 25)  # the day the specimens' validity is judged on
# manifest "mrz_checkdigits" key -> MrzResult.checks key
CHECK_NAMES = {
    "number": "document_number",
    "dob": "birth_date",
    "exp": "expiry_date",
    "pers": "personal_number",
    "composite": "composite",
}
NO_DATA = pytest.mark.skip(reason=f"shared ID samples not found at {SAMPLES}")


@cache
def manifest() -> tuple[dict[str, Any], ...]:
    path = SAMPLES / "manifest.json"
    if not path.is_file():
        return ()
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return tuple(entries)


def specimen(file: str) -> dict[str, Any]:
    """The ground truth of one specimen; skips the test when it is not there."""
    for found in manifest():
        if found["file"] == file:
            return found
    pytest.skip(f"{file} not in the shared ID samples at {SAMPLES}")


def specimen_image(file: str, flags: int = cv2.IMREAD_COLOR) -> npt.NDArray[Any]:
    """The specimen's image as OpenCV reads it; skips the test when it is not there."""
    image: npt.NDArray[Any] | None = cv2.imread(str(SAMPLES / specimen(file)["file"]), flags)
    assert image is not None, file
    return image
