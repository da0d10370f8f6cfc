"""Multi-face tracking: Kalman prediction plus Hungarian assignment on IoU and centre distance.

The paper links boxes by centre distance alone; a constant-velocity prediction
keeps identities through a missed detection, an occlusion, or a detection stride.
Assignments are gated on motion and size, and, when the caller passes them, on a
non-identifying colour cue (``track.appearance``) and on a sudden collapse of the
face quality: when in doubt a new track starts, since a duplicate snapshot costs
less than a person lost inside someone else's track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sealshot.detect.types import Detections, iou_matrix
from sealshot.track.assignment import linear_sum_assignment
from sealshot.track.appearance import appearance_distance
from sealshot.track.config import TrackerConfig
from sealshot.track.kalman import BoxKalman

_REFUSED = 1e6
_UNBROKEN_S = 0.1
"""A track last matched at most this long ago (a few frames) counts as followed without a break."""
_EMERGING_S = 0.3
"""A track found again after a break counts as followed without a break only this long after: a face coming out
from behind someone stays partly hidden for a few frames (two people crossing at 16 pixels a frame: the rear face
was half hidden for two frames after its return, quality -0.5 and -0.8 against its mean of 0.05; refused at the
second, it started a second track and was sealed twice)."""
_PREDICTED_FOR_S = 0.25
"""For this long after its last match, a track with a velocity is trusted to be where its motion model puts it."""


def centre_distance_matrix(predicted: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Centre distances divided by the predicted box's size."""
    if len(predicted) == 0 or len(detected) == 0:
        return np.zeros((len(predicted), len(detected)))
    pc = (predicted[:, :2] + predicted[:, 2:4]) / 2
    dc = (detected[:, :2] + detected[:, 2:4]) / 2
    size = np.maximum(predicted[:, 2] - predicted[:, 0], predicted[:, 3] - predicted[:, 1])
    return np.linalg.norm(pc[:, None] - dc[None], axis=2) / np.maximum(size[:, None], 1.0)


