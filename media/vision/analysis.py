"""One document frame, analysed: outline, flattened image, quality, MRZ, portrait.

CPU-bound (OpenCV, onnxruntime) and 0.1-0.6 s per frame: call :func:`analyse` through
``loop.run_in_executor``, never on the event loop. Everything here is safe to run from
several executor threads at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Literal, TypeVar

import cv2
import numpy.typing as npt

from media.mrz import MrzResult
from media.vision import face, mrz_reader, quality
from media.vision.geometry import WARP_WIDTH, DocumentKind, Quad, document_kind, warp
from media.vision.mrz_reader import Box, MrzRead
from media.vision.outline import find_outlines
from media.vision.quad import detect_quads
from media.vision.quality import Quality

Image = npt.NDArray[Any]  # what cv2 returns (its stubs: integer or floating dtype)
QuadSource = Literal["outline", "frame", "none"]
_FORMAT_KIND: dict[str, DocumentKind] = {"TD1": "id1", "TD3": "passport"}
T = TypeVar("T")
# A scan or render of the document alone has the document's shape (ID-1 1.59, TD2 1.42,
# passport page 1.42); a 16:9 or 4:3 camera frame does not count as one.
_DOCUMENT_ASPECT = (1.38, 1.65)


@dataclass(frozen=True)
class DocumentAnalysis:
    found: bool
    quad: Quad | None  # frame pixels, TL TR BR BL
    quad_source: QuadSource  # outline detected, or the image itself is the document
    kind: DocumentKind | None
    warped: Image | None = field(repr=False, compare=False)
    quality: Quality
    mrz: MrzRead | None
    portrait: Box | None  # in ``warped`` pixels
    expired: bool | None  # None without a parsed MRZ
    timings_ms: dict[str, float] = field(compare=False)
    # every outline found, best first (frame pixels): a later, fuller analysis of the
    # same frame takes them instead of searching again (analyse's ``outlines``)
    outlines: tuple[Quad, ...] = field(default=(), repr=False, compare=False)

    @property
    def mrz_result(self) -> MrzResult | None:
        return self.mrz.result if self.mrz else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able data (no images): what ``buergerbuero analyse --json`` prints."""
        return {
            "found": self.found,
            "quad": [list(corner) for corner in self.quad.corners] if self.quad else None,
            "quad_source": self.quad_source,
            "kind": self.kind,
            "quality": {
                "verdict": self.quality.verdict,
                "hints": list(self.quality.hints),
                "sharpness": self.quality.sharpness,
                "brightness": self.quality.brightness,
                "contrast": self.quality.contrast,
                "glare": self.quality.glare,
                "fill": self.quality.fill,
            },
            "mrz": _mrz_json(self.mrz),
            "expired": self.expired,
            "portrait": list(self.portrait) if self.portrait else None,
            "timings_ms": self.timings_ms,
        }


def _mrz_json(read: MrzRead | None) -> dict[str, Any] | None:
    if read is None:
        return None
    result = read.result
    data: dict[str, Any] = {"read_lines": list(read.lines), "error": read.error}
    if result is None:
        return data
    data.update(
        {
            "lines": list(result.lines),
            "format": result.format,
            "valid": result.valid,
            "line_valid": list(result.line_validity()),
            "checks": dict(result.checks),
            "corrections": [
                {"line": c.line, "column": c.column, "found": c.found, "replaced_by": c.replaced_by}
                for c in result.corrections
            ],
            "fields": {
                "document_type": result.document_type,
                "issuing_state": result.issuing_state,
                "document_number": result.document_number,
                "surname": result.surname,
                "given_names": result.given_names,
                "nationality": result.nationality,
                "birth_date": result.birth_date.isoformat() if result.birth_date else None,
                "sex": result.sex,
                "expiry_date": result.expiry_date.isoformat() if result.expiry_date else None,
                "optional_data": result.optional_data,
                "optional_data_2": result.optional_data_2,
            },
        }
    )
    return data


MAX_DETAIL_WIDTH = 4000  # px: a 12-megapixel photo filled by the card


