from __future__ import annotations

import numpy as np

from sealshot.ledger import QualityTimeline, TrackLedger
from sealshot.quality import FailureReason
from sealshot.select import Candidate


def test_a_long_tracks_timeline_is_capped_and_keeps_its_whole_span() -> None:
    timeline = QualityTimeline(limit=100)
    for k in range(10_000):
        timeline.add(k / 25, float(k))
    times = [t for t, _ in timeline.points]
    assert len(times) < 100 and times[0] == 0.0 and times[-1] > 0.95 * 9_999 / 25
    steps = np.diff(times)
    assert np.allclose(steps, steps[0])  # evenly spaced


def test_the_ledger_counts_failures_and_drops_the_pixels_once_sealed() -> None:
    ledger = TrackLedger(4, 0.0, timeline_points=50)
    crop = np.ones((6, 6, 3), np.uint8)
    reasons = [FailureReason.NOT_FINITE, None, FailureReason.NOT_FINITE, FailureReason.METHOD_FAILED]
    for frame, (quality, reason) in enumerate(zip([float("nan"), 0.7, float("nan"), float("nan")], reasons)):
        ledger.add(Candidate(crop, quality, frame, frame / 10, (0, 0, 6, 6)), reason)
    snapshot = ledger.snapshot("cam", "size", 1000.0)
    assert snapshot is not None and snapshot.frame_index == 1 and snapshot.detections == 4 and snapshot.last_seen == 0.3
    ledger.mark_sealed(snapshot, "abc")
    assert ledger.best_shot.best is None and not ledger.is_open
    summary = ledger.summary()
    assert summary.quality_failures == {"method_failed": 1, "not_finite": 2}
    assert (summary.chosen_frame, summary.chosen_quality, summary.snapshot_id) == (1, 0.7, "abc")
    assert len(summary.timeline) == 4


def test_a_face_not_scored_counts_as_a_detection_but_is_no_failure_and_no_timeline_point() -> None:
    ledger = TrackLedger(5, 0.0, timeline_points=50)
    crop = np.ones((6, 6, 3), np.uint8)
    for frame, quality in enumerate([float("nan"), 0.4, float("nan"), 0.9, float("nan")]):
        ledger.add(Candidate(crop, quality, frame, frame / 10, (0, 0, 6, 6)), None)
    summary = ledger.summary()
    assert summary.detections == 5 and summary.quality_failures == {}
    assert [q for _, q in summary.timeline] == [0.4, 0.9]
    assert ledger.best_shot.best is not None and ledger.best_shot.best.frame_index == 3
