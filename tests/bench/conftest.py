"""The benchmarks' own helpers (bench/heldout) are imported the way the bench scripts
import them: with bench/ on the path, as running ``python bench/documents.py`` puts it."""

from __future__ import annotations

import sys

from tests.helpers.constants import ROOT

if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))
