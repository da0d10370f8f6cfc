"""Detections started ahead: the same as detecting when needed, taken once, stale ones dropped."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from sealshot.detect import MTCNNConfig, MTCNNDetector
from sealshot.detect.ahead import THREAD_NAME, DetectionsAhead
from sealshot.detect.lanes import Lanes
from sealshot.video import open_source


def test_a_detection_started_ahead_equals_one_run_when_needed_and_runs_on_its_own_thread(sample_clip: Path) -> None:
    frames = [frame.image for frame, _ in zip(open_source(sample_clip), range(3))]
    detector = MTCNNDetector(MTCNNConfig(min_face_size=40, detect_max_side=640), lanes=Lanes(2))
    ahead = DetectionsAhead(detector)
    try:
        for key, image in enumerate(frames):
            ahead.start(key, image)
        assert ahead.is_started(2) and any(thread.name.startswith(THREAD_NAME) for thread in threading.enumerate())
        assert ahead.take(7) is None  # never started
        assert not ahead.is_started(2)  # dropped: its frame was passed
        ahead.start(1, frames[1])
        taken = ahead.take(1)
        assert taken is not None and ahead.take(1) is None  # taken once
        expected = detector.detect([frames[1]])[0]
        assert len(taken) == len(expected) > 0
        np.testing.assert_array_equal(taken.boxes, expected.boxes)
        np.testing.assert_array_equal(taken.landmarks, expected.landmarks)
    finally:
        ahead.close()
        detector.lanes.close()


def test_on_lanes_shares_the_networks_and_leaves_the_original_alone() -> None:
    detector = MTCNNDetector()
    other = detector.on_lanes(Lanes(3))
    assert other.pnet is detector.pnet and other.config is detector.config
    assert other.lanes.count == 3 and detector.lanes.count == 1