def size_ratio_matrix(predicted: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """max(a/b, b/a) of the boxes' side lengths: 1 for equal sizes."""
    if len(predicted) == 0 or len(detected) == 0:
        return np.ones((len(predicted), len(detected)))
    side_p = np.sqrt(np.prod(np.clip(predicted[:, 2:4] - predicted[:, :2], 1, None), axis=1))
    side_d = np.sqrt(np.prod(np.clip(detected[:, 2:4] - detected[:, :2], 1, None), axis=1))
    ratio = side_p[:, None] / side_d[None, :]
    return np.maximum(ratio, 1 / ratio)


@dataclass
class Track:
    track_id: int
    filter: BoxKalman
    first_seen: float
    last_seen: float
    box: np.ndarray
    peak_score: float
    hits: int = 1
    returned_at: float | None = None
    """When the track was last matched again after a break (None: never lost)."""
    appearance: np.ndarray | None = field(default=None, repr=False)
    """Colour histograms of the face and below (in memory only, never stored); None when not given."""
    quality_count: int = 0
    quality_mean: float = 0.0
    quality_m2: float = 0.0
    """Welford's running sum of squared deviations of the finite face qualities."""

    def add_quality(self, quality: float) -> None:
        if not np.isfinite(quality):
            return
        self.quality_count += 1
        delta = quality - self.quality_mean
        self.quality_mean += delta / self.quality_count
        self.quality_m2 += delta * (quality - self.quality_mean)

    def quality_collapsed(self, quality: float, sigmas: float, min_faces: int) -> bool:
        """Whether ``quality`` lies far below everything this track has shown so far."""
        if self.quality_count < min_faces or not np.isfinite(quality):
            return False
        spread = max(np.sqrt(self.quality_m2 / (self.quality_count - 1)), 1e-3 * max(abs(self.quality_mean), 1.0))
        return quality < self.quality_mean - sigmas * spread

    def emerging(self, timestamp: float) -> bool:
        """Whether the track came back from a break less than ``_EMERGING_S`` ago (its face may still be partly hidden)."""
        return self.returned_at is not None and timestamp - self.returned_at <= _EMERGING_S

    def predicted_box(self, timestamp: float) -> np.ndarray:
        return self.filter.peek(timestamp)


@dataclass(frozen=True)
class TrackedDetections:
    """A frame's detections, each carrying the id of the track it joined (supervision's ``tracker_id``)."""

    detections: Detections
    tracker_id: np.ndarray
    """``(N,)`` int64: the track id of each detection, in the detections' order."""

    def __len__(self) -> int:
        return len(self.detections)


@dataclass(frozen=True)
class TrackUpdate:
    """What one frame did to the tracks: every detection with its track id, and the tracks that ended."""

    tracked: TrackedDetections
    ended: list[Track]


class FaceTracker:
    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def __len__(self) -> int:
        """The number of live tracks."""
        return len(self.tracks)

    def predicted_boxes(self, timestamp: float) -> tuple[list[int], np.ndarray]:
        ids = list(self.tracks)
        boxes = np.array([self.tracks[i].predicted_box(timestamp) for i in ids]).reshape(-1, 4)
        return ids, boxes

    def update(
        self,
        detections: Detections,
        timestamp: float,
        appearance: np.ndarray | None = None,
        quality: np.ndarray | None = None,
    ) -> TrackUpdate:
        """Match this frame's detections to live tracks, start new tracks, end stale ones.

        ``appearance`` (``(N, D)``, from ``track.appearance.appearance_descriptors``) and ``quality``
        (``(N,)``, NaN where unknown) are optional per-detection cues that gate the assignment.
        """
        config = self.config
        # A cue that does not cover every detection is not used at all.
        appearance = appearance if appearance is not None and len(appearance) == len(detections) else None
        quality = quality if quality is not None and len(quality) == len(detections) else None
        ids = list(self.tracks)
        tracks = [self.tracks[i] for i in ids]
        predicted = np.array([t.filter.predict(timestamp) for t in tracks]).reshape(-1, 4)
        boxes = detections.boxes.astype(np.float64)
        iou = iou_matrix(predicted, boxes)
        distance = centre_distance_matrix(predicted, boxes)
        unseen = np.array([timestamp - t.last_seen for t in tracks]).reshape(-1, 1)
        # A track missing for a while may have walked on: widen its motion gate with the time it was away. A track
        # seen once has no velocity yet (its prediction stands still), so its gate widens from the first miss.
        grace = np.array([0.0 if t.hits == 1 else _PREDICTED_FOR_S for t in tracks]).reshape(-1, 1)
        reach = config.max_centre_distance + config.reattach_speed * np.clip(unseen - grace, 0.0, None)
        gate = ((iou >= config.min_iou) | (distance <= reach)) & (size_ratio_matrix(predicted, boxes) <= config.max_size_ratio)
        cost = (1.0 - iou) + 0.5 * np.minimum(distance, 10.0)
        if appearance is not None:
            stored = [t.appearance for t in tracks]
            if tracks and all(a is not None for a in stored):
                looks = appearance_distance(np.stack(stored), appearance)  # type: ignore[arg-type]
                limit = np.where(distance > config.max_centre_distance, config.reattach_max_appearance_distance, config.max_appearance_distance)
                gate &= looks <= limit
                if quality is not None:
                    # Only on a track followed without a break, and not just back from one: a face coming out from
                    # behind someone is partly hidden for a few frames, and its quality is low for a good reason.
                    followed = np.array([not t.emerging(timestamp) for t in tracks]).reshape(-1, 1)
                    doubtful = gate & (looks >= 0.5 * config.max_appearance_distance) & (unseen <= _UNBROKEN_S) & followed
                    for r, c in zip(*np.nonzero(doubtful)):
                        if tracks[r].quality_collapsed(float(quality[c]), config.quality_collapse_sigmas, config.quality_collapse_min_faces):
                            gate[r, c] = False
                cost = cost + 2.0 * looks
        cost = np.where(gate, cost, _REFUSED)
        tracker_id = np.zeros(len(boxes), np.int64)
        matched_detections: set[int] = set()
        if len(ids) and len(boxes):
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] >= _REFUSED:
                    continue
                track = tracks[r]
                if timestamp - track.last_seen > _UNBROKEN_S:
                    track.returned_at = timestamp
                track.filter.update(boxes[c])
                track.box = boxes[c]
                track.last_seen = timestamp
                track.hits += 1
                track.peak_score = max(track.peak_score, float(detections.scores[c]))
                if appearance is not None:
                    track.appearance = (
                        appearance[c].copy()
                        if track.appearance is None
                        else config.appearance_momentum * track.appearance + (1 - config.appearance_momentum) * appearance[c]
                    )
                if quality is not None:
                    track.add_quality(float(quality[c]))
                tracker_id[c] = track.track_id
                matched_detections.add(int(c))
        for c in range(len(boxes)):
            if c in matched_detections:
                continue
            track = Track(self._next_id, BoxKalman(boxes[c], timestamp), timestamp, timestamp, boxes[c], float(detections.scores[c]))
            if appearance is not None:
                track.appearance = appearance[c].copy()
            if quality is not None:
                track.add_quality(float(quality[c]))
            self.tracks[track.track_id] = track
            self._next_id += 1
            tracker_id[c] = track.track_id
        ended = [t for t in self.tracks.values() if timestamp - t.last_seen > config.max_unseen_s]
        for track in ended:
            del self.tracks[track.track_id]
        return TrackUpdate(TrackedDetections(detections, tracker_id), ended)

    def forget_appearance(self) -> None:
        """The light changed (``ShotCutDetector.light_changed``): the live tracks' colours were learnt under the
        old light, so the next detections are matched by motion alone and each track learns its colours anew."""
        for track in self.tracks.values():
            track.appearance = None

    def finish(self) -> list[Track]:
        """End every live track (end of stream, a scene cut, or shutdown)."""
        ended = list(self.tracks.values())
        self.tracks.clear()
        return ended

    def is_false_alarm(self, track: Track) -> str | None:
        """Why an ended track is not taken for a person, or None if it is."""
        if track.hits < self.config.min_detections:
            return f"fewer than {self.config.min_detections} detections"
        if track.peak_score < self.config.min_peak_score:
            return f"detector score never reached {self.config.min_peak_score}"
        return None
