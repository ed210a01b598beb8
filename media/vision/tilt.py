"""How far a document is tilted towards or away from the camera, from its outline.

A card turned about its vertical axis shows one short side nearer the camera, and so
longer, than the other; turned about its horizontal axis, the long sides differ. The
log of the length ratio is zero for a card held flat, positive when the right (or
bottom) side comes closer, and grows with the card's extent along the tilt over its
distance: for an ID-1 card 40 cm away, 0.07 at 20 degrees, 0.11 at 30. The vertical
ratio is scaled by the card's aspect, so both axes need the same angle. At about 16
degrees a hologram visibly changes; the tilt sequence asks for one tilt each way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from media.vision.geometry import Quad

MIN_TILT = 0.06  # |log ratio|; a card held "flat" in the hand wobbles by about 0.02


@dataclass(frozen=True)
class Tilt:
    horizontal: float  # log(right side / left side): turned about the vertical axis
    vertical: float  # log(bottom side / top side) x aspect: turned about the horizontal axis

    @property
    def axis(self) -> str:
        return "horizontal" if abs(self.horizontal) >= abs(self.vertical) else "vertical"

    @property
    def amount(self) -> float:
        """The larger of the two tilts, with its sign."""
        return self.horizontal if self.axis == "horizontal" else self.vertical

    @property
    def tilted(self) -> bool:
        return abs(self.amount) >= MIN_TILT

    def opposite_of(self, other: Tilt) -> bool:
        """Tilted the other way about the same axis as ``other`` (a second angle)."""
        mine = self.horizontal if other.axis == "horizontal" else self.vertical
        return abs(mine) >= MIN_TILT and math.copysign(1, mine) != math.copysign(1, other.amount)

    def to_json(self) -> dict[str, float | str]:
        return {
            "horizontal": round(self.horizontal, 3),
            "vertical": round(self.vertical, 3),
            "axis": self.axis,
        }


def tilt_of(quad: Quad) -> Tilt:
    top, right, bottom, left = quad.side_lengths()
    return Tilt(
        horizontal=math.log(max(right, 1e-6) / max(left, 1e-6)),
        vertical=math.log(max(bottom, 1e-6) / max(top, 1e-6)) * quad.aspect(),
    )
