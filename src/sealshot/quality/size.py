"""Face size: the geometric mean of the detector box's sides in frame pixels (log-scaled)."""

from __future__ import annotations

import numpy as np

from sealshot.quality.base import FaceBatch
from sealshot.quality.registry import register


class FaceSize:
    name = "size"

    def score(self, faces: FaceBatch) -> np.ndarray:
        w = np.clip(faces.boxes[:, 2] - faces.boxes[:, 0], 1, None)
        h = np.clip(faces.boxes[:, 3] - faces.boxes[:, 1], 1, None)
        return 0.5 * np.log(w * h)


@register("size", "log of the face box's side length in pixels")
def _factory() -> FaceSize:
    return FaceSize()
