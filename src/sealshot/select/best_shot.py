"""Best-shot ranking: of the crops offered for one track, keep the best one, O(1) memory."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """One crop of a track, with where and when it was taken."""

    crop: np.ndarray
    quality: float
    frame_index: int
    timestamp: float
    box: tuple[float, float, float, float]


def rank(quality: float) -> float:
    """The value crops are compared by: a failure to assess (NaN) ranks below every real score."""
    return -math.inf if math.isnan(quality) else quality


class BestShot:
    """The best crop offered so far for one track.

    Ties keep the earlier crop. A track whose crops are all poor, or could not be
    assessed at all, still has a best one: there is no absolute threshold here.
    """

    def __init__(self) -> None:
        self.best: Candidate | None = None

    def offer(self, candidate: Candidate) -> bool:
        """Consider a crop; returns True when it became the best."""
        if self.best is None or rank(candidate.quality) > rank(self.best.quality):
            self.best = candidate
            return True
        return False

    def release(self) -> None:
        """Forget the crop's pixels (once sealed, or discarded)."""
        self.best = None
