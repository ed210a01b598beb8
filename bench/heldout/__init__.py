"""Held-out webcam frames for bench/documents.py: documents and scenes that no reader or
outline finder of ours was built or trained on.

It shares nothing with media.vision.synthetic (the tests' generator: specimen images on
a shaded wall) nor with any training data generator: its own made-up cards and passport
pages (:mod:`.document`, :mod:`.artwork`, :mod:`.identity`), its own scenes
(:mod:`.scenes`) and its own camera model (:mod:`.camera`); a share of the frames show the
flat shared specimens instead, so real print is measured too (:mod:`.frames`).
"""

from heldout.frames import HeldOutFrame, frame, frames, specimens

__all__ = ["HeldOutFrame", "frame", "frames", "specimens"]
