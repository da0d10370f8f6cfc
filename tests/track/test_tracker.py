from __future__ import annotations

import numpy as np

from sealshot.detect.types import Detections
from sealshot.track import FaceTracker, TrackerConfig
from sealshot.track.appearance import REGION_SIZE
from sealshot.track.tracker import iou_matrix


def _detections(*boxes: tuple[float, float, float, float]) -> Detections:
    array = np.array(boxes, np.float32).reshape(-1, 4)
    return Detections(array, np.ones(len(array), np.float32), np.zeros((len(array), 5, 2), np.float32))


def test_two_crossing_walkers_keep_their_ids() -> None:
    tracker = FaceTracker()
    ids_a, ids_b = [], []
    for step in range(30):
        t = step / 25
        a = (100 + 10 * step, 100, 140 + 10 * step, 140)
        b = (400 - 10 * step, 110, 440 - 10 * step, 150)
        tracked = tracker.update(_detections(a, b), t).tracked
        assert len(tracked) == 2 and tracked.detections.boxes[0][0] == a[0]
        ids_a.append(int(tracked.tracker_id[0]))
        ids_b.append(int(tracked.tracker_id[1]))
    assert len(set(ids_a)) == 1 and len(set(ids_b)) == 1 and ids_a[0] != ids_b[0]


def test_a_track_survives_a_short_gap_and_ends_after_max_unseen() -> None:
    tracker = FaceTracker(TrackerConfig(max_unseen_s=0.5))
    first = tracker.update(_detections((0, 0, 50, 50)), 0.0).tracked.tracker_id[0]
    tracker.update(_detections((10, 0, 60, 50)), 0.04)
    # Occluded for 0.3 s while moving on at constant velocity.
    for k in range(1, 8):
        assert tracker.update(_detections(), 0.04 + 0.04 * k).ended == []
    again = tracker.update(_detections((90, 0, 140, 50)), 0.36).tracked.tracker_id[0]
    assert again == first
    ended = tracker.update(_detections(), 0.9).ended
    assert [t.track_id for t in ended] == [first]
    assert tracker.tracks == {} and len(tracker) == 0


def test_a_face_seen_once_is_found_again_further_on_if_it_looks_the_same() -> None:
    """A fast walker in profile, found in frames 0 and 4 only (the arcade clip's person 7): 1.1 box sizes apart.
    A track seen once has no velocity, so its gate widens from the first miss; one with a velocity does not
    (its prediction already moves), and another look still starts a new track."""
    look, other_look = np.zeros((1, 2 * REGION_SIZE)), np.zeros((1, 2 * REGION_SIZE))
    look[0, [0, REGION_SIZE]] = 1.0  # each region's histogram sums to 1
    other_look[0, [1, REGION_SIZE + 1]] = 1.0

    def second_sighting(first_look: np.ndarray, second_look: np.ndarray, earlier: int = 0) -> bool:
        tracker = FaceTracker()
        box = np.array([1443.0, 498.0, 1532.0, 624.0])
        for k in range(earlier):  # standing still before: a velocity of 0
            tracker.update(_detections(tuple(box)), k / 25, first_look)
        first = tracker.update(_detections(tuple(box)), earlier / 25, first_look).tracked.tracker_id[0]
        for k in range(1, 4):
            tracker.update(_detections(), (earlier + k) / 25, first_look[:0])
        return bool(tracker.update(_detections(tuple(box + [142, 24, 142, 24])), (earlier + 4) / 25, second_look).tracked.tracker_id[0] == first)

    assert second_sighting(look, look)
    assert not second_sighting(look, other_look)
    assert not second_sighting(look, look, earlier=5)


def test_distant_detection_starts_a_new_track() -> None:
    tracker = FaceTracker()
    first = tracker.update(_detections((0, 0, 40, 40)), 0.0).tracked.tracker_id[0]
    second = tracker.update(_detections((500, 500, 540, 540)), 0.04).tracked.tracker_id[0]
    assert first != second


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10]], np.float64)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float64)
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 1 / 3, 0.0]])


def test_false_alarms_are_named() -> None:
    tracker = FaceTracker(TrackerConfig(min_detections=2, min_peak_score=0.95))
    weak = Detections(np.array([[0, 0, 40, 40]], np.float32), np.array([0.8], np.float32), np.zeros((1, 5, 2), np.float32))
    strong = Detections(np.array([[200, 0, 240, 40]], np.float32), np.array([0.99], np.float32), np.zeros((1, 5, 2), np.float32))
    for k in range(3):
        tracker.update(Detections(np.r_[weak.boxes, strong.boxes], np.r_[weak.scores, strong.scores], np.zeros((2, 5, 2), np.float32)), k / 25)
    tracker.update(_detections((500, 500, 540, 540)), 4 / 25)
    reasons = {t.track_id: tracker.is_false_alarm(t) for t in tracker.finish()}
    assert reasons == {1: "detector score never reached 0.95", 2: None, 3: "fewer than 2 detections"}


def test_a_face_coming_out_from_behind_someone_may_score_low_for_a_few_frames_without_starting_a_new_track() -> None:
    """Two people crossing (bench/tracking.py's sweep): the rear face, back after 9 frames behind the other, was half
    hidden for two more frames (quality -0.48, then -0.8, against a mean of 0.05). The quality-collapse test refused
    the second, so the person started a second track and was sealed twice. A track followed without a break still
    refuses such a collapse where the colours are not clearly the same."""
    one_colour, two_colours, other_two = (np.zeros((1, 2 * REGION_SIZE)) for _ in range(3))
    one_colour[0, [0, REGION_SIZE]] = 1.0
    two_colours[0, [0, 1, REGION_SIZE]] = 0.5, 0.5, 1.0  # 0.54 from one_colour (Hellinger): "not clearly the same"
    other_two[0, [0, 2, REGION_SIZE]] = 0.5, 0.5, 1.0

    def stays_on_its_track(hidden_frames: int) -> bool:
        tracker = FaceTracker()
        frame = 0

        def seen(look: np.ndarray, quality: float) -> int:
            box = (100 + 8 * frame, 100, 172 + 8 * frame, 195)
            return int(tracker.update(_detections(box), frame / 25, look, np.array([quality])).tracked.tracker_id[0])

        first = 0
        for step in range(20):
            first = seen(one_colour, 0.1 * (step % 2))
            frame += 1
        for _ in range(hidden_frames):
            tracker.update(_detections(), frame / 25, one_colour[:0], np.zeros(0))
            frame += 1
        if hidden_frames:
            assert seen(two_colours, -0.48) == first  # back from behind: not tested for a collapse
            frame += 1
        return seen(other_two if hidden_frames else two_colours, -0.8) == first

    assert stays_on_its_track(hidden_frames=9)
    assert not stays_on_its_track(hidden_frames=0)
