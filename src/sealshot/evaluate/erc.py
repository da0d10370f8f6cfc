"""Error-versus-reject characteristics (Grother & Tabassi 2007) and their summaries.

Conventions, used everywhere in this module:

* A comparison *matches* when its similarity is ``>= threshold``.
* A comparison's quality is the lower of its two images' qualities; NaN (failure
  to assess, including no face found) counts as the lowest possible quality.
* The reject fraction ``r`` is the fraction of **genuine** comparisons rejected
  (the ERC's x-axis in NIST's sense). Rejecting ``r`` sets a quality cut-off at
  the ``r``-quantile of the genuine comparisons' qualities; the same cut-off is
  applied to impostor comparisons (a real quality threshold drops both).
* Ties: comparisons whose quality equals the cut-off are rejected *in part*,
  each keeping the same fraction of its weight, so every curve is the
  expectation over random tie-breaking. A constant quality therefore yields a
  flat ERC, never an artefact of sort order.

Two protocols:

* ``fixed-threshold`` (the paper's, NIST): the threshold is set once so that
  the initial FNMR equals ``initial_fnmr`` (0.01, 0.001) and stays fixed.
* ``fixed-fmr`` (CR-FIQA and current papers): at every reject fraction the
  threshold is recomputed on the remaining impostor comparisons for FMR = 1e-3.

pAUC up to a reject limit ``L`` is the trapezoidal area under FNMR(r) on
``[0, L]`` divided by ``L × FNMR(0)``: 1.0 means no better than not rejecting,
lower is better, 0 would remove every error at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REJECT_STEP = 0.005
MAX_REJECT = 0.4
PAUC_LIMITS = (0.2, 0.3)
FNMR_AT_REJECT = (0.05, 0.10)
TARGET_FMR = 1e-3
INITIAL_FNMRS = (0.01, 0.001)


def reject_grid(max_reject: float = MAX_REJECT, step: float = REJECT_STEP) -> np.ndarray:
    return np.round(np.arange(0.0, max_reject + step / 2, step), 6)


def pair_quality(quality_a: np.ndarray, quality_b: np.ndarray) -> np.ndarray:
    """The lower of the two images' qualities; NaN becomes ``-inf`` (rejected first)."""
    a = np.where(np.isnan(quality_a), -np.inf, quality_a)
    b = np.where(np.isnan(quality_b), -np.inf, quality_b)
    return np.minimum(a, b)


@dataclass(frozen=True)
class _Cut:
    """A quality cut-off: below ``value`` rejected, at ``value`` kept with weight ``kept_at_value``."""

    value: float
    kept_at_value: float

    def weights(self, quality: np.ndarray) -> np.ndarray:
        return np.where(quality > self.value, 1.0, np.where(quality == self.value, self.kept_at_value, 0.0))


_KEEP_ALL = _Cut(-np.inf, 1.0)


def _cut_for(sorted_quality: np.ndarray, rejected: float) -> _Cut:
    """The cut-off that rejects ``rejected`` (possibly fractional) comparisons of an ascending quality array."""
    if rejected <= 0:
        return _KEEP_ALL
    rejected = min(rejected, len(sorted_quality))
    position = min(int(np.floor(rejected - 1e-9)), len(sorted_quality) - 1)
    value = sorted_quality[position]
    below = int(np.searchsorted(sorted_quality, value, side="left"))
    tied = int(np.searchsorted(sorted_quality, value, side="right")) - below
    kept = 1.0 - (rejected - below) / tied
    return _Cut(float(value), float(np.clip(kept, 0.0, 1.0)))


def threshold_at_fnmr(genuine_scores: np.ndarray, fnmr: float) -> float:
    """Threshold with FNMR = ``fnmr`` on these genuine scores: ``ceil(fnmr·n)`` of them fall below it."""
    ordered = np.sort(np.asarray(genuine_scores, np.float64))
    return float(ordered[min(int(np.ceil(fnmr * len(ordered) - 1e-9)), len(ordered) - 1)])


