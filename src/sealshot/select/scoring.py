"""Which faces of a frame to score for quality: not every face of every frame.

A tracked face changes little from one frame to the next, and only a track's best crop is kept. So a face is
scored when its track is new (or has no score yet), at least every ``every`` frames, and on every frame while
the track's scores keep setting a new best (its quality is climbing towards a peak worth finding exactly). The
faces in between are neither aligned nor scored: their quality is unknown (NaN, with no failure reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from sealshot.track.tracker import iou_matrix

SAME_FACE_IOU = 0.5
"""A detection whose box overlaps a track's predicted box this much is taken to be that track's face."""


@dataclass
class ScoringSchedule:
    every: int = 1
    """Score a tracked face at least every this many frames; 1: every face of every frame."""
    _last: dict[int, tuple[int, bool]] = field(default_factory=dict)
    """Track id → (frame number of its last scored face, whether that face became the track's best)."""

    @property
    def selective(self) -> bool:
        """Whether some faces go unscored (``every`` above 1); if not, the schedule keeps no state."""
        return self.every > 1

    def wanted(self, boxes: np.ndarray, track_ids: list[int], predicted: np.ndarray, frame_number: int) -> np.ndarray:
        """Which of a frame's detections (``boxes``) to score, given the live tracks' ids and predicted boxes."""
        wanted = np.ones(len(boxes), bool)
        if not self.selective or not len(boxes) or not track_ids:
            return wanted
        overlap = iou_matrix(np.asarray(predicted, np.float64).reshape(-1, 4), np.asarray(boxes, np.float64))
        for column in range(len(boxes)):
            row = int(np.argmax(overlap[:, column]))
            if overlap[row, column] >= SAME_FACE_IOU:
                wanted[column] = self._due(track_ids[row], frame_number)
        return wanted

    def _due(self, track_id: int, frame_number: int) -> bool:
        last = self._last.get(track_id)
        if last is None:
            return True
        scored_at, was_best = last
        return was_best or frame_number - scored_at >= self.every

    def record(self, track_id: int, frame_number: int, became_best: bool) -> None:
        """A face of ``track_id`` was scored on ``frame_number``; ``became_best``: it is now the track's best."""
        if not self.selective:
            return
        self._last[track_id] = (frame_number, became_best)

    def keep_only(self, track_ids: Iterable[int]) -> None:
        """Forget the tracks that ended."""
        if not self.selective:
            return
        live = set(track_ids)
        self._last = {k: v for k, v in self._last.items() if k in live}
