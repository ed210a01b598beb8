"""Which frame a capture takes: the sharpest of the last second for a capture on
demand, and for an armed one the first frame whose quick look passes."""

from __future__ import annotations

from media.capture_peer import CaptureSession
from media.copies import Image
from media.vision.analysis import DocumentAnalysis, analyse
from media.vision.best import sharpest

TILT_KINDS: frozenset[str] = frozenset({"tilt_a", "tilt_b"})


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
