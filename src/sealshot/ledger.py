"""What the pipeline keeps of each face and each track.

One ``TrackedFace`` per face of a frame (no pixels: safe for reports and previews), one
``TrackLedger`` per track (its best crop, in memory only until sealed; its times and counts; a
capped quality timeline; why its faces could not be assessed) and, from that, one pixel-free
``TrackSummary`` per track for the report.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from sealshot.quality import FailureReason
from sealshot.select import BestShot, Candidate, ClipBuffer, Snapshot

Box = tuple[float, float, float, float]
_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)


@dataclass(frozen=True)
class TrackedFace:
    """One face of one frame, with the track it joined and its quality."""

    frame_index: int
    timestamp: float
    track_id: int
    box: Box
    detector_score: float
    quality: float
    """NaN when it could not be assessed; ``failure`` says why."""
    failure: FailureReason | None
    new_best: bool
    """Whether this face became its track's best crop so far."""


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline made of one frame."""

    frame_index: int
    timestamp: float
    faces: tuple[TrackedFace, ...]


class QualityTimeline:
    """(time, quality) points of one track, at most ``limit`` of them.

    When full, every second point is dropped and later points are taken at half the rate, so that a
    long track keeps its whole time span at an even spacing.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(2, limit)
        self.points: list[tuple[float, float]] = []
        self._stride = 1
        self._offered = 0

    def add(self, timestamp: float, quality: float) -> None:
        if self._offered % self._stride == 0:
            self.points.append((timestamp, quality))
        self._offered += 1
        if len(self.points) >= self.limit:
            self.points = self.points[::2]
            self._stride *= 2


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class TrackSummary:
    """A track as the report shows it: no pixels. ``chosen_*`` are set once its crop was sealed."""

    track_id: int
    first_seen: float
    last_seen: float
    detections: int
    chosen_frame: int | None = None
    chosen_timestamp: float | None = None
    chosen_quality: float | None = None
    chosen_quality_0_100: float | None = None
    probably_not_usable: bool | None = None
    snapshot_id: str | None = None
    discarded: str | None = None
    seal_error: str | None = None
    timeline: tuple[tuple[float, float], ...] = ()
    quality_failures: dict[str, int] = field(default_factory=dict)
    """How many of its faces could not be assessed, by ``FailureReason`` value."""
    first_frame: int | None = None
    """Index of the frame it was first seen in."""
    declined: str | None = None
    """Why it was left to another part of the same source (a batch chunk seals only the tracks that start in its own
    frames); not a loss: the part that owns it seals it."""
    retention_ended_days: float | None = None
    """Set when the person was seen but not kept: the vault's retention period (this many days) had already ended
    when the track did (an old recording), so nothing of it was written; a purge would have deleted it at once."""

    def to_json(self) -> dict[str, object]:
        return {
            "track_id": self.track_id,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "detections": self.detections,
            "chosen_frame": self.chosen_frame,
            "chosen_timestamp": self.chosen_timestamp,
            "chosen_quality": _finite_or_none(self.chosen_quality),
            "chosen_quality_0_100": _finite_or_none(self.chosen_quality_0_100),
            "probably_not_usable": self.probably_not_usable,
            "snapshot_id": self.snapshot_id,
            "discarded": self.discarded,
            "seal_error": self.seal_error,
            "quality_failures": dict(self.quality_failures),
            "quality_timeline": [[t, _finite_or_none(q)] for t, q in self.timeline],
            "first_frame": self.first_frame,
            "declined": self.declined,
            "retention_ended_days": self.retention_ended_days,
        }


