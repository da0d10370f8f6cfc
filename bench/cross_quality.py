"""The cross-quality benchmark: selection gain and ERC/pAUC of every quality method on LFW pseudo-tracks
with realistic degradations (``sealshot.evaluate.crossquality`` describes the set and which families are held out).

    nice -n 10 python bench/cross_quality.py [--identities 60] [--methods all]

Embeddings and quality scores are cached under .cache/cross-quality/ (keyed by the set's settings and
the code of the degradations). Writes bench/results/cross_quality/cross_quality.json, cross_quality.md
and PNG charts (selection gain per family, ERC on the whole cross-quality set per comparator).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
LFW = (REPO_ROOT / ".." / "shared" / "data" / "lfw").resolve()
RESULTS = REPO_ROOT / "bench" / "results" / "cross_quality"
CACHE = REPO_ROOT / ".cache" / "cross-quality"
CHUNK = 32
BASELINE = "vae-ratio"
"""Selection gains are also given as a paired difference to this method's."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fingerprint(args: argparse.Namespace) -> str:
    from sealshot.evaluate import crossquality

    source = Path(crossquality.__file__).read_bytes()
    return hashlib.sha256(source + f"{args.identities}/{args.per_identity}/{args.seed}".encode()).hexdigest()[:12]


def cached(path: Path, compute) -> np.ndarray:  # type: ignore[no-untyped-def]
    if path.is_file():
        return np.load(path)["values"]
    values = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, values=values)
    return values


