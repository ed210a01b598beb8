"""The held-out frame generator (bench/heldout) makes what bench/documents.py says it
measures: the same frame for the same seed, an MRZ that validates, a ground-truth
outline wholly in the 720p frame and covering at least a tenth of it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from heldout import frame, frames, specimens
from heldout.camera import MAX_FILL, MIN_FILL
from heldout.fonts import OCR_B

from media.mrz import parse
from tests.helpers.constants import SAMPLES
from tests.helpers.services import REQUIRE_SERVICES

if not OCR_B.is_file():
    message = f"{OCR_B} not found: install Debian's fonts-ocr-b"
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

SEED = 11
COUNT = 8  # about 0.3 s a frame
FRAME_AREA = 1280 * 720
TODAY = date(2026, 12, 7)  # anchors the two-digit years


def test_a_seed_gives_the_same_frames() -> None:
    first, again = list(frames(3, SEED)), list(frames(3, SEED))
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.image, b.image)
        assert (a.quad, a.mrz, a.source, a.scene) == (b.quad, b.mrz, b.source, b.scene)
    other = next(frames(1, SEED + 1))
    assert other.mrz != first[0].mrz


def test_frame_n_does_not_depend_on_how_many_were_asked_for() -> None:
    assert list(frames(3, SEED))[2].mrz == frame(np.random.default_rng([SEED, 2])).mrz


def test_every_printed_mrz_validates_and_the_outline_is_in_view() -> None:
    seen = set()
    for made in frames(COUNT, SEED):
        assert made.image.shape == (720, 1280, 3)
        result = parse(made.mrz, correct=False, today=TODAY)
        assert result.valid, (made.mrz, result.checks)
        assert result.format == ("TD1" if len(made.mrz) == 3 else "TD3")
        corners = np.array(made.quad.corners)
        assert (corners >= 0).all() and (corners[:, 0] <= 1280).all()
        assert (corners[:, 1] <= 720).all()
        assert MIN_FILL <= made.quad.area() / FRAME_AREA <= MAX_FILL + 1e-6
        seen.add(result.format)
    assert seen == {"TD1", "TD3"}


def test_specimen_frames_carry_the_manifests_mrz() -> None:
    pool = specimens(SAMPLES)
    if not pool:
        pytest.skip(f"shared ID samples not found at {SAMPLES}")
    by_file = {s.file: s.document.mrz for s in pool}
    assert "deu_idcard_2021_back.png" in by_file
    # with this seed, frames 0, 4 and 5 are the ones that draw a specimen (share 0.15)
    shown = [made for made in frames(6, SEED, pool) if made.source in by_file]
    assert len(shown) == 3
    for made in shown:
        assert made.mrz == by_file[made.source]
        assert parse(made.mrz, correct=False, today=TODAY).valid
