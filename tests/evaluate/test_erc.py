"""ERC metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sealshot.evaluate.erc import (
    ComparisonScores,
    Protocol,
    erc_fixed_fmr,
    erc_fixed_threshold,
    pair_quality,
    perfect_curve,
    random_image_quality,
    threshold_at_fmr,
    threshold_at_fnmr,
)

# Ten genuine comparisons 0.1 … 1.0; at the threshold 0.3 the two lowest (0.1, 0.2) are false non-matches.
GENUINE = np.round(np.arange(1, 11) / 10, 2)
GRID = np.array([0.0, 0.1, 0.2, 0.3])


def genuine_only() -> ComparisonScores:
    return ComparisonScores(GENUINE, np.ones(10, bool))


def test_threshold_at_fnmr_leaves_that_share_below() -> None:
    assert threshold_at_fnmr(GENUINE, 0.2) == pytest.approx(0.3)
    assert (GENUINE < threshold_at_fnmr(GENUINE, 0.2)).mean() == pytest.approx(0.2)


def test_threshold_at_fmr_accepts_at_most_that_share() -> None:
    impostors = np.arange(1000) / 1000
    threshold = threshold_at_fmr(impostors, 0.01)
    assert (impostors >= threshold).sum() == 10
    assert 0.989 < threshold <= 0.990


def test_perfect_quality_removes_errors_first() -> None:
    curve = erc_fixed_threshold(genuine_only(), quality=GENUINE, initial_fnmr=0.2, grid=GRID)
    # r = 0.1 rejects the 0.1 comparison: one error left among nine.
    assert curve.fnmr.tolist() == pytest.approx([0.2, 1 / 9, 0.0, 0.0])
    assert curve.fnmr == pytest.approx(perfect_curve(genuine_only(), Protocol("fixed-threshold", 0.2), GRID).fnmr)


def test_reversed_quality_removes_good_comparisons_first() -> None:
    curve = erc_fixed_threshold(genuine_only(), quality=-GENUINE, initial_fnmr=0.2, grid=GRID)
    assert curve.fnmr.tolist() == pytest.approx([2 / 10, 2 / 9, 2 / 8, 2 / 7])


def test_constant_quality_is_flat_whatever_the_order() -> None:
    curve = erc_fixed_threshold(genuine_only(), quality=np.ones(10), initial_fnmr=0.2, grid=GRID)
    assert curve.fnmr.tolist() == pytest.approx([0.2] * 4)
    assert curve.pauc(0.2) == pytest.approx(1.0)


def test_partial_tie_is_split_in_proportion() -> None:
    # The error 0.1 and the good 0.9 share the lowest quality; rejecting one comparison rejects
    # half of each in expectation, leaving 1.5 errors (0.5 of 0.1, all of 0.2) among 9 kept.
    quality = np.ones(10)
    quality[[0, 8]] = 0.0
    curve = erc_fixed_threshold(genuine_only(), quality=quality, initial_fnmr=0.2, grid=np.array([0.0, 0.1, 0.2]))
    assert curve.fnmr.tolist() == pytest.approx([0.2, 1.5 / 9, 1 / 8])


def test_pauc_normalisation_by_hand() -> None:
    # PERFECT with FNMR(0) = 0.2: ∫0^0.2 (0.2 − r)/(1 − r) dr = 0.2 + 0.8·ln 0.8, divided by 0.2 × 0.2.
    curve = erc_fixed_threshold(genuine_only(), quality=GENUINE, initial_fnmr=0.2, grid=np.linspace(0, 0.4, 801))
    assert curve.pauc(0.2) == pytest.approx((0.2 + 0.8 * math.log(0.8)) / 0.04, abs=1e-3)
    assert curve.at(0.05) == pytest.approx(0.15 / 0.95)


def test_pair_quality_is_the_lower_and_nan_is_lowest() -> None:
    q = pair_quality(np.array([0.5, np.nan, 0.2]), np.array([0.3, 0.9, 0.7]))
    assert q[0] == 0.3 and q[1] == -np.inf and q[2] == 0.2


def test_random_quality_stays_near_no_rejection_and_perfect_is_below() -> None:
    rng = np.random.default_rng(1)
    genuine = np.r_[rng.normal(0.7, 0.1, 20_000), rng.normal(0.1, 0.1, 200_000)]
    labels = np.r_[np.ones(20_000, bool), np.zeros(200_000, bool)]
    comparisons = ComparisonScores(genuine, labels)
    random = erc_fixed_fmr(comparisons, random_image_quality(len(labels), seed=3))
    assert random.pauc(0.2) == pytest.approx(1.0, abs=0.05)
    assert perfect_curve(comparisons).pauc(0.2) < 0.5


def test_fixed_fmr_rethresholds_on_remaining_impostors() -> None:
    # High-scoring impostors have low quality: rejecting them lowers the re-set threshold.
    genuine_scores = np.linspace(0.5, 0.9, 100)
    impostor_scores = np.linspace(0.0, 0.8, 1000)
    scores = np.r_[genuine_scores, impostor_scores]
    labels = np.r_[np.ones(100, bool), np.zeros(1000, bool)]
    quality = np.r_[np.arange(100) / 100, 0.25 * (1 - impostor_scores / 0.8)]
    curve = erc_fixed_fmr(ComparisonScores(scores, labels), quality, fmr=0.01, grid=np.array([0.0, 0.2]))
    assert curve.thresholds[0] == pytest.approx(0.792, abs=1e-3)
    assert curve.fnmr[0] == pytest.approx(0.73, abs=0.011)
    # r = 0.2 cuts at quality 0.19: impostors scoring above 0.8 × (1 − 0.19 / 0.25) = 0.192 go.
    assert curve.thresholds[1] == pytest.approx(0.19, abs=3e-3)  # FMR 1 % of the ~240 left
    assert curve.fnmr[1] == 0.0


def _identity_like_comparisons(seed: int) -> tuple[ComparisonScores, np.ndarray, np.ndarray, np.ndarray]:
    """Images of 400 people whose per-image "goodness" drives their genuine similarities, all pairs compared."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(400), 5)
    goodness = rng.random(len(labels))
    a, b = np.triu_indices(len(labels), k=1)
    keep = (labels[a] == labels[b]) | (rng.random(len(a)) < 0.1)
    a, b = a[keep], b[keep]
    genuine = labels[a] == labels[b]
    scores = np.where(genuine, 0.3 + 0.5 * np.minimum(goodness[a], goodness[b]), 0.0) + rng.normal(0, 0.1, len(a))
    return ComparisonScores(scores, genuine), goodness, a, b


