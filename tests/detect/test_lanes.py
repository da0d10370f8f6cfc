"""Lanes: one frame's work shared between threads gives the same results as one thread, on as many threads as asked."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sealshot.detect import MTCNNConfig, MTCNNDetector
from sealshot.detect.lanes import Lanes, split_by_weight, split_evenly
from sealshot.video import open_source


def _lane_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("sealshot-lane")]


def test_map_keeps_the_order_and_runs_on_the_asked_number_of_threads() -> None:
    lanes = Lanes(3)
    seen: set[str] = set()

    def work(part: int) -> int:
        seen.add(threading.current_thread().name)
        return part * part

    before = len(_lane_threads())
    try:
        assert lanes.map(work, list(range(7))) == [k * k for k in range(7)]
        assert len(_lane_threads()) - before == 2  # the caller's thread is the third lane
        assert threading.current_thread().name in seen and len(seen) <= 3
    finally:
        lanes.close()
    single = Lanes(1)
    assert single.map(work, [1, 2]) == [1, 4]
    assert len(_lane_threads()) - before <= 2  # one lane starts no thread (closed workers end on their own)


def test_a_failure_in_a_lane_is_raised_to_the_caller() -> None:
    lanes = Lanes(2)

    def work(part: int) -> int:
        if part == 1:
            raise ValueError("lane failed")
        return part

    try:
        with pytest.raises(ValueError, match="lane failed"):
            lanes.map(work, [0, 1])
        assert lanes.map(work, [0, 2]) == [0, 2]  # the lane still works afterwards
    finally:
        lanes.close()


def test_close_ends_the_workers_before_it_returns() -> None:
    """A worker still ending at interpreter shutdown frees its last job's objects without the GIL: with a PyTorch
    tensor among them the process aborted after the tests had passed (exit 134). ``close`` now waits for them."""
    import torch

    lanes = Lanes(3, name="sealshot-lane-closing")
    assert len(lanes.map(lambda n: torch.ones(n, n) @ torch.ones(n, n), [8, 8, 8])) == 3
    lanes.close()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("sealshot-lane-closing")]
    assert lanes.map(lambda part: part + 1, [1, 2]) == [2, 3]  # closed lanes start new workers when used again
    lanes.close()


def test_splits() -> None:
    assert [chunk.tolist() for chunk in split_evenly(5, 2)] == [[0, 1, 2], [3, 4]]
    assert split_evenly(1, 4)[0].tolist() == [0] and len(split_evenly(1, 4)) == 1
    assert split_evenly(0, 2) == []
    # P-Net's pyramid: the largest level weighs about as much as all the others together.
    weights = [0.503**k for k in range(10)]
    groups = split_by_weight(weights, 2)
    assert sorted(k for group in groups for k in group) == list(range(10))
    totals = [sum(weights[k] for k in group) for group in groups]
    assert max(totals) / sum(weights) < 0.6


def test_a_full_detection_on_two_lanes_is_the_same_as_on_one(sample_clip) -> None:
    frames = [frame.image for frame, _ in zip(open_source(sample_clip), range(3))]
    config = MTCNNConfig()
    lanes = Lanes(2)
    try:
        one, two = MTCNNDetector(config), MTCNNDetector(config, lanes=lanes)
        for frame in frames:
            alone, shared = one.detect([frame])[0], two.detect([frame])[0]
            assert len(alone) > 0
            np.testing.assert_array_equal(alone.boxes, shared.boxes)
            np.testing.assert_array_equal(alone.scores, shared.scores)
            np.testing.assert_array_equal(alone.landmarks, shared.landmarks)
            refined_alone, refined_shared = one.refine(frame, alone.boxes), two.refine(frame, alone.boxes)
            np.testing.assert_array_equal(refined_alone.boxes, refined_shared.boxes)
    finally:
        lanes.close()
