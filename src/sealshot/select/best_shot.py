"""Streaming best-shot selection: one candidate crop per live track, O(1) memory per track."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sealshot.select.snapshot import Snapshot


@dataclass
class Candidate:
    crop: np.ndarray
    quality: float
    frame_index: int
    timestamp: float
    box: tuple[float, float, float, float]


@dataclass
class _TrackBest:
    best: Candidate
    first_seen: float
    last_seen: float
    detections: int


def _rank(quality: float) -> float:
    # A failure to assess (NaN) ranks below every real score but still counts as a crop.
    return -math.inf if math.isnan(quality) else quality


class BestShotSelector:
    """Keeps, for every live track, the best crop seen so far; emits a ``Snapshot`` when a track ends.

    Ties keep the earlier crop. A track whose crops are all poor still yields
    its best one: there is no absolute threshold here.
    """

    def __init__(self, camera_id: str, quality_method: str, started_at_utc: float) -> None:
        self.camera_id = camera_id
        self.quality_method = quality_method
        self.started_at_utc = started_at_utc
        self._tracks: dict[int, _TrackBest] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def offer(self, track_id: int, candidate: Candidate) -> bool:
        """Consider a crop for a track; returns True when it became the track's best."""
        state = self._tracks.get(track_id)
        if state is None:
            self._tracks[track_id] = _TrackBest(candidate, candidate.timestamp, candidate.timestamp, 1)
            return True
        state.detections += 1
        state.first_seen = min(state.first_seen, candidate.timestamp)
        state.last_seen = max(state.last_seen, candidate.timestamp)
        if _rank(candidate.quality) > _rank(state.best.quality):
            state.best = candidate
            return True
        return False

    def best_quality(self, track_id: int) -> float | None:
        state = self._tracks.get(track_id)
        return None if state is None else state.best.quality

    def best_frame(self, track_id: int) -> int | None:
        state = self._tracks.get(track_id)
        return None if state is None else state.best.frame_index

    def live_tracks(self) -> list[int]:
        return list(self._tracks)

    def emit(self, track_id: int) -> Snapshot | None:
        """The track's snapshot, forgetting the track; None if it never had a crop."""
        state = self._tracks.pop(track_id, None)
        if state is None:
            return None
        best = state.best
        return Snapshot(
            camera_id=self.camera_id,
            track_id=track_id,
            crop=best.crop,
            quality=best.quality,
            quality_method=self.quality_method,
            frame_index=best.frame_index,
            timestamp=best.timestamp,
            first_seen=state.first_seen,
            last_seen=state.last_seen,
            box=best.box,
            detections=state.detections,
            started_at_utc=self.started_at_utc,
        )

    def discard(self, track_id: int) -> None:
        self._tracks.pop(track_id, None)
