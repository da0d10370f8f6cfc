"""The ERC benchmark on LFW: every quality method judged by every comparator.

Steps (each cached by file content, so a re-run only computes what is new):
detect one face per image, embed it with each comparator, score it with each
quality method; then the LFW View 2 accuracy per comparator, the ERCs of every
method (plus PERFECT and RANDOM) on two comparison sets under three protocols,
and the selection gain.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from sealshot.errors import InputError
from sealshot.evaluate.erc import PROTOCOLS, ComparisonScores, pair_quality, perfect_curve, random_image_quality
from sealshot.evaluate.faces import detect_files, embed_image_files, probe_method, score_image_files
from sealshot.evaluate.lfw import (
    DEFAULT_GENUINE_CAP,
    DEFAULT_IMPOSTORS,
    DEFAULT_SEED,
    LFW,
    Comparisons,
    ImageSet,
    identities_with_at_least,
    image_set,
    large_comparisons,
    read_view2_pairs,
    similarities,
)
from sealshot.evaluate.selection import BOOTSTRAP_RESAMPLES, MIN_IMAGES, aggregate_match_rate, build_trials, gain_intervals, match_matrix, trial_outcomes
from sealshot.evaluate.verification import VerificationResult, ten_fold_accuracy
from sealshot.quality.eqface import aggregate_embeddings
from sealshot.recognize import DEFAULT_COMPARATORS

logger = logging.getLogger(__name__)

RANDOM = "RANDOM"
PERFECT = "PERFECT"

Log = Callable[[str], None]


def parse_names(value: str) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]`` (comma-separated option values)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_folds(value: str | None) -> list[int] | None:
    """``"1-3,5"`` (1-based, as LFW documents its folds) → ``[0, 1, 2, 4]``; None or empty → None (all folds)."""
    if not value:
        return None
    folds: list[int] = []
    for part in parse_names(value):
        low, _, high = part.partition("-")
        folds += list(range(int(low) - 1, int(high or low)))
    return folds


@dataclass
class BenchmarkConfig:
    """What to run. By default the pool is every LFW image (the full protocol).

    ``folds``: restrict the pool to the images of these View 2 folds (0-based)...
    ``selection_cap``: ...plus up to this many images of each identity with ≥ 6 images
    (``None`` with ``folds`` set: none; ``None`` without ``folds``: all images anyway).
    ``pairs_per_fold``: keep only the first n genuine and n impostor pairs of each fold (CI subsets).
    ``selection_identities``: keep only the first k identities for the selection images.
    ``selection_baseline``: each method's selection gain is also given as a difference to this method's,
    with a bootstrap interval over identities (``bootstrap_resamples``; 0 turns the intervals off).
    """

    lfw_root: Path
    methods: Sequence[str]
    comparators: Sequence[str] = DEFAULT_COMPARATORS
    cache_dir: Path | None = None
    folds: Sequence[int] | None = None
    selection_cap: int | None = None
    pairs_per_fold: int | None = None
    selection_identities: int | None = None
    genuine_cap: int = DEFAULT_GENUINE_CAP
    impostors: int = DEFAULT_IMPOSTORS
    seed: int = DEFAULT_SEED
    with_aggregate: bool = True
    selection_baseline: str = "vae-ratio"
    bootstrap_resamples: int = BOOTSTRAP_RESAMPLES

    @property
    def full(self) -> bool:
        return self.folds is None and self.pairs_per_fold is None


@dataclass
class Pool:
    images: ImageSet  # the pool, labels as in full LFW
    view2: Comparisons  # indices into the pool
    description: dict[str, Any] = field(default_factory=dict)


def build_pool(config: BenchmarkConfig) -> Pool:
    lfw = LFW(config.lfw_root)
    everything = image_set(lfw)
    pairs = read_view2_pairs(lfw, everything)
    if not lfw.has_pairs and not config.full:
        raise InputError(f"{lfw.root} has no pairs.txt: --folds and --subset need LFW's View 2 pairs")
    if config.full:
        chosen = list(range(len(everything)))
    else:
        keep = np.ones(len(pairs), bool)
        if config.folds is not None:
            keep &= np.isin(pairs.fold, list(config.folds))
        if config.pairs_per_fold is not None:
            rank = np.zeros(len(pairs), np.int64)
            for fold in np.unique(pairs.fold):
                for genuine in (True, False):
                    members = np.flatnonzero((pairs.fold == fold) & (pairs.genuine == genuine))
                    rank[members] = np.arange(len(members))
            keep &= rank < config.pairs_per_fold
        pairs = pairs.subset(keep)
        chosen = list(dict.fromkeys(np.r_[pairs.a, pairs.b].tolist()))
        if config.selection_cap:
            selection = identities_with_at_least(everything, MIN_IMAGES, cap=config.selection_cap)
            if config.selection_identities is not None:
                labels = list(dict.fromkeys(everything.labels[selection].tolist()))[: config.selection_identities]
                selection = [i for i in selection if everything.labels[i] in set(labels)]
            chosen = list(dict.fromkeys(chosen + selection))
    position = {index: k for k, index in enumerate(chosen)}
    pool = ImageSet(tuple(everything.paths[i] for i in chosen), everything.labels[chosen])
    view2 = Comparisons(
        np.array([position[i] for i in pairs.a]), np.array([position[i] for i in pairs.b]), pairs.genuine, pairs.fold
    )
    description = {
        "full_lfw": config.full and lfw.has_pairs,
        "root": lfw.root.name,
        "has_pairs": lfw.has_pairs,
        "images": len(pool),
        "identities": int(len(np.unique(pool.labels))),
        "folds": sorted(int(f) for f in np.unique(pairs.fold)),
        "view2_pairs": len(view2),
        "selection_cap": config.selection_cap,
        "selection_identities": config.selection_identities,
        "pairs_per_fold": config.pairs_per_fold,
    }
    return Pool(pool, view2, description)


def _curves_for(
    comparisons: ComparisonScores, pair_qualities: dict[str, np.ndarray]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``protocol key -> method -> curve dict`` including RANDOM and PERFECT."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for protocol in PROTOCOLS:
        curves: dict[str, dict[str, Any]] = {}
        for method, quality in pair_qualities.items():
            curves[method] = protocol.curve(comparisons, quality).as_dict()
        # PERFECT goes through the same protocol as every method (its threshold re-set too).
        curves[PERFECT] = perfect_curve(comparisons, protocol).as_dict()
        out[protocol.key] = {"title": protocol.title, "curves": curves}  # type: ignore[dict-item]
    return out


def run_benchmark(config: BenchmarkConfig, log: Log = logger.info) -> dict[str, Any]:
    """Compute everything; returns the JSON-ready result."""
    started = time.time()
    pool = build_pool(config)
    log(f"pool: {pool.description}")
    faces = detect_files(pool.images.paths, config.cache_dir, progress=_progress(log, "detect"))
    found = faces.found
    log(f"faces found in {int(found.sum())}/{len(found)} images")

    embeddings: dict[str, np.ndarray] = {}
    for name in config.comparators:
        embeddings[name], _ = embed_image_files(name, pool.images.paths, config.cache_dir, progress=_progress(log, name))
        log(f"embedded with {name}")

    image_quality: dict[str, np.ndarray] = {}
    failure_reasons: dict[str, dict[str, int]] = {}
    skipped: dict[str, str] = {}
    for method in config.methods:
        reason = probe_method(method, pool.images.paths, faces)
        if reason:
            skipped[method] = reason
            log(f"left out {method}: {reason}")
            continue
        assessment = score_image_files(method, pool.images.paths, config.cache_dir, _progress(log, method), faces=faces)
        image_quality[method] = assessment.scores
        # Images without a face are counted in ``faces_found``; these are the faces the method could not assess.
        counts = Counter(reason.value for reason, has_face in zip(assessment.reasons, found) if reason is not None and has_face)
        failure_reasons[method] = dict(sorted(counts.items()))
        log(f"scored with {method}: {int(np.isnan(assessment.scores).sum())} failures to assess")
    image_quality[RANDOM] = random_image_quality(len(pool.images), config.seed)

    large = large_comparisons(pool.images, found, config.genuine_cap, config.impostors, config.seed)
    sets = {"view2": pool.view2, "large": large} if len(pool.view2) else {"large": large}
    trials = build_trials(pool.images.labels, found)
    aggregate = aggregate_embeddings if config.with_aggregate else None

    result: dict[str, Any] = {
        "pool": pool.description,
        "faces_found": int(found.sum()),
        "methods": [m for m in config.methods if m not in skipped],
        "skipped_methods": skipped,
        "comparators": list(config.comparators),
        "quality_failures": {m: int(np.isnan(image_quality[m][found]).sum()) for m in config.methods if m not in skipped},
        "quality_failure_reasons": failure_reasons,
        "comparison_sets": {
            name: {"genuine": int(c.genuine.sum()), "impostor": int((~c.genuine).sum())} for name, c in sets.items()
        },
        "accuracy": {},
        "erc": {},
        "selection": {},
    }
    for comparator in config.comparators:
        vectors = embeddings[comparator]
        view2_scores = similarities(vectors, pool.view2)
        if len(np.unique(pool.view2.fold)) >= 2:
            result["accuracy"][comparator] = ten_fold_accuracy(view2_scores, pool.view2.genuine, pool.view2.fold).as_dict()
        result["erc"][comparator] = {}
        large_scores: ComparisonScores | None = None
        for set_name, comparisons in sets.items():
            scores = ComparisonScores(similarities(vectors, comparisons), comparisons.genuine)
            if set_name == "large":
                large_scores = scores
            pair_qualities = {
                method: pair_quality(quality[comparisons.a], quality[comparisons.b]) for method, quality in image_quality.items()
            }
            result["erc"][comparator][set_name] = _curves_for(scores, pair_qualities)
        assert large_scores is not None
        threshold = large_scores.threshold_at_fmr()
        matches = match_matrix(vectors, trials, threshold)
        selection: dict[str, Any] = {"threshold": threshold, "trials": len(trials), "identities": len(np.unique(trials.clusters())), "methods": {}}
        outcomes = {method: trial_outcomes(matches, quality, trials) for method, quality in image_quality.items()}
        intervals = (
            gain_intervals(outcomes, trials.clusters(), config.selection_baseline, config.bootstrap_resamples, config.seed)
            if len(trials) and config.bootstrap_resamples
            else {}
        )
        if intervals:
            selection["resamples"] = config.bootstrap_resamples
            if config.selection_baseline in outcomes:
                selection["baseline"] = config.selection_baseline
        for method, quality in image_quality.items():
            selection["methods"][method] = outcomes[method].result().as_dict() | intervals.get(method, {})
            # EQFace's aggregation weights by EQFace's own quality in [0, 1]; other scores are no weights.
            if aggregate is not None and method.startswith("eqface") and len(trials):
                selection["methods"][method]["aggregate"] = aggregate_match_rate(vectors, quality, trials, threshold, aggregate)
        if len(trials):
            unweighted = aggregate or (lambda embeddings, qualities: embeddings.mean(axis=0))
            selection["mean_of_all_crops"] = aggregate_match_rate(vectors, np.ones(len(vectors)), trials, threshold, unweighted)
        result["selection"][comparator] = selection
        log(f"{comparator}: ERC and selection gain done")
    result["seconds"] = round(time.time() - started, 1)
    return result


@dataclass(frozen=True)
class ERCOutputs:
    """What ``run_erc`` wrote: the JSON result, its Markdown tables and the charts."""

    result: dict[str, Any]
    json_path: Path
    markdown_path: Path
    charts: list[Path]


def run_erc(config: BenchmarkConfig, out_dir: Path, log: Log = logger.info) -> ERCOutputs:
    """Run the benchmark and write ``erc.json``, ``erc.md`` and one chart per comparator, set and protocol.

    The one entry point of ``sealshot eval erc`` and ``bench/erc.py``.
    """
    from sealshot.evaluate.plots import plot_all  # matplotlib loads only here
    from sealshot.evaluate.report import write_reports

    result = run_benchmark(config, log=log)
    json_path, markdown_path = write_reports(result, out_dir)
    return ERCOutputs(result, json_path, markdown_path, plot_all(result, out_dir))


@dataclass(frozen=True)
class ComparatorAccuracy:
    """LFW View 2 accuracy of one comparator, and how many of the images used had no face."""

    comparator: str
    verification: VerificationResult
    images: int
    no_face: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.verification.as_dict(), "images": self.images, "no_face": self.no_face}


def lfw_accuracy(
    lfw_root: Path, comparators: Sequence[str] = DEFAULT_COMPARATORS, folds: Sequence[int] | None = None, cache_dir: Path | None = None
) -> list[ComparatorAccuracy]:
    """10-fold LFW View 2 verification accuracy of each comparator (threshold chosen on the other folds),
    on the pairs of ``folds`` (0-based; None: all ten)."""
    lfw = LFW(lfw_root)
    if not lfw.has_pairs:
        raise InputError(f"{lfw.root} has no pairs.txt: the View 2 accuracy needs LFW's pairs (`eval erc` works without)")
    everything = image_set(lfw)
    pairs = read_view2_pairs(lfw, everything)
    if folds is not None:
        pairs = pairs.subset(np.isin(pairs.fold, list(folds)))
    used = np.unique(np.r_[pairs.a, pairs.b])
    paths = [everything.paths[i] for i in used]
    position = np.full(len(everything), -1)
    position[used] = np.arange(len(used))
    comparisons = Comparisons(position[pairs.a], position[pairs.b], pairs.genuine, pairs.fold)
    results = []
    for name in comparators:
        started = time.time()
        embeddings, found = embed_image_files(name, paths, cache_dir)
        verification = ten_fold_accuracy(similarities(embeddings, comparisons), pairs.genuine, pairs.fold)
        results.append(ComparatorAccuracy(name, verification, len(paths), int((~found).sum()), time.time() - started))
    return results


def _progress(log: Log, what: str) -> Callable[[int, int], None]:
    last = [0.0]

    def report(done: int, total: int) -> None:
        if time.time() - last[0] > 30 or done == total:
            last[0] = time.time()
            log(f"{what}: {done}/{total} new")

    return report
