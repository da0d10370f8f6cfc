"""Selection gain and 10-fold verification accuracy on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from sealshot.evaluate.lfw import Comparisons, ImageSet, large_comparisons
from sealshot.evaluate.selection import TrialOutcomes, Trials, aggregate_match_rate, build_trials, gain_intervals, selection_gain
from sealshot.evaluate.verification import best_threshold, ten_fold_accuracy


def test_selection_rates_by_hand() -> None:
    trials = Trials(np.array([0, 4]), (np.array([1, 2, 3]), np.array([5, 6, 7])))
    matches = [np.array([True, False, False]), np.array([False, False, False])]
    quality = np.array([0, 0.9, 0.1, 0.2, 0, 0.5, 0.5, 0.1])
    result = selection_gain(matches, quality, trials)
    assert result.method == pytest.approx((1 + 0) / 2)
    assert result.random == pytest.approx((1 / 3 + 0) / 2)
    assert result.oracle == pytest.approx(0.5)
    assert result.gain == pytest.approx(1.0)
    # Reversed quality picks a non-matching image; a tie at the top counts as the expectation.
    worst = selection_gain(matches, -quality, trials)
    assert worst.method == 0.0
    tied = selection_gain(matches, np.array([0, 1, 1, 0, 0, 0, 0, 0.0]), trials)
    assert tied.method == pytest.approx(0.25)


def test_build_trials_leaves_one_out() -> None:
    labels = np.array([0] * 6 + [1] * 5 + [2] * 7)
    usable = np.ones(len(labels), bool)
    usable[17] = False  # identity 2 drops to 6 usable images
    trials = build_trials(labels, usable)
    assert len(trials) == 12
    assert all(len(t) == 5 and r not in t for r, t in zip(trials.reference, trials.tracks))


def test_aggregate_of_identical_embeddings_matches() -> None:
    embeddings = np.eye(4, dtype=np.float32)[[0, 0, 0, 1]]
    trials = Trials(np.array([0]), (np.array([1, 2, 3]),))
    mean = lambda e, q: (q[:, None] * e).sum(0)  # noqa: E731
    assert aggregate_match_rate(embeddings, np.array([1, 1, 1, 0.0]), trials, 0.99, mean) == 1.0
    assert aggregate_match_rate(embeddings, np.array([1, 0, 0, 1.0]), trials, 0.99, mean) == 0.0


def test_ten_fold_accuracy_separable_and_best_threshold() -> None:
    rng = np.random.default_rng(0)
    genuine = np.tile(np.r_[np.ones(30, bool), np.zeros(30, bool)], 10)
    scores = np.where(genuine, rng.uniform(0.6, 1.0, genuine.size), rng.uniform(-0.2, 0.4, genuine.size))
    folds = np.repeat(np.arange(10), 60)
    assert ten_fold_accuracy(scores, genuine, folds).accuracy == 1.0
    threshold = best_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([False, False, True, True]))
    assert 0.2 < threshold <= 0.8
    flipped = ten_fold_accuracy(-scores, genuine, folds)
    assert flipped.accuracy <= 0.55


def test_large_comparisons_are_capped_distinct_and_seeded() -> None:
    labels = np.repeat(np.arange(20), np.r_[30, np.full(19, 3)])
    images = ImageSet(tuple(str(i) for i in range(len(labels))), labels)  # type: ignore[arg-type]
    pairs = large_comparisons(images, genuine_cap=10, impostors=1000, seed=1)
    genuine = pairs.genuine
    assert genuine.sum() == 10 + 19 * 3
    assert (labels[pairs.a[genuine]] == labels[pairs.b[genuine]]).all()
    assert (labels[pairs.a[~genuine]] != labels[pairs.b[~genuine]]).all()
    keys = set(zip(pairs.a[~genuine].tolist(), pairs.b[~genuine].tolist()))
    assert len(keys) == 1000
    again = large_comparisons(images, genuine_cap=10, impostors=1000, seed=1)
    assert isinstance(again, Comparisons) and (again.a == pairs.a).all() and (again.b == pairs.b).all()


def test_large_comparisons_of_a_small_pool_take_every_impostor_pair() -> None:
    labels = np.array([0, 0, 1, 1, 2])
    images = ImageSet(tuple(str(i) for i in range(5)), labels)  # type: ignore[arg-type]
    pairs = large_comparisons(images, impostors=1_000)
    assert (~pairs.genuine).sum() == 8 and pairs.genuine.sum() == 2


def test_gain_intervals_resample_identities_and_pair_the_difference() -> None:
    rng = np.random.default_rng(1)
    identities = np.repeat(np.arange(40), 6)
    random = rng.uniform(0.3, 0.7, len(identities))
    oracle = np.ones(len(identities))
    good = TrialOutcomes((rng.random(len(identities)) < 0.9).astype(float), random, oracle)
    same = TrialOutcomes(good.method.copy(), random, oracle)
    poor = TrialOutcomes((rng.random(len(identities)) < 0.2).astype(float), random, oracle)
    intervals = gain_intervals({"good": good, "same": same, "poor": poor}, identities, baseline="same", resamples=500, seed=3)
    for name, outcome in (("good", good), ("poor", poor)):
        assert intervals[name]["gain_low"] < outcome.result().gain < intervals[name]["gain_high"]
    # Identical outcomes differ by exactly 0 on every resample; a clearly worse method's interval excludes 0.
    assert intervals["good"]["minus_baseline_low"] == intervals["good"]["minus_baseline_high"] == 0.0
    assert intervals["poor"]["minus_baseline_high"] < 0
    assert intervals == gain_intervals({"good": good, "same": same, "poor": poor}, identities, baseline="same", resamples=500, seed=3)


def test_build_trials_records_each_trials_identity() -> None:
    labels = np.array([3] * 6 + [8] * 7)
    trials = build_trials(labels, np.ones(len(labels), bool))
    assert trials.clusters().tolist() == [3] * 6 + [8] * 7
    assert selection_gain([np.ones(len(track), bool) for track in trials.tracks], np.zeros(len(labels)), trials).method == 1.0