@pytest.mark.parametrize("seed", [0, 1])
def test_perfect_is_never_beaten_under_any_protocol(seed: int) -> None:
    comparisons, goodness, a, b = _identity_like_comparisons(seed)
    rng = np.random.default_rng(seed + 10)
    image_qualities = {
        "informed": goodness,
        "noisy": goodness + rng.normal(0, 0.3, len(goodness)),
        "reversed": -goodness,
        "random": random_image_quality(len(goodness), seed),
        "constant": np.ones(len(goodness)),
    }
    for protocol in (Protocol("fixed-threshold", 0.01), Protocol("fixed-threshold", 0.001), Protocol("fixed-fmr", 1e-3)):
        perfect = perfect_curve(comparisons, protocol)
        for name, quality in image_qualities.items():
            curve = protocol.curve(comparisons, pair_quality(quality[a], quality[b]))
            assert (curve.fnmr >= perfect.fnmr - 1e-12).all(), (protocol.key, name)
            assert curve.pauc(0.2) >= perfect.pauc(0.2)


def test_perfect_re_sets_its_threshold_under_fixed_fmr() -> None:
    comparisons, *_ = _identity_like_comparisons(0)
    curve = perfect_curve(comparisons, Protocol("fixed-fmr", 1e-3))
    # Rejecting the highest impostors lowers the threshold, exactly as for a method.
    assert curve.thresholds[-1] < curve.thresholds[0]
    assert curve.fnmr[0] == pytest.approx(erc_fixed_fmr(comparisons, np.ones(len(comparisons.scores))).fnmr[0])
