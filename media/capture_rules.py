"""Which frame a capture takes and when it counts: the sharpest of the last second for
a capture on demand, for an armed one the first frame whose quick look passes, and for
the tilt sequence one angle each way."""

from __future__ import annotations

from media.capture_peer import CaptureSession
from media.copies import Image
from media.vision.analysis import DocumentAnalysis, analyse
from media.vision.best import sharpest
from media.vision.tilt import Tilt, tilt_of
from office.errors import Conflict

TILT_KINDS: frozenset[str] = frozenset({"tilt_a", "tilt_b"})
NOT_WHOLLY_SHOWN = "Der Ausweis ist nicht ganz im Bild. Bitte noch einmal aufnehmen."


def best_recent_frame(session: CaptureSession) -> Image | None:
    """The sharpest frame of about the last second (run it in an executor)."""
    frames = session.recent_frames()
    return sharpest(frames) if frames else None


def glance(frame: Image) -> DocumentAnalysis:
    """What the guidance needs of a frame: the outline and the quality, no more."""
    return analyse(frame, read_mrz=False, find_portrait=False)


def may_take(kind: str, quick: DocumentAnalysis) -> bool:
    """Whether an armed capture of ``kind`` may take this frame: a document found by
    its outline, in good quality; for the tilt sequence the outline is enough (a
    tilted hologram is meant to shine), the angle is checked when it is kept."""
    if not quick.found or quick.quad_source != "outline":
        return False
    return kind in TILT_KINDS or quick.quality.ok


def check_tilt(kind: str, quick: DocumentAnalysis, first: Tilt | None) -> Tilt:
    """The frame's tilt, if it counts as ``kind`` of the sequence: ``tilt_a`` turned
    clearly, ``tilt_b`` turned the other way than ``first`` (the kept ``tilt_a``);
    :class:`Conflict` with what to do otherwise."""
    if quick.quad is None or quick.quad_source != "outline":
        raise Conflict(NOT_WHOLLY_SHOWN)
    tilt = tilt_of(quick.quad)
    if kind == "tilt_a":
        if not tilt.tilted:
            raise Conflict("Der Ausweis ist kaum gekippt. Bitte etwas stärker kippen.")
        return tilt
    if first is None:
        raise Conflict("Bitte zuerst die erste Kippbewegung aufnehmen.")
    if not tilt.opposite_of(first):
        raise Conflict("Bitte den Ausweis in die andere Richtung kippen.")
    return tilt
