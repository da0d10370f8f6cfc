"""Selection gain: does the crop a quality method picks from a track verify better than a random crop?

For every identity with at least ``min_images`` usable images, each image in turn
is the reference and the others form the "track". A method picks the track
image of highest quality (ties: the expectation over the tied best); the pick
matches when its similarity to the reference reaches the threshold (FMR = 1e-3
on the large impostor set). Reported per method: its match rate, the random
pick's (the mean over the track), and the oracle's (any track image matches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

MIN_IMAGES = 6

# (track embeddings (n, d), track qualities (n,)) -> one embedding (d,)
Aggregator = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Trials:
    """Reference/track trials: ``reference[t]`` and ``track[t]`` (indices into an image list)."""

    reference: np.ndarray
    tracks: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return int(self.reference.shape[0])


def build_trials(labels: np.ndarray, usable: np.ndarray, min_images: int = MIN_IMAGES) -> Trials:
    usable_index = np.flatnonzero(usable)
    references, tracks = [], []
    for label in np.unique(labels[usable_index]):
        members = usable_index[labels[usable_index] == label]
        if len(members) < min_images:
            continue
        for k, reference in enumerate(members):
            references.append(reference)
            tracks.append(np.delete(members, k))
    return Trials(np.asarray(references, np.int64), tuple(tracks))


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


def selection_gain(matches: list[np.ndarray], quality: np.ndarray, trials: Trials) -> SelectionResult:
    """Match rates of the method's pick, a random pick and the oracle pick, averaged over the trials."""
    quality = np.where(np.isnan(quality), -np.inf, np.asarray(quality, np.float64))
    method, random, oracle = [], [], []
    for track, match in zip(trials.tracks, matches):
        q = quality[track]
        best = q == q.max()
        method.append(match[best].mean())
        random.append(match.mean())
        oracle.append(float(match.any()))
    return SelectionResult(float(np.mean(method)), float(np.mean(random)), float(np.mean(oracle)), len(trials))


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
