"""A combination of the hand-crafted baselines: a weighted sum of standardised scores.

Each baseline is mapped by a fixed logistic onto [0, 1] (centres and scales
chosen on the shared arcade clip and LFW), then averaged with weights, so the
result is comparable across clips and needs no batch statistics.
"""

from __future__ import annotations

import numpy as np

from sealshot.quality.base import FaceBatch
from sealshot.quality.confidence import DetectorConfidence
from sealshot.quality.registry import register
from sealshot.quality.sharpness import Sharpness
from sealshot.quality.size import FaceSize

# (method, centre, scale, weight) of each logistic mapping
_COMPONENTS = (
    (Sharpness(), 5.5, 1.0, 0.4),
    (FaceSize(), np.log(60.0), 0.4, 0.4),
    (DetectorConfidence(), 6.0, 2.0, 0.2),
)


class Combined:
    name = "combined"

    def score(self, faces: FaceBatch) -> np.ndarray:
        total = np.zeros(len(faces))
        for method, centre, scale, weight in _COMPONENTS:
            total += weight / (1.0 + np.exp(-(method.score(faces) - centre) / scale))
        return total


@register("combined", "weighted logistic blend of sharpness, size and detector confidence, in [0, 1]")
def _factory() -> Combined:
    return Combined()