def _detail_width(quad: Quad) -> int:
    """The document's width in the image's own pixels, never below the usual width."""
    top, _right, bottom, _left = quad.side_lengths()
    return max(WARP_WIDTH, min(MAX_DETAIL_WIDTH, round(max(top, bottom))))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _document_shaped(image: Image) -> bool:
    """The aspect of a document (a scan or render), not of a 16:9 or 4:3 camera frame."""
    h, w = int(image.shape[0]), int(image.shape[1])
    return _DOCUMENT_ASPECT[0] <= w / h <= _DOCUMENT_ASPECT[1]


def _outline_may_mislead(image: Image, quad: Quad) -> bool:
    """An outline that may not be the document: a small one (a photo or field frame
    printed on a scan) or one that is nearly the image itself (a sheet with both sides
    of a card, flattened as if it were one card)."""
    share = quad.area() / (int(image.shape[0]) * int(image.shape[1]))
    return share < 0.6 or share > 0.9


def _frame_quad(image: Image) -> Quad:
    h, w = image.shape[:2]
    return Quad.of([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])


def _read_document(
    image: Image, quads: list[Quad], today: date | None
) -> tuple[Quad, DocumentKind, Image, MrzRead]:
    """Warp the best outline and read its MRZ. Without a parsed MRZ also try it turned
    180 degrees (the outline cannot tell up from down) and the next outline (two cards in
    view: the one with the MRZ is the one to check)."""
    attempts: list[tuple[Quad, DocumentKind, Image, MrzRead]] = []
    for quad in quads[:2]:
        kind = document_kind(quad)
        flat = warp(image, quad, kind)
        for turn in (0, 2):
            view = flat if turn == 0 else cv2.rotate(flat, cv2.ROTATE_180)
            # fewer tries on the less likely views: a card front has no MRZ at all
            read = mrz_reader.read(view, today=today, attempts=1 if attempts else 2)
            attempts.append((quad.rotated(turn), kind, view, read))
            if mrz_reader.conclusive(read):
                return attempts[-1]
    # none valid: the reading that got furthest; nothing parsed: the best outline as it was
    chosen = mrz_reader.best([attempt[3] for attempt in attempts])
    return next(attempt for attempt in attempts if attempt[3] is chosen)


def _outlines(image: Image, found: Sequence[Quad] | None, *, checked: bool) -> list[Quad]:
    """A capture's outlines are checked against the MRZ's rows; the guidance's quick
    look takes what edges give, which costs ~40 % less. ``found``: the edge outlines
    of an earlier look at this frame, so its edges are not searched again."""
    if checked:
        return list(find_outlines(image, edges=found).quads)
    return list(found) if found is not None else detect_quads(image)


