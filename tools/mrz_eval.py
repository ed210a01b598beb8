"""bench/documents.py with a chosen MRZ reading order and model, to judge the OCR-B network.

Run from the repository root with the product's environment::

    PYTHONPATH=. .venv/bin/python tools/mrz_eval.py --order ocrb [--model PATH] \
        [--show] -- --frames 0 --heldout 100

``--order``: the readings tried, comma-separated, from ``ocrb`` (the network on the first
cut), ``rapid1`` and ``rapid2`` (rapidocr on the first and second cut). ``ocrb`` alone is
the network alone, in the product's own pipeline (outline, warp, row finder, cut, the
grammar-constrained decoding); ``ocrb,rapid1,rapid2`` (the default) is the product's order.
``--show`` prints each line read wrongly beside the truth. Everything after ``--`` goes
to bench/documents.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import document_targets  # noqa: E402
import documents  # noqa: E402

from media.vision import mrz_reader, ocrb  # noqa: E402

READINGS: dict[str, tuple[mrz_reader.Recogniser, mrz_reader.Cut]] = {
    "ocrb": ("ocrb", mrz_reader.FIRST_CUT),
    "rapid1": ("rapidocr", mrz_reader.FIRST_CUT),
    "rapid2": ("rapidocr", mrz_reader.SECOND_CUT),
}


def _showing(add: Any) -> Any:
    shown: set[tuple[str, int]] = set()

    def add_and_show(self: document_targets.Tally, name: str, truth: list[str], found: Any) -> None:
        result = found.mrz_result
        read = list(result.lines) if result else list(found.mrz.lines if found.mrz else [])
        for n, expected in enumerate(truth):
            got = read[n] if n < len(read) else ""
            if got != expected and (name, n) not in shown:
                shown.add((name, n))
                print(f"  MISREAD {name} row {n + 1}\n    truth {expected}\n    read  {got}")
        add(self, name, truth, found)

    return add_and_show


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", default="ocrb,rapid1,rapid2")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--show", action="store_true")
    args, rest = parser.parse_known_args()
    mrz_reader.READINGS = tuple(READINGS[name] for name in args.order.split(","))
    if args.model is not None:
        ocrb.MODEL = args.model.resolve()
    print(f"readings {args.order}, model {ocrb.MODEL}", flush=True)
    if args.show:
        document_targets.Tally.add = _showing(document_targets.Tally.add)  # type: ignore[method-assign]
    sys.argv = [str(BENCH / "documents.py"), *[arg for arg in rest if arg != "--"]]
    documents.main()


if __name__ == "__main__":
    main()