def threshold_at_fmr(impostor_scores: np.ndarray, fmr: float, weights: np.ndarray | None = None) -> float:
    """Smallest threshold whose (weighted) FMR does not exceed ``fmr``.

    ``impostor_scores`` must be sorted in descending order when ``weights`` are given
    (the caller sorts once and reuses the order).
    """
    if weights is None:
        ordered = np.sort(impostor_scores)[::-1]
        weights = np.ones_like(ordered, dtype=np.float64)
    else:
        ordered = impostor_scores
    total = weights.sum()
    if total <= 0:
        return float("nan")
    accepted = np.cumsum(weights)
    # Accepting the first j+1 scores (all >= ordered[j]) must stay within the budget;
    # the threshold sits just above the first score that would exceed it.
    over = np.flatnonzero(accepted > fmr * total + 1e-12)
    if len(over) == 0:
        return float(ordered[-1])
    first_over = over[0]
    return float(np.nextafter(ordered[first_over], np.inf))


def _fnmr(genuine_scores: np.ndarray, weights: np.ndarray, threshold: float) -> float:
    total = weights.sum()
    if total <= 0:
        return float("nan")
    return float(weights[genuine_scores < threshold].sum() / total)


@dataclass(frozen=True)
class ERCCurve:
    """FNMR at each reject fraction, with the thresholds used."""

    reject: np.ndarray
    fnmr: np.ndarray
    thresholds: np.ndarray

    def at(self, fraction: float) -> float:
        return float(np.interp(fraction, self.reject, self.fnmr))

    def pauc(self, limit: float) -> float:
        """Area under FNMR(r) on ``[0, limit]`` divided by ``limit × FNMR(0)`` (1.0 = no better than not rejecting)."""
        inside = self.reject <= limit + 1e-12
        reject, fnmr = self.reject[inside], self.fnmr[inside]
        if reject[-1] < limit:
            reject, fnmr = np.r_[reject, limit], np.r_[fnmr, self.at(limit)]
        area = float(np.sum((fnmr[1:] + fnmr[:-1]) / 2 * np.diff(reject)))
        base = self.fnmr[0]
        return float(area / (limit * base)) if base > 0 else float("nan")

    def summary(self) -> dict[str, float]:
        out = {"fnmr_at_0": float(self.fnmr[0])}
        out.update({f"pauc_{round(limit * 100)}": self.pauc(limit) for limit in PAUC_LIMITS})
        out.update({f"fnmr_at_{round(r * 100)}": self.at(r) for r in FNMR_AT_REJECT})
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "reject": self.reject.tolist(),
            "fnmr": self.fnmr.tolist(),
            "thresholds": self.thresholds.tolist(),
            **self.summary(),
        }


@dataclass
class ComparisonScores:
    """Similarity and genuine/impostor label of each comparison, pre-sorted for fast ERCs."""

    scores: np.ndarray
    genuine: np.ndarray
    _impostor_order: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, np.float64)
        self.genuine = np.asarray(self.genuine, bool)
        impostor = np.flatnonzero(~self.genuine)
        self._impostor_order = impostor[np.argsort(-self.scores[impostor], kind="stable")]

    @property
    def genuine_scores(self) -> np.ndarray:
        return self.scores[self.genuine]

    def threshold_at_fmr(self, fmr: float = TARGET_FMR) -> float:
        return threshold_at_fmr(self.scores[self._impostor_order], fmr, np.ones(len(self._impostor_order)))


def erc_fixed_threshold(
    comparisons: ComparisonScores, quality: np.ndarray, initial_fnmr: float, grid: np.ndarray | None = None
) -> ERCCurve:
    """NIST ERC: threshold fixed so that FNMR(0) = ``initial_fnmr``; reject lowest-quality genuine comparisons."""
    grid = reject_grid() if grid is None else grid
    genuine_scores = comparisons.genuine_scores
    genuine_quality = np.asarray(quality, np.float64)[comparisons.genuine]
    threshold = threshold_at_fnmr(genuine_scores, initial_fnmr)
    sorted_quality = np.sort(genuine_quality)
    fnmr = np.array(
        [_fnmr(genuine_scores, _cut_for(sorted_quality, r * len(genuine_quality)).weights(genuine_quality), threshold) for r in grid]
    )
    return ERCCurve(grid, fnmr, np.full(len(grid), threshold))