def embed_all(comparator_name: str, items: list[np.ndarray], boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    from sealshot.recognize import get_comparator

    comparator = get_comparator(comparator_name)
    out = np.zeros((len(items), comparator.dim), np.float32)
    for start in range(0, len(items), CHUNK):
        stop = min(start + CHUNK, len(items))
        out[start:stop] = comparator.embed(items[start:stop], boxes[start:stop], landmarks[start:stop])
        if (start // CHUNK) % 20 == 0:
            log(f"{comparator_name}: {stop}/{len(items)}")
    return out


def score_all(method_name: str, items: list[np.ndarray], detections, embeddings: dict[str, np.ndarray]) -> np.ndarray:  # type: ignore[no-untyped-def]
    from sealshot.detect.stills import faces_of_images
    from sealshot.evaluate.faces import assess_sharing
    from sealshot.quality import get_quality
    from sealshot.recognize import EmbeddingMemo, get_comparator

    method = get_quality(method_name)
    scores = np.full(len(items), np.nan)
    for start in range(0, len(items), CHUNK):
        rows = list(range(start, min(start + CHUNK, len(items))))
        batch = faces_of_images([items[i] for i in rows], [detections[i] for i in rows])

        def memo_for(name: str, rows: list[int] = rows) -> EmbeddingMemo | None:
            if name not in embeddings:
                return None
            memo, comparator = EmbeddingMemo(), get_comparator(name)
            for i in rows:
                memo.remember(comparator, items[i], detections.boxes[i], embeddings[name][i])
            return memo

        scores[rows] = assess_sharing(method, batch, memo_for).scores
    return scores


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).statistic) if ok.sum() > 2 else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identities", type=int, default=60)
    parser.add_argument("--per-identity", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--comparators", default="facenet,dlib")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from sealshot.detect.stills import load_rgb
    from sealshot.evaluate import crossquality as cq
    from sealshot.evaluate.erc import ComparisonScores, Protocol, pair_quality, perfect_curve, random_image_quality, reject_grid
    from sealshot.evaluate.faces import detect_files
    from sealshot.evaluate.selection import Trials, gain_intervals, match_matrix, trial_outcomes
    from sealshot.quality import available
    from sealshot.quality.calibration import calibration_for

    if not LFW.exists():
        print(f"shared data not available: {LFW} is absent", file=sys.stderr)
        return 2
    started = time.time()
    paths, labels = cq.base_images(LFW, args.identities, args.per_identity, args.seed)
    faces = detect_files(paths)
    complete = [label for label in np.unique(labels) if faces.found[labels == label].all()]
    keep = np.isin(labels, complete)
    paths = [p for p, k in zip(paths, keep) if k]
    labels = np.unique(labels[keep], return_inverse=True)[1]
    chosen = faces.chosen[np.flatnonzero(keep)]
    log(f"{len(paths)} base images of {len(complete)} identities")
    data = cq.build_set(labels, args.seed)
    images = [load_rgb(p) for p in paths]
    items = cq.degraded_images(images, chosen.boxes, data, args.seed)
    detections = chosen[data.image_of]
    key = fingerprint(args)
    comparators = args.comparators.split(",")
    embeddings = {
        name: cached(CACHE / f"{key}-emb-{name}.npz", lambda name=name: embed_all(name, items, detections.boxes, detections.landmarks))
        for name in comparators
    }
    methods = available() if args.methods == "all" else args.methods.split(",")
    quality: dict[str, np.ndarray] = {}
    for method in methods:
        from sealshot.evaluate.faces import quality_cache_key

        safe = quality_cache_key(method).replace(":", "_").replace("/", "_")
        quality[method] = cached(CACHE / f"{key}-q-{safe}.npz", lambda method=method: score_all(method, items, detections, embeddings))
        log(f"scored {method}")
    quality["RANDOM"] = random_image_quality(len(items), args.seed)

    grid = reject_grid(0.3, 0.01)
    protocol = Protocol("fixed-fmr", 1e-3)
    result: dict[str, Any] = {
        "set": {"base_images": len(paths), "identities": len(complete), "items": len(items), "families": list(cq.FAMILIES), "held_out": list(cq.HELD_OUT)},
        "selection": {},
        "erc": {},
        "severity_spearman": {},
        "calibrated_mean": {},
    }
    for comparator in comparators:
        vectors = embeddings[comparator]
        a, b, genuine = cq.cross_pairs(data)
        scores = np.einsum("ij,ij->i", vectors[a], vectors[b])
        threshold = ComparisonScores(scores, genuine).threshold_at_fmr()
        result["selection"][comparator] = {"threshold": threshold, "families": {}}
        for family in (*cq.FAMILIES, cq.MIXED):
            trials = cq.selection_trials(data, family, args.seed)
            as_trials = Trials(trials.reference, trials.tracks, data.labels[data.image_of[trials.reference]])
            matches = match_matrix(vectors, as_trials, threshold)
            outcomes = {m: trial_outcomes(matches, q, as_trials) for m, q in quality.items()}
            intervals = gain_intervals(outcomes, as_trials.clusters(), BASELINE, seed=args.seed)
            result["selection"][comparator]["families"][family] = {m: o.result().as_dict() | intervals[m] for m, o in outcomes.items()}
        result["erc"][comparator] = {}
        for family in (None, *cq.FAMILIES):
            fa, fb, fg = cq.cross_pairs(data, family)
            comparisons = ComparisonScores(np.einsum("ij,ij->i", vectors[fa], vectors[fb]), fg)
            curves = {m: protocol.curve(comparisons, pair_quality(q[fa], q[fb]), grid) for m, q in quality.items()}
            curves["PERFECT"] = perfect_curve(comparisons, protocol, grid)
            result["erc"][comparator][family or "all"] = {
                m: {"pauc_20": c.pauc(0.2), "fnmr_at_0": float(c.fnmr[0])} | ({} if family else {"reject": c.reject.tolist(), "fnmr": c.fnmr.tolist()})
                for m, c in curves.items()
            }  # curves only for the whole set (the chart); per family the summary
        log(f"{comparator}: selection and ERC done")
    for method, q in quality.items():
        result["severity_spearman"][method] = {f: spearman(q[data.items(f)], data.severity[data.items(f)]) for f in cq.FAMILIES}
        calibration = calibration_for(method) if method in methods else None
        if calibration is not None:
            result["calibrated_mean"][method] = {f: float(np.nanmean(calibration(q[data.items(f)]))) for f in (cq.CLEAN, *cq.FAMILIES)}
    result["seconds"] = round(time.time() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cross_quality.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "cross_quality.md").write_text(render(result, cq.FAMILIES, cq.HELD_OUT))
    plot(result, args.out, cq.FAMILIES)
    print((args.out / "cross_quality.md").read_text())
    return 0


def _f(value: float, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def render(result: dict[str, Any], families: tuple[str, ...], held_out: tuple[str, ...]) -> str:
    comparators = list(result["selection"])
    methods = [m for m in result["severity_spearman"] if m != "RANDOM"]
    s = result["set"]
    lines = [
        "# Cross-quality benchmark (LFW pseudo-tracks with degradations)",
        "",
        f"{s['base_images']} LFW images of {s['identities']} identities, each degraded once per family along a trajectory "
        f"({s['items']} crops). Held out of any training: {', '.join(held_out)}. "
        "Selection gain = (pick − random) / (oracle − random) over tracks of 5 degraded images against a clean reference; "
        "pAUC@20 at FMR = 1e-3 on (clean, degraded) pairs, lower is better.",
        "",
        "## Headline",
        "",
        "| method | " + " | ".join(f"gain mixed {c} | min family gain {c} | pAUC@20 {c}" for c in comparators) + " |",
        "|---|" + "---|---|---|" * len(comparators),
    ]
    rows = []
    for method in methods + ["RANDOM"]:
        cells = []
        for c in comparators:
            fam = result["selection"][c]["families"]
            gains = [fam[f][method]["gain"] for f in families]
            cells += [_f(fam["mixed"][method]["gain"]), _f(min(gains)), _f(result["erc"][c]["all"][method]["pauc_20"], 3)]
        rows.append((method, cells))
    rows.sort(key=lambda r: -float(r[1][0]) if r[1][0] != "–" else 9)
    lines += [f"| {m} | " + " | ".join(cells) + " |" for m, cells in rows]
    lines += ["", f"PERFECT pAUC@20: " + ", ".join(f"{c} {_f(result['erc'][c]['all']['PERFECT']['pauc_20'], 3)}" for c in comparators), ""]
    lines += [
        "## How sure: selection gain on the mixed tracks, 95 % bootstrap intervals over identities",
        "",
        f"The second interval is the paired difference to `{BASELINE}`'s gain; one that contains 0 means the data cannot tell the two apart.",
        "",
        "| method | " + " | ".join(f"gain {c} (95 % CI) | − {BASELINE} {c} (95 % CI) | lowest family {c} (95 % CI)" for c in comparators) + " |",
        "|---|" + "---|---|---|" * len(comparators),
    ]
    for method, _ in rows:
        cells = []
        for c in comparators:
            fam = result["selection"][c]["families"]
            mixed = fam["mixed"][method]
            lowest = min((fam[f][method] for f in families), key=lambda row: row["gain"])
            versus = f"{mixed['minus_baseline']:+.2f} ({mixed['minus_baseline_low']:+.2f} … {mixed['minus_baseline_high']:+.2f})" if "minus_baseline" in mixed and method != BASELINE else "–"
            cells += [
                f"{_f(mixed['gain'])} ({_f(mixed.get('gain_low'))} … {_f(mixed.get('gain_high'))})",
                versus,
                f"{_f(lowest['gain'])} ({_f(lowest.get('gain_low'))} … {_f(lowest.get('gain_high'))})",
            ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append("")
    for c in comparators:
        lines += [f"## Selection gain per family, {c}", "", "| method | " + " | ".join(families) + " | mixed |", "|---|" + "---|" * (len(families) + 1)]
        fam = result["selection"][c]["families"]
        for method in methods + ["RANDOM"]:
            lines.append(f"| {method} | " + " | ".join(_f(fam[f][method]["gain"]) for f in (*families, "mixed")) + " |")
        lines += ["", f"## pAUC@20 per family, {c}", "", "| method | " + " | ".join(families) + " | all |", "|---|" + "---|" * (len(families) + 1)]
        erc = result["erc"][c]
        for method in methods + ["RANDOM", "PERFECT"]:
            lines.append(f"| {method} | " + " | ".join(_f(erc[f][method]["pauc_20"], 3) for f in (*families, "all")) + " |")
        lines.append("")
    lines += ["## Does the score fall as the degradation grows? (Spearman ρ of quality vs severity; negative = falls)", "",
              "| method | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]  # fmt: skip
    for method in methods:
        lines.append(f"| {method} | " + " | ".join(_f(result["severity_spearman"][method][f]) for f in families) + " |")
    if result["calibrated_mean"]:
        lines += ["", "## Mean calibrated 0–100 score per family", "", "| method | clean | " + " | ".join(families) + " |", "|---|---|" + "---|" * len(families)]
        for method, row in result["calibrated_mean"].items():
            lines.append(f"| {method} | {_f(row['clean'], 0)} | " + " | ".join(_f(row[f], 0) for f in families) + " |")
    lines += ["", f"Computed in {result['seconds']:.0f} s on a shared 2-core machine (cached embeddings reused)."]
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], out: Path, families: tuple[str, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sealshot.evaluate.plots import plot_erc

    methods = [m for m in result["severity_spearman"] if m != "RANDOM"]
    for comparator, selection in result["selection"].items():
        figure, axis = plt.subplots(figsize=(13, 5))
        groups = (*families, "mixed")
        width = 0.8 / len(methods)
        colours = plt.get_cmap("tab20")
        for k, method in enumerate(methods):
            gains = [selection["families"][f][method]["gain"] for f in groups]
            axis.bar(np.arange(len(groups)) + k * width, gains, width, label=method, color=colours(k % 20))
        axis.axhline(0, color="black", linewidth=0.8)
        axis.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups)
        axis.set_ylabel("normalised selection gain (0 = random, 1 = oracle)")
        axis.set_title(f"Selection gain per degradation family ({comparator})")
        axis.legend(fontsize=7, ncol=4)
        figure.tight_layout()
        figure.savefig(out / f"selection-{comparator}.png", dpi=100)
        plt.close(figure)
        plot_erc(
            result["erc"][comparator]["all"],
            f"ERC on the cross-quality set ({comparator}), FNMR at FMR = 1e-3 (threshold re-set)",
            out / f"erc-{comparator}.png",
        )


if __name__ == "__main__":
    sys.exit(main())
