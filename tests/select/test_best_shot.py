from __future__ import annotations

import math

import numpy as np

from sealshot.select import BestShotSelector, Candidate


def _candidate(quality: float, frame: int) -> Candidate:
    return Candidate(np.full((4, 4, 3), frame % 256, np.uint8), quality, frame, frame / 25, (0, 0, 4, 4))


def test_keeps_only_the_best_crop_and_emits_it() -> None:
    selector = BestShotSelector("cam", "size", started_at_utc=1000.0)
    for frame, quality in enumerate([0.2, 0.9, 0.5, 0.9]):
        selector.offer(7, _candidate(quality, frame))
    snapshot = selector.emit(7)
    assert snapshot is not None
    assert snapshot.quality == 0.9 and snapshot.frame_index == 1  # ties keep the earlier crop
    assert snapshot.crop[0, 0, 0] == 1
    assert snapshot.detections == 4 and snapshot.first_seen == 0 and snapshot.last_seen == 3 / 25
    assert snapshot.metadata()["seen_at_utc"] == 1000.0 + 1 / 25
    assert "crop" not in snapshot.metadata()
    assert selector.emit(7) is None


def test_a_person_with_only_poor_crops_still_gets_one() -> None:
    selector = BestShotSelector("cam", "vae", 0.0)
    selector.offer(1, _candidate(float("nan"), 0))
    selector.offer(1, _candidate(-9000.0, 1))
    selector.offer(1, _candidate(float("nan"), 2))
    snapshot = selector.emit(1)
    assert snapshot is not None and snapshot.frame_index == 1


def test_all_failures_to_assess_still_give_a_snapshot() -> None:
    selector = BestShotSelector("cam", "vae", 0.0)
    selector.offer(3, _candidate(float("nan"), 5))
    snapshot = selector.emit(3)
    assert snapshot is not None and math.isnan(snapshot.quality)


def test_memory_is_one_crop_per_track() -> None:
    selector = BestShotSelector("cam", "size", 0.0)
    for frame in range(1000):
        selector.offer(frame % 3, _candidate(float(frame % 17), frame))
    assert len(selector) == 3
    assert all(isinstance(selector._tracks[t].best, Candidate) for t in range(3))