# One pass through the stages (outline, warp, quality, MRZ, portrait), each timed in
# turn and each free to revise what the ones before found: split up, that shared
# state (quad, kind, warped image, source) would travel through every call.
def analyse(  # noqa: PLR0915
    image: Image,
    *,
    today: date | None = None,
    read_mrz: bool = True,
    find_portrait: bool = True,
    detail: bool = False,
    outlines: Sequence[Quad] | None = None,
) -> DocumentAnalysis:
    """Analyse one BGR frame (or a scan of a document).

    The live guidance needs neither the MRZ nor the portrait: without them the
    analysis costs about a third (the face detector is its slowest part).
    ``detail``: flatten at the document's own resolution in the image (up to
    ``MAX_DETAIL_WIDTH``), not the usual 1200 px: for full-resolution photos, whose
    fine security features are the reason they are taken (BSI TR-03147).
    ``outlines``: the ``outlines`` of an earlier analysis of this very frame, so the
    edge search (the costly part before the MRZ) runs once per frame; see
    :func:`_outlines` for which outlines each kind of analysis takes.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    quads = _outlines(image, outlines, checked=read_mrz)
    timings["quad"] = _ms(start)

    source: QuadSource = "outline"
    if quads:
        quad = quads[0]
        outline_kind = document_kind(quad)
        kind: DocumentKind | None = outline_kind
        width = _detail_width(quad) if detail else WARP_WIDTH
        warped = warp(image, quad, outline_kind, width)
    else:
        # No outline: a scan or a specimen render, where the image is the document.
        source, quad = "frame", _frame_quad(image)
        kind = document_kind(quad) if _document_shaped(image) else None
        warped = image
    timings["warp"] = round(_ms(start) - timings["quad"], 1)
    score_start = time.perf_counter()
    measured = quality.assess(warped, quad, image.shape, whole_frame=source == "frame")
    timings["quality"] = _ms(score_start)

    read: MrzRead | None = None
    if read_mrz:
        mrz_start = time.perf_counter()
        if source == "outline":
            quad, kind_read, warped, read = _read_document(image, quads, today)
            kind = kind_read
        else:
            read = mrz_reader.read(warped, today=today)
        if (
            not mrz_reader.conclusive(read)
            and source == "outline"
            and _outline_may_mislead(image, quad)
        ):
            # Perhaps a scan or render of the document alone, and the outline found was a
            # box printed on it (photo, field frame); or a sheet with both sides. Read the
            # whole image; if it has a document's shape, it is the document.
            whole = mrz_reader.read(image, today=today, attempts=2)
            settles = mrz_reader.conclusive(whole) or mrz_reader.best((read, whole)) is whole
            if whole.result is not None and settles:
                read = whole
                if _document_shaped(image):
                    source, quad, warped = "frame", _frame_quad(image), image
                    kind = _FORMAT_KIND.get(whole.result.format, document_kind(quad))
                    measured = quality.assess(warped, quad, image.shape, whole_frame=True)
        result = read.result
        if (
            result is not None
            and _FORMAT_KIND.get(result.format, kind) != kind
            and source == "outline"
        ):
            kind = _FORMAT_KIND[result.format]  # the MRZ format settles card vs passport
            warped = warp(image, quad, kind, _detail_width(quad) if detail else WARP_WIDTH)
        timings["mrz"] = _ms(mrz_start)

    result = read.result if read else None
    found = source == "outline" or kind is not None or result is not None
    if not found:
        timings["total"] = _ms(start)
        return DocumentAnalysis(
            False, None, "none", None, None, quality.no_document(), read, None, None, timings
        )
    portrait = None
    if find_portrait:
        face_start = time.perf_counter()
        portrait = face.find_portrait(warped)
        timings["portrait"] = _ms(face_start)
    timings["total"] = _ms(start)
    expired = result.expired(today or date.today()) if result else None
    return DocumentAnalysis(
        True, quad, source, kind, warped, measured, read, portrait, expired, timings, tuple(quads)
    )


class Consensus(Generic[T]):
    """Accepts a value once ``required`` offers have come with the same key.

    An offer without a key (a reading that is not fully valid) does not count, offers
    with other keys in between do not reset the count, and the first value accepted
    stays. Not thread-safe: :class:`MrzConsensus` is, and the capture desk replays a
    check's stored readings through one of these.
    """

    def __init__(self, required: int = 2) -> None:
        self._required = required
        self._seen: dict[Hashable, int] = {}
        self._accepted: T | None = None

    @property
    def accepted(self) -> T | None:
        return self._accepted

    def offer(self, key: Hashable | None, value: T) -> T | None:
        """Count one offer; returns the accepted value once there is one."""
        if self._accepted is None and key is not None:
            count = self._seen.get(key, 0) + 1
            self._seen[key] = count
            if count >= self._required:
                self._accepted = value
        return self._accepted


class MrzConsensus:
    """Accepts an MRZ only once two frames have given the same, fully valid lines.

    One frame's reading can be valid and still wrong (a look-alike in an unchecked name
    field); two independent frames agreeing makes that unlikely. Frames in between that
    read differently or not at all do not reset the count. Thread-safe.
    """

    def __init__(self, required: int = 2) -> None:
        self._votes: Consensus[MrzResult] = Consensus(required)
        self._lock = threading.Lock()

    @property
    def accepted(self) -> MrzResult | None:
        return self._votes.accepted

    def offer(self, result: MrzResult | None) -> MrzResult | None:
        """Count one frame's reading; returns the accepted MRZ once there is one."""
        with self._lock:
            if result is None or not result.valid:
                return self._votes.accepted
            return self._votes.offer(result.lines, result)
