"""Selection gain: does the crop a quality method picks from a track verify better than a random crop?

For every identity with at least ``min_images`` usable images, each image in turn
is the reference and the others form the "track". A method picks the track
image of highest quality (ties: the expectation over the tied best); the pick
matches when its similarity to the reference reaches the threshold (FMR = 1e-3
on the large impostor set). Reported per method: its match rate, the random
pick's (the mean over the track), and the oracle's (any track image matches).

Trials of one identity share images, so they are not independent: ``gain_intervals`` gives
bootstrap intervals that resample whole identities, for each method's gain and for its
difference to a baseline method's gain on the same resamples (paired).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

MIN_IMAGES = 6
BOOTSTRAP_RESAMPLES = 2000

# (track embeddings (n, d), track qualities (n,)) -> one embedding (d,)
Aggregator = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Trials:
    """Reference/track trials: ``reference[t]`` and ``track[t]`` (indices into an image list)."""

    reference: np.ndarray
    tracks: tuple[np.ndarray, ...]
    identity: np.ndarray | None = None
    """Per trial, the identity it belongs to (what ``gain_intervals`` resamples); None: each trial its own."""

    def __len__(self) -> int:
        return int(self.reference.shape[0])

    def clusters(self) -> np.ndarray:
        return np.arange(len(self)) if self.identity is None else np.asarray(self.identity)


def build_trials(labels: np.ndarray, usable: np.ndarray, min_images: int = MIN_IMAGES) -> Trials:
    usable_index = np.flatnonzero(usable)
    references, tracks, identities = [], [], []
    for label in np.unique(labels[usable_index]):
        members = usable_index[labels[usable_index] == label]
        if len(members) < min_images:
            continue
        for k, reference in enumerate(members):
            references.append(reference)
            tracks.append(np.delete(members, k))
            identities.append(label)
    return Trials(np.asarray(references, np.int64), tuple(tracks), np.asarray(identities))


@dataclass(frozen=True)
class SelectionResult:
    method: float
    random: float
    oracle: float
    trials: int

    @property
    def gain(self) -> float:
        """Share of the random-to-oracle gap the method closes (0 = random, 1 = oracle)."""
        gap = self.oracle - self.random
        return float((self.method - self.random) / gap) if gap > 0 else float("nan")

    def as_dict(self) -> dict[str, float]:
        return {"method": self.method, "random": self.random, "oracle": self.oracle, "gain": self.gain, "trials": self.trials}


def match_matrix(embeddings: np.ndarray, trials: Trials, threshold: float) -> list[np.ndarray]:
    """Per trial, whether each track image matches the reference."""
    return [embeddings[track] @ embeddings[reference] >= threshold for reference, track in zip(trials.reference, trials.tracks)]


@dataclass(frozen=True)
class TrialOutcomes:
    """Per trial: whether the method's pick matches (the expectation over a tie), a random pick's match
    rate, and whether any track image matches (the oracle)."""

    method: np.ndarray
    random: np.ndarray
    oracle: np.ndarray

    def result(self) -> SelectionResult:
        return SelectionResult(float(np.mean(self.method)), float(np.mean(self.random)), float(np.mean(self.oracle)), len(self.method))


def trial_outcomes(matches: list[np.ndarray], quality: np.ndarray, trials: Trials) -> TrialOutcomes:
    quality = np.where(np.isnan(quality), -np.inf, np.asarray(quality, np.float64))
    method, random, oracle = [], [], []
    for track, match in zip(trials.tracks, matches):
        q = quality[track]
        best = q == q.max()
        method.append(match[best].mean())
        random.append(match.mean())
        oracle.append(float(match.any()))
    return TrialOutcomes(np.asarray(method, np.float64), np.asarray(random, np.float64), np.asarray(oracle, np.float64))


def selection_gain(matches: list[np.ndarray], quality: np.ndarray, trials: Trials) -> SelectionResult:
    """Match rates of the method's pick, a random pick and the oracle pick, averaged over the trials."""
    return trial_outcomes(matches, quality, trials).result()


def gain_intervals(
    outcomes: Mapping[str, TrialOutcomes],
    clusters: np.ndarray,
    baseline: str | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, float]]:
    """Percentile bootstrap intervals, resampling clusters (identities) with replacement.

    Per method: ``gain_low``/``gain_high``; with ``baseline`` among ``outcomes``, also the paired
    difference ``minus_baseline`` (the point estimate) and ``minus_baseline_low``/``_high``, computed on
    the same resamples for both methods. Resamples whose oracle-to-random gap is 0 are left out.
    """
    names, inverse = np.unique(clusters, return_inverse=True)
    counts = np.random.default_rng(seed).multinomial(len(names), np.full(len(names), 1.0 / len(names)), size=resamples)
    tail = 100 * (1 - level) / 2

    def resampled_gain(outcome: TrialOutcomes) -> np.ndarray:
        # A ratio of means is a ratio of sums over the same resampled trials.
        method, random, oracle = (counts @ np.bincount(inverse, weights=values, minlength=len(names)) for values in (outcome.method, outcome.random, outcome.oracle))
        gap = oracle - random
        return np.where(gap > 0, (method - random) / np.where(gap > 0, gap, 1.0), np.nan)

    gains = {name: resampled_gain(outcome) for name, outcome in outcomes.items()}
    intervals: dict[str, dict[str, float]] = {}
    for name, outcome in outcomes.items():
        low, high = np.nanpercentile(gains[name], [tail, 100 - tail])
        intervals[name] = {"gain_low": float(low), "gain_high": float(high)}
        if baseline is not None and baseline in outcomes:
            low, high = np.nanpercentile(gains[name] - gains[baseline], [tail, 100 - tail])
            intervals[name] |= {
                "minus_baseline": outcome.result().gain - outcomes[baseline].result().gain,
                "minus_baseline_low": float(low),
                "minus_baseline_high": float(high),
            }
    return intervals


def aggregate_match_rate(
    embeddings: np.ndarray, quality: np.ndarray, trials: Trials, threshold: float, aggregate: Aggregator
) -> float:
    """Match rate of a quality-weighted aggregate of the whole track (EQFace) against the reference."""
    hits = []
    for reference, track in zip(trials.reference, trials.tracks):
        vector = np.asarray(aggregate(embeddings[track], quality[track]), np.float64)
        vector = vector / max(np.linalg.norm(vector), 1e-12)
        hits.append(float(vector @ embeddings[reference] >= threshold))
    return float(np.mean(hits))
