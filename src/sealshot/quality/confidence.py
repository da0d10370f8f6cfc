"""Detector confidence: MTCNN O-Net probability as a logit, so that 0.999 and 0.9999 differ."""

from __future__ import annotations

import numpy as np

from sealshot.quality.base import FaceBatch
from sealshot.quality.registry import register


class DetectorConfidence:
    name = "confidence"

    def score(self, faces: FaceBatch) -> np.ndarray:
        p = np.clip(faces.detector_scores.astype(np.float64), 1e-7, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)


@register("confidence", "logit of the MTCNN O-Net face probability")
def _factory() -> DetectorConfidence:
    return DetectorConfidence()
