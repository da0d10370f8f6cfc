"""LFW View 2 verification accuracy: 10-fold cross-validation of a similarity threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def best_threshold(scores: np.ndarray, genuine: np.ndarray) -> float:
    """The threshold (accept when ``score >= threshold``) maximising accuracy, midway between neighbouring scores."""
    order = np.argsort(scores, kind="stable")
    sorted_scores, sorted_genuine = scores[order], genuine[order]
    # Threshold just above sorted position k rejects the first k+1 comparisons.
    rejected_impostors = np.cumsum(~sorted_genuine)
    accepted_genuine = genuine.sum() - np.cumsum(sorted_genuine)
    correct = np.r_[genuine.sum(), rejected_impostors + accepted_genuine]  # index 0: accept everything
    candidates = np.r_[sorted_scores[0] - 1e-6, (sorted_scores + np.r_[sorted_scores[1:], sorted_scores[-1] + 2e-6]) / 2]
    # Only cut between distinct scores.
    distinct = np.r_[True, sorted_scores[1:] != sorted_scores[:-1], True]
    valid = np.r_[True, distinct[1:]]
    correct = np.where(valid, correct, -1)
    return float(candidates[int(np.argmax(correct))])


@dataclass(frozen=True)
class VerificationResult:
    accuracy: float
    std: float
    fold_accuracies: tuple[float, ...]
    thresholds: tuple[float, ...]
    pairs: int

    def as_dict(self) -> dict[str, object]:
        return {
            "accuracy": self.accuracy,
            "std": self.std,
            "fold_accuracies": list(self.fold_accuracies),
            "thresholds": list(self.thresholds),
            "pairs": self.pairs,
        }


def ten_fold_accuracy(scores: np.ndarray, genuine: np.ndarray, fold: np.ndarray) -> VerificationResult:
    """Threshold chosen on nine folds, accuracy measured on the tenth, for each fold in turn."""
    scores, genuine, fold = np.asarray(scores, np.float64), np.asarray(genuine, bool), np.asarray(fold)
    accuracies, thresholds = [], []
    for held_out in np.unique(fold):
        train, test = fold != held_out, fold == held_out
        threshold = best_threshold(scores[train], genuine[train])
        accuracies.append(float(((scores[test] >= threshold) == genuine[test]).mean()))
        thresholds.append(threshold)
    return VerificationResult(
        accuracy=float(np.mean(accuracies)),
        std=float(np.std(accuracies)),
        fold_accuracies=tuple(accuracies),
        thresholds=tuple(thresholds),
        pairs=int(len(scores)),
    )