def erc_fixed_fmr(
    comparisons: ComparisonScores, quality: np.ndarray, fmr: float = TARGET_FMR, grid: np.ndarray | None = None
) -> ERCCurve:
    """At each reject fraction, threshold recomputed at FMR = ``fmr`` on the impostor comparisons that remain."""
    grid = reject_grid() if grid is None else grid
    quality = np.asarray(quality, np.float64)
    genuine_scores = comparisons.genuine_scores
    genuine_quality = quality[comparisons.genuine]
    sorted_quality = np.sort(genuine_quality)
    impostor_scores = comparisons.scores[comparisons._impostor_order]
    impostor_quality = quality[comparisons._impostor_order]
    fnmr, thresholds = [], []
    for r in grid:
        cut = _cut_for(sorted_quality, r * len(genuine_quality))
        threshold = threshold_at_fmr(impostor_scores, fmr, cut.weights(impostor_quality))
        thresholds.append(threshold)
        fnmr.append(_fnmr(genuine_scores, cut.weights(genuine_quality), threshold))
    return ERCCurve(grid, np.asarray(fnmr), np.asarray(thresholds))


def perfect_quality(comparisons: ComparisonScores) -> np.ndarray:
    """PERFECT's comparison quality, run through the very same protocol as the methods.

    An oracle that knows which comparisons are errors: genuine comparisons rank by their
    similarity (the false non-matches go first), impostor comparisons by the negated
    similarity (the would-be false matches go first), each as a rank fraction in (0, 1].
    Rejecting a fraction ``r`` of the genuine comparisons therefore also rejects the same
    fraction of impostors, the highest-scoring ones, so under ``fixed-fmr`` the re-set
    threshold falls as it would for the best possible method. Under ``fixed-threshold`` this
    is FNMR(r) = max(0, FNMR(0) − r) / (1 − r).
    """
    quality = np.empty(len(comparisons.scores), np.float64)
    for mask, sign in ((comparisons.genuine, 1.0), (~comparisons.genuine, -1.0)):
        members = np.flatnonzero(mask)
        order = members[np.argsort(sign * comparisons.scores[members], kind="stable")]
        quality[order] = np.arange(1, len(order) + 1) / max(len(order), 1)
    return quality


def perfect_curve(
    comparisons: ComparisonScores, protocol: "Protocol | None" = None, grid: np.ndarray | None = None
) -> ERCCurve:
    """The PERFECT reference under ``protocol`` (default: fixed FMR = 1e-3), see ``perfect_quality``."""
    protocol = protocol or Protocol("fixed-fmr", TARGET_FMR)
    return protocol.curve(comparisons, perfect_quality(comparisons), grid)


def random_image_quality(count: int, seed: int = 0) -> np.ndarray:
    """RANDOM reference: a seeded uniform quality per image."""
    return np.random.default_rng(seed).random(count)


# ---------------------------------------------------------------- protocols by name

@dataclass(frozen=True)
class Protocol:
    """One ERC protocol: ``kind`` is ``fixed-threshold`` (with ``initial_fnmr``) or ``fixed-fmr`` (with ``fmr``)."""

    kind: str
    value: float

    @property
    def key(self) -> str:
        return f"fnmr{self.value:g}" if self.kind == "fixed-threshold" else f"fmr{self.value:g}"

    @property
    def title(self) -> str:
        if self.kind == "fixed-threshold":
            return f"fixed threshold, initial FNMR = {self.value:g}"
        return f"threshold re-set at FMR = {self.value:g}"

    def curve(self, comparisons: ComparisonScores, quality: np.ndarray, grid: np.ndarray | None = None) -> ERCCurve:
        if self.kind == "fixed-threshold":
            return erc_fixed_threshold(comparisons, quality, self.value, grid)
        return erc_fixed_fmr(comparisons, quality, self.value, grid)


PROTOCOLS = (
    Protocol("fixed-threshold", INITIAL_FNMRS[0]),
    Protocol("fixed-threshold", INITIAL_FNMRS[1]),
    Protocol("fixed-fmr", TARGET_FMR),
)
