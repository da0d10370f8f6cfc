"""The ERC benchmark on LFW: every quality method judged by every comparator.

Steps (each cached by file content, so a re-run only computes what is new):
detect one face per image, embed it with each comparator, score it with each
quality method; then the LFW View 2 accuracy per comparator, the ERCs of every
method (plus PERFECT and RANDOM) on two comparison sets under three protocols,
and the selection gain.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

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
from sealshot.evaluate.selection import MIN_IMAGES, Aggregator, aggregate_match_rate, build_trials, match_matrix, selection_gain
from sealshot.evaluate.verification import ten_fold_accuracy

logger = logging.getLogger(__name__)

RANDOM = "RANDOM"
PERFECT = "PERFECT"

Log = Callable[[str], None]


@dataclass
class BenchmarkConfig:
    """What to run. By default the pool is every LFW image (the full protocol).

    ``folds``: restrict the pool to the images of these View 2 folds (0-based)...
    ``selection_cap``: ...plus up to this many images of each identity with ≥ 6 images
    (``None`` with ``folds`` set: none; ``None`` without ``folds``: all images anyway).
    ``pairs_per_fold``: keep only the first n genuine and n impostor pairs of each fold (CI subsets).
    ``selection_identities``: keep only the first k identities for the selection images.
    """

    lfw_root: Path
    methods: Sequence[str]
    comparators: Sequence[str] = ("facenet", "dlib")
    cache_dir: Path | None = None
    folds: Sequence[int] | None = None
    selection_cap: int | None = None
    pairs_per_fold: int | None = None
    selection_identities: int | None = None
    genuine_cap: int = DEFAULT_GENUINE_CAP
    impostors: int = DEFAULT_IMPOSTORS
    seed: int = DEFAULT_SEED
    with_aggregate: bool = True

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
        "full_lfw": config.full,
        "images": len(pool),
        "identities": int(len(np.unique(pool.labels))),
        "folds": sorted(int(f) for f in np.unique(pairs.fold)),
        "view2_pairs": len(view2),
        "selection_cap": config.selection_cap,
        "selection_identities": config.selection_identities,
        "pairs_per_fold": config.pairs_per_fold,
    }
    return Pool(pool, view2, description)


def find_aggregator() -> Aggregator | None:
    """EQFace's quality-weighted aggregation, when the quality package offers it."""
    try:
        module = importlib.import_module("sealshot.quality.eqface")
    except ImportError:
        return None
    return getattr(module, "aggregate_embeddings", None)


def _curves_for(
    comparisons: ComparisonScores, pair_qualities: dict[str, np.ndarray]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``protocol key -> method -> curve dict`` including RANDOM and PERFECT."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for protocol in PROTOCOLS:
        curves: dict[str, dict[str, Any]] = {}
        first = None
        for method, quality in pair_qualities.items():
            curve = protocol.curve(comparisons, quality)
            first = first or curve
            curves[method] = curve.as_dict()
        assert first is not None
        curves[PERFECT] = perfect_curve(first).as_dict()
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
    skipped: dict[str, str] = {}
    for method in config.methods:
        reason = probe_method(method, pool.images.paths, faces)
        if reason:
            skipped[method] = reason
            log(f"left out {method}: {reason}")
            continue
        image_quality[method] = score_image_files(method, pool.images.paths, config.cache_dir, _progress(log, method), faces=faces)
        log(f"scored with {method}: {int(np.isnan(image_quality[method]).sum())} failures to assess")
    image_quality[RANDOM] = random_image_quality(len(pool.images), config.seed)

    large = large_comparisons(pool.images, found, config.genuine_cap, config.impostors, config.seed)
    sets = {"view2": pool.view2, "large": large}
    trials = build_trials(pool.images.labels, found)
    aggregate = find_aggregator() if config.with_aggregate else None

    result: dict[str, Any] = {
        "pool": pool.description,
        "faces_found": int(found.sum()),
        "methods": [m for m in config.methods if m not in skipped],
        "skipped_methods": skipped,
        "comparators": list(config.comparators),
        "quality_failures": {m: int(np.isnan(image_quality[m][found]).sum()) for m in config.methods if m not in skipped},
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
        selection: dict[str, Any] = {"threshold": threshold, "trials": len(trials), "methods": {}}
        for method, quality in image_quality.items():
            selection["methods"][method] = selection_gain(matches, quality, trials).as_dict()
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


def _progress(log: Log, what: str) -> Callable[[int, int], None]:
    last = [0.0]

    def report(done: int, total: int) -> None:
        if time.time() - last[0] > 30 or done == total:
            last[0] = time.time()
            log(f"{what}: {done}/{total} new")

    return report
