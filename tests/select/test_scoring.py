"""The scoring schedule: new tracks at once, then every N frames, and densely while a track's best keeps improving."""

from __future__ import annotations

import numpy as np

from sealshot.select.scoring import ScoringSchedule

FACE = np.array([[100.0, 100.0, 150.0, 150.0]])
ELSEWHERE = np.array([[400.0, 100.0, 450.0, 150.0]])


def test_every_face_is_scored_with_a_period_of_one() -> None:
    schedule = ScoringSchedule(1)
    schedule.record(1, 5, False)
    assert schedule.wanted(FACE, [1], FACE, 6).tolist() == [True]


def test_a_tracked_face_is_scored_every_n_frames_and_a_new_face_at_once() -> None:
    schedule = ScoringSchedule(3)
    assert schedule.wanted(FACE, [], np.zeros((0, 4)), 1).tolist() == [True]  # no track yet
    assert schedule.wanted(FACE, [7], FACE, 1).tolist() == [True]  # a track never scored
    schedule.record(7, 1, False)
    both = np.r_[FACE, ELSEWHERE]
    assert schedule.wanted(both, [7], FACE, 2).tolist() == [False, True]  # the other face belongs to no track
    assert schedule.wanted(FACE, [7], FACE, 3).tolist() == [False]
    assert schedule.wanted(FACE, [7], FACE, 4).tolist() == [True]


def test_a_face_that_became_its_tracks_best_is_followed_by_another_score() -> None:
    schedule = ScoringSchedule(4)
    schedule.record(2, 10, True)
    assert schedule.wanted(FACE, [2], FACE + 3, 11).tolist() == [True]
    schedule.record(2, 11, False)
    assert schedule.wanted(FACE, [2], FACE, 12).tolist() == [False]


def test_ended_tracks_are_forgotten() -> None:
    schedule = ScoringSchedule(3)
    schedule.record(1, 1, False)
    schedule.record(2, 1, False)
    schedule.keep_only([2])
    assert schedule.wanted(FACE, [1], FACE, 2).tolist() == [True]  # track 1 is unknown again
    assert schedule.wanted(FACE, [2], FACE, 2).tolist() == [False]