class TrackLedger:
    """Everything kept about one track while it is live, and how it ended."""

    def __init__(self, track_id: int, first_seen: float, timeline_points: int, clip: ClipBuffer | None = None, clip_side: int = 0) -> None:
        """``clip``: the track's clip buffer (``PipelineConfig.clip_seconds``), and ``clip_side`` its frames' side in pixels."""
        self.track_id = track_id
        self.first_seen = first_seen
        self.last_seen = first_seen
        self.detections = 0
        self.best_shot = BestShot()
        self.timeline = QualityTimeline(timeline_points)
        self.failures: Counter[FailureReason] = Counter()
        self.clip = clip
        self.clip_side = clip_side
        self.chosen: Snapshot | None = None
        """The sealed snapshot, its pixels dropped."""
        self.snapshot_id: str | None = None
        self.discarded: str | None = None
        self.seal_error: str | None = None
        self.declined: str | None = None
        self.retention_ended_days: float | None = None
        self.first_frame: int | None = None

    @property
    def is_open(self) -> bool:
        """Not yet sealed, discarded, declined, past its retention, or given up on."""
        ended = (self.snapshot_id, self.discarded, self.seal_error, self.declined, self.retention_ended_days)
        return all(outcome is None for outcome in ended)

    def add(self, candidate: Candidate, failure: FailureReason | None) -> bool:
        """Count one face of the track; returns True when its crop became the track's best."""
        self.detections += 1
        self.first_frame = candidate.frame_index if self.first_frame is None else min(self.first_frame, candidate.frame_index)
        self.first_seen = min(self.first_seen, candidate.timestamp)
        self.last_seen = max(self.last_seen, candidate.timestamp)
        if failure is not None or not math.isnan(candidate.quality):  # NaN without a reason: a face not scored
            self.timeline.add(candidate.timestamp, candidate.quality)
        if failure is not None:
            self.failures[failure] += 1
        return self.best_shot.offer(candidate)

    def snapshot(self, camera_id: str, quality_method: str, started_at_utc: float, started_at_source: str | None = None) -> Snapshot | None:
        """The best crop with its metadata, ready to seal; None if the track never had a crop."""
        best = self.best_shot.best
        if best is None:
            return None
        return Snapshot(
            camera_id=camera_id,
            track_id=self.track_id,
            crop=best.crop,
            quality=best.quality,
            quality_method=quality_method,
            frame_index=best.frame_index,
            timestamp=best.timestamp,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            box=best.box,
            detections=self.detections,
            started_at_utc=started_at_utc,
            started_at_source=started_at_source,
        )

    def mark_sealed(self, snapshot: Snapshot, snapshot_id: str) -> None:
        self.chosen = dataclasses.replace(snapshot, crop=_NO_PIXELS)
        self.snapshot_id = snapshot_id
        self._release_pixels()

    def mark_discarded(self, reason: str) -> None:
        self.discarded = reason
        self._release_pixels()

    def mark_declined(self, reason: str) -> None:
        self.declined = reason
        self._release_pixels()

    def mark_retention_ended(self, retention_days: float) -> None:
        self.retention_ended_days = retention_days
        self._release_pixels()

    def mark_seal_failed(self, error: str) -> None:
        self.seal_error = error
        self._release_pixels()

    def _release_pixels(self) -> None:
        self.best_shot.release()
        if self.clip is not None:
            self.clip.release()

    def summary(self) -> TrackSummary:
        sealed = self.chosen
        return TrackSummary(
            track_id=self.track_id,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            detections=self.detections,
            chosen_frame=sealed.frame_index if sealed else None,
            chosen_timestamp=sealed.timestamp if sealed else None,
            chosen_quality=sealed.quality if sealed else None,
            chosen_quality_0_100=sealed.quality_0_100 if sealed else None,
            probably_not_usable=sealed.probably_not_usable if sealed else None,
            snapshot_id=self.snapshot_id,
            discarded=self.discarded,
            seal_error=self.seal_error,
            timeline=tuple(self.timeline.points),
            quality_failures={reason.value: count for reason, count in sorted(self.failures.items(), key=lambda item: item[0].value)},
            first_frame=self.first_frame,
            declined=self.declined,
            retention_ended_days=self.retention_ended_days,
        )
