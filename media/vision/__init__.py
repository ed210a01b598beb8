"""Document vision for the identity check in a video call (OpenCV + rapidocr, CPU only).

- :mod:`.quad` - find the document outline, order its corners, warp it flat to its real
  aspect (ID-1 85.6 x 54 mm, passport page 125 x 88 mm).
- :mod:`.quality` - sharpness, exposure, glare, fill; verdict and hints
  (German, marked for the catalogues).
- :mod:`.mrz_reader` - locate the MRZ rows, cut them, recognise them (:mod:`.ocr`, the
  rapidocr recogniser only), parse with :mod:`media.mrz`.
- :mod:`.face` - portrait on the document, live face in a frame (Haar cascade).
- :mod:`.analysis` - :func:`analyse` one frame into a :class:`DocumentAnalysis`;
  :class:`MrzConsensus` accepts an MRZ once two frames agree.
- :mod:`.synthetic` - synthetic webcam frames for tests and benchmarks.

All of it is CPU-bound: run it in an executor, never on the event loop.
"""

from media.vision.analysis import DocumentAnalysis, MrzConsensus, analyse

__all__ = ["DocumentAnalysis", "MrzConsensus", "analyse"]
