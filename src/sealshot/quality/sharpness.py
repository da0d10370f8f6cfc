"""Sharpness: variance of the Laplacian of the 64×64 greyscale crop (log-scaled)."""

from __future__ import annotations

import cv2
import numpy as np

from sealshot.quality.base import FaceBatch
from sealshot.quality.registry import register


class Sharpness:
    name = "sharpness"

    def score(self, faces: FaceBatch) -> np.ndarray:
        return np.array([np.log1p(cv2.Laplacian(g, cv2.CV_64F).var()) for g in faces.gray])


@register("sharpness", "log(1 + variance of the Laplacian) of the aligned 64x64 grey crop")
def _factory() -> Sharpness:
    return Sharpness()
