"""The camera pipeline: frames in, one sealed best crop per person out.

detect (full MTCNN every ``detect_every`` frames, R/O-Net refinement on the
tracker's predictions in between) → align → score quality (batched per frame)
→ track → keep the best crop per track → seal it when the track ends.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import numpy as np

from sealshot.detect import MTCNNConfig, MTCNNDetector, crop_box
from sealshot.detect.types import Detections
from sealshot.quality import FaceBatch, QualityMethod, assess
from sealshot.select import BestShotSelector, Candidate, Snapshot
from sealshot.track import FaceTracker, Track, TrackerConfig
from sealshot.video import Frame


class SnapshotSink(Protocol):
    """Where snapshots go: in production the vault's sealer."""

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any]) -> str:
        """Store the crop and its metadata durably; return the snapshot's id."""
        ...


@dataclass
class PipelineConfig:
    camera_id: str = "camera-1"
    detector: MTCNNConfig = field(default_factory=MTCNNConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    detect_every: int = 5
    """Run the full detector every N frames; in between only refine the tracks' predicted boxes."""
    refine_expand: float = 1.3
    crop_margin: float = 0.3


@dataclass(frozen=True)
class FaceObservation:
    """One scored face of one frame. No pixels: safe for reports and previews."""

    frame_index: int
    timestamp: float
    track_id: int
    box: tuple[float, float, float, float]
    detector_score: float
    quality: float
    new_best: bool


@dataclass
class TrackSummary:
    track_id: int
    first_seen: float
    last_seen: float
    detections: int
    chosen_frame: int | None = None
    chosen_timestamp: float | None = None
    chosen_quality: float | None = None
    snapshot_id: str | None = None
    discarded: str | None = None
    timeline: list[tuple[float, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "track_id": self.track_id,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "detections": self.detections,
            "chosen_frame": self.chosen_frame,
            "chosen_timestamp": self.chosen_timestamp,
            "chosen_quality": _finite_or_none(self.chosen_quality),
            "snapshot_id": self.snapshot_id,
            "discarded": self.discarded,
            "quality_timeline": [[t, _finite_or_none(q)] for t, q in self.timeline],
        }


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class StageTimer:
    """Accumulated wall time per pipeline stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def measure(self, stage: str) -> "_Timing":
        return _Timing(self, stage)

    def milliseconds_per(self, count: int) -> dict[str, float]:
        return {stage: 1000.0 * total / max(count, 1) for stage, total in self.seconds.items()}


class _Timing:
    def __init__(self, timer: StageTimer, stage: str) -> None:
        self.timer, self.stage = timer, stage

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timer.seconds[self.stage] += time.perf_counter() - self.start


class CameraPipeline:
    """Processes one source's frames in order. Call ``process`` per frame, then ``finish``."""

    def __init__(
        self,
        config: PipelineConfig,
        quality: QualityMethod,
        sink: SnapshotSink,
        started_at_utc: float,
        detector: MTCNNDetector | None = None,
        on_snapshot: Callable[[Snapshot, str], None] | None = None,
    ) -> None:
        self.config = config
        self.quality = quality
        self.sink = sink
        self.detector = detector or MTCNNDetector(config.detector)
        self.tracker = FaceTracker(config.tracker)
        self.selector = BestShotSelector(config.camera_id, quality.name, started_at_utc)
        self.timer = StageTimer()
        self.summaries: dict[int, TrackSummary] = {}
        self.frames_processed = 0
        self.on_snapshot = on_snapshot

    def process(self, frame: Frame) -> list[FaceObservation]:
        self.frames_processed += 1
        with self.timer.measure("detect"):
            detections = self._detect(frame)
        with self.timer.measure("align"):
            faces = FaceBatch.from_detections(frame.image, detections)
        with self.timer.measure("quality"):
            qualities = assess(self.quality, faces).scores
        with self.timer.measure("track"):
            update = self.tracker.update(detections, frame.timestamp)
        observations = []
        with self.timer.measure("select"):
            for detection_index, track_id in update.assignments:
                box = tuple(float(v) for v in detections.boxes[detection_index])
                quality = float(qualities[detection_index])
                candidate = Candidate(
                    crop=crop_box(frame.image, detections.boxes[detection_index], self.config.crop_margin),
                    quality=quality,
                    frame_index=frame.index,
                    timestamp=frame.timestamp,
                    box=box,  # type: ignore[arg-type]
                )
                new_best = self.selector.offer(track_id, candidate)
                summary = self.summaries.setdefault(track_id, TrackSummary(track_id, frame.timestamp, frame.timestamp, 0))
                summary.last_seen = frame.timestamp
                summary.detections += 1
                summary.timeline.append((frame.timestamp, quality))
                observations.append(
                    FaceObservation(frame.index, frame.timestamp, track_id, box, float(detections.scores[detection_index]), quality, new_best)  # type: ignore[arg-type]
                )
        with self.timer.measure("seal"):
            for track in update.ended:
                self._close(track)
        return observations

    def finish(self) -> None:
        """End of stream or shutdown: seal the best shot of every open track."""
        with self.timer.measure("seal"):
            for track in self.tracker.finish():
                self._close(track)
            for track_id in self.selector.live_tracks():
                self._seal(track_id)

    def _detect(self, frame: Frame) -> Detections:
        stride = max(1, self.config.detect_every)
        if frame.index % stride == 0 or not self.tracker.tracks:
            return self.detector.detect([frame.image])[0]
        _, predicted = self.tracker.predicted_boxes(frame.timestamp)
        centre = (predicted[:, :2] + predicted[:, 2:]) / 2
        half = (predicted[:, 2:] - predicted[:, :2]) * self.config.refine_expand / 2
        return self.detector.refine(frame.image, np.c_[centre - half, centre + half])

    def _close(self, track: Track) -> None:
        reason = self.tracker.is_false_alarm(track)
        if reason:
            self.selector.discard(track.track_id)
            if track.track_id in self.summaries:
                self.summaries[track.track_id].discarded = reason
            return
        self._seal(track.track_id)

    def _seal(self, track_id: int) -> None:
        snapshot = self.selector.emit(track_id)
        if snapshot is None:
            return
        snapshot_id = self.sink.seal(snapshot.crop, snapshot.metadata())
        summary = self.summaries[track_id]
        summary.chosen_frame = snapshot.frame_index
        summary.chosen_timestamp = snapshot.timestamp
        summary.chosen_quality = snapshot.quality
        summary.snapshot_id = snapshot_id
        if self.on_snapshot:
            self.on_snapshot(snapshot, snapshot_id)

    def sealed(self) -> list[TrackSummary]:
        return [s for s in self.summaries.values() if s.snapshot_id is not None]
