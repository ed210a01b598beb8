"""Recognition-only use of rapidocr's text recogniser, as one lazily built, shared instance.

We crop and flatten the MRZ lines ourselves (:mod:`media.vision.mrz_reader`), so rapidocr's
detection and orientation models are never loaded. The recognition model ships inside the
rapidocr wheel; we pass its path explicitly because rapidocr otherwise resolves a model *URL*
and downloads it when the file is missing - nothing may be fetched at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)

_MODEL_FILE = "PP-OCRv6_rec_small.onnx"
_lock = threading.Lock()
_engine: Any = None  # rapidocr.RapidOCR; imported lazily (onnxruntime start-up is ~0.2 s)


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
    }
    engine: Any = RapidOCR(params=params)  # rapidocr's methods are not annotated
    # Load now, under our lock: the first recognition then never builds a session.
    engine._load_rec_model()
    return engine


def engine() -> Any:
    """The shared recogniser. Built once on first use; safe to call from executor threads."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _build()
    return _engine


def recognise(crops: Sequence[Image], alphabet: str | None = None) -> list[str]:
    """Text of each BGR line crop, in order.

    With ``alphabet`` the recogniser's per-step scores are decoded over those characters
    only (greedy CTC, as rapidocr does, but restricted): the multilingual model otherwise
    reads an OCR-B '<' as '«' or 'く', a 'D' as 'Φ', or appends a '.', which the MRZ
    alphabet excludes anyway. This changes which of the model's own readings is taken,
    never the text after the fact.

    onnxruntime sessions are thread-safe for ``run`` and the recogniser keeps no state
    between calls, so no lock is held during inference.
    """
    if not crops:
        return []
    recogniser = engine()._load_rec_model()  # loaded in _build; returns the instance
    if alphabet is None:
        return [str(text) for text in engine().recognize_txt(list(crops)).txts]
    characters: list[str] = recogniser.postprocess_op.character
    allowed = [0] + [characters.index(c) for c in alphabet]  # 0 = CTC blank
    ratios = [crop.shape[1] / crop.shape[0] for crop in crops]
    texts = []
    for crop, ratio in zip(crops, ratios, strict=True):
        # one crop per run: padding rows of a batch to the widest one costs more than it saves
        batch = recogniser.resize_norm_img(crop, max(ratio, 320 / 48))[np.newaxis]
        scores = recogniser.session(batch.astype(np.float32))[0]
        best = np.asarray(allowed)[np.argmax(scores[:, allowed], axis=1)]
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]  # CTC: collapse repeats, then drop blanks
        texts.append("".join(characters[i] for i in best[keep] if i != 0))
    return texts
