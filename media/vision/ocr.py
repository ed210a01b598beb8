"""Recognition-only use of rapidocr's text recogniser, as one lazily built, shared instance.

We crop and flatten the MRZ lines ourselves (:mod:`media.vision.mrz_reader`), so rapidocr's
detection and orientation models are never loaded. The recognition model ships inside the
rapidocr wheel; we pass its path explicitly because rapidocr otherwise resolves a model *URL*
and downloads it when the file is missing - nothing may be fetched at run time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from common.once import Once

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)

_MODEL_FILE = "PP-OCRv6_rec_small.onnx"
# Threads per recognition: at most two. The office runs several analyses at once in an
# executor; sessions that each grab every core slow all of them down and make p90 erratic.
THREADS = max(1, min(2, os.cpu_count() or 1))
_classes_cache: dict[str, npt.NDArray[np.int64]] = {}


def model_path() -> Path:
    """The recognition model inside the installed rapidocr package."""
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models" / _MODEL_FILE


def _build() -> Any:
    from rapidocr import RapidOCR

    path = model_path()
    if not path.is_file():  # fail loudly instead of letting rapidocr try a download
        raise RuntimeError(f"rapidocr recognition model missing: {path}")
    params = {
        "Global.use_det": False,
        "Global.use_cls": False,
        "Global.log_level": "error",
        "Rec.model_path": str(path),
        "EngineConfig.onnxruntime.intra_op_num_threads": THREADS,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    engine: Any = RapidOCR(params=params)  # rapidocr's methods are not annotated
    # Load now, under our lock: the first recognition then never builds a session.
    engine._load_rec_model()
    return engine


# The shared recogniser, built on first use (onnxruntime start-up is ~0.2 s); safe to
# call from executor threads.
engine: Once[Any] = Once(_build)


def _variants(char: str) -> tuple[str, ...]:
    """The model's characters that are ``char`` printed otherwise: lower case, full width,
    and for the MRZ filler the angle brackets the multilingual model reads it as."""
    forms = [char, char.lower(), chr(ord(char) + 0xFEE0)]  # U+FF01.. mirror ASCII
    if char == "<":
        forms += list(_FILLER_FORMS)
    return tuple(dict.fromkeys(forms))


_FILLER_FORMS = "«‹＜〈⟨≤く"


def _classes(characters: Sequence[str], alphabet: str) -> npt.NDArray[np.int64]:
    """Per model output column, the index of its class: 0 = CTC blank, ``i + 1`` = the
    ``i``-th character of ``alphabet`` (any of its forms), -1 = outside the alphabet."""
    index = {char: i for i, char in enumerate(characters)}
    classes = np.full(len(characters), -1, dtype=np.int64)
    classes[0] = 0
    for i, char in enumerate(alphabet):
        for form in _variants(char):
            if form in index and index[form] != 0:
                classes[index[form]] = i + 1
    return classes


def decode(scores: npt.NDArray[np.float32], classes: npt.NDArray[np.int64], alphabet: str) -> str:
    """Greedy CTC over ``alphabet``: per step, the class with the most probability summed
    over its forms ('b' and 'B' are one class); then repeats collapse and blanks drop."""
    inside = classes >= 0
    summed = np.zeros((scores.shape[0], len(alphabet) + 1), dtype=np.float32)
    np.add.at(summed.T, classes[inside], scores[:, inside].T)
    best = np.argmax(summed, axis=1)
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]  # CTC: collapse repeats, then drop blanks
    return "".join(alphabet[i - 1] for i in best[keep] if i != 0)


def recognise(crops: Sequence[Image], alphabet: str | None = None) -> list[str]:
    """Text of each BGR line crop, in order.

    With ``alphabet`` the recogniser's per-step scores are decoded over those characters
    only (greedy CTC, as rapidocr does, but restricted), each character's score summed
    over the forms the multilingual model has for it (upper and lower case, full width;
    for '<' also '«', '〈', 'く' ...): the model otherwise reads an OCR-B '<' as '«', a 'J'
    as 'j' or appends a '.', which the MRZ alphabet excludes anyway. This changes which
    of the model's own readings is taken, never the text after the fact.

    onnxruntime sessions are thread-safe for ``run`` and the recogniser keeps no state
    between calls, so no lock is held during inference.
    """
    if not crops:
        return []
    recogniser = engine()._load_rec_model()  # loaded in _build; returns the instance
    if alphabet is None:
        return [str(text) for text in engine().recognize_txt(list(crops)).txts]
    classes = _classes_cache.get(alphabet)
    if classes is None:  # a benign race: two threads may both build the same table
        classes = _classes_cache[alphabet] = _classes(recogniser.postprocess_op.character, alphabet)
    texts = []
    for crop in crops:
        # one crop per run: padding rows of a batch to the widest one costs more than it saves
        ratio = crop.shape[1] / crop.shape[0]
        batch = recogniser.resize_norm_img(crop, max(ratio, 320 / 48))[np.newaxis]
        scores = recogniser.session(batch.astype(np.float32))[0]
        texts.append(decode(scores, classes, alphabet))
    return texts
