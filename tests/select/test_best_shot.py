from __future__ import annotations

import math

import numpy as np

from sealshot.select import BestShot, Candidate, Snapshot


def _candidate(quality: float, frame: int) -> Candidate:
    return Candidate(np.full((4, 4, 3), frame % 256, np.uint8), quality, frame, frame / 25, (0, 0, 4, 4))


def _best_of(*qualities: float) -> tuple[BestShot, list[bool]]:
    best = BestShot()
    return best, [best.offer(_candidate(quality, frame)) for frame, quality in enumerate(qualities)]


def test_keeps_only_the_best_crop_and_ties_keep_the_earlier() -> None:
    best, became_best = _best_of(0.2, 0.9, 0.5, 0.9)
    assert became_best == [True, True, False, False]
    assert best.best is not None and best.best.quality == 0.9 and best.best.frame_index == 1
    assert best.best.crop[0, 0, 0] == 1
    best.release()
    assert best.best is None


def test_a_person_with_only_poor_crops_still_gets_one() -> None:
    best, _ = _best_of(float("nan"), -9000.0, float("nan"))
    assert best.best is not None and best.best.frame_index == 1


def test_all_failures_to_assess_still_give_a_crop() -> None:
    best, became_best = _best_of(float("nan"), float("nan"))
    assert became_best == [True, False]
    assert best.best is not None and best.best.frame_index == 0 and math.isnan(best.best.quality)


def test_memory_is_one_crop_per_track() -> None:
    best = BestShot()
    for frame in range(1000):
        best.offer(_candidate(float(frame % 17), frame))
    assert isinstance(best.best, Candidate) and best.best.quality == 16 and best.best.frame_index == 16
    assert [name for name, value in vars(best).items() if isinstance(value, (Candidate, list, dict))] == ["best"]


def test_snapshot_metadata_has_times_and_no_pixels() -> None:
    crop = np.zeros((8, 8, 3), np.uint8)
    snapshot = Snapshot("cam", 7, crop, 0.9, "size", 1, 1 / 25, 0.0, 3 / 25, (0, 0, 8, 8), 4, started_at_utc=1000.0)
    metadata = snapshot.metadata()
    assert metadata["seen_at_utc"] == 1000.0 + 1 / 25 and metadata["last_seen_utc"] == 1000.0 + 3 / 25
    assert "crop" not in metadata and metadata["crop_shape"] == [8, 8, 3]
