"""Writers of the benchmark's ``erc.json`` and ``erc.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sealshot.evaluate.erc import PAUC_LIMITS

PAUC_NOTE = (
    "pAUC@L is the area under FNMR(r) for reject fractions r in [0, L] divided by L × FNMR(0): "
    "1.00 = no better than not rejecting, lower is better. "
    "r is the fraction of genuine comparisons rejected; a comparison's quality is the lower of its two images'; "
    "ties at the cut-off are rejected in proportion (the expectation over random tie-breaking)."
)


def _relation(method: str, comparator: str) -> str:
    for model in ("facenet", "dlib"):
        if method.endswith(f"-{model}"):
            return " (same model)" if model == comparator else " (cross model)"
    return ""


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _reasons(counts: dict[str, int]) -> str:
    return " (" + ", ".join(f"{reason} {n:,}" for reason, n in counts.items()) + ")" if counts else ""


def _order(curves: dict[str, Any]) -> list[str]:
    return sorted(curves, key=lambda m: (m == "PERFECT", curves[m]["pauc_20"] if not np.isnan(curves[m]["pauc_20"]) else 9))


def render_markdown(result: dict[str, Any]) -> str:
    pool = result["pool"]
    lines = ["# ERC benchmark on LFW", ""]
    scope = "every LFW image" if pool["full_lfw"] else f"every image of {pool.get('root', 'the folder')} (no pairs.txt: no View 2 set)" if not pool.get("has_pairs", True) else (
        f"a subset of LFW: the images of View 2 folds {', '.join(str(f + 1) for f in pool['folds'])}"
        + (f" (first {pool['pairs_per_fold']} genuine and impostor pairs of each)" if pool["pairs_per_fold"] else "")
        + (
            f", plus up to {pool['selection_cap']} images of each"
            + (
                f" of the first {pool['selection_identities']} (by name) identities with ≥ 6 images"
                if pool.get("selection_identities")
                else " identity with ≥ 6 images"
            )
            if pool["selection_cap"]
            else ""
        )
    )
    lines += [
        f"Pool: {pool['images']:,} images of {pool['identities']:,} identities ({scope}); a face was found in "
        f"{result['faces_found']:,}. Images without a face have quality NaN, ranked lowest (rejected first).",
        "",
        "## Comparator verification accuracy (LFW View 2, threshold chosen on the other folds)",
        "",
        "| comparator | accuracy | ± std | pairs |",
        "|---|---|---|---|",
    ]
    for comparator, acc in result["accuracy"].items():
        lines.append(f"| {comparator} | {acc['accuracy'] * 100:.2f} % | {acc['std'] * 100:.2f} | {acc['pairs']:,} |")
    if not result["accuracy"]:
        lines.append("| – | not measured: no View 2 pairs (pairs.txt) with two or more folds | | |")
    failures = {m: n for m, n in result.get("quality_failures", {}).items() if n}
    reasons = result.get("quality_failure_reasons", {})
    if failures:
        lines += [
            "",
            "Failures to assess (faces a method could not score; they rank lowest): "
            + ", ".join(f"{m} {n:,}/{result['faces_found']:,}{_reasons(reasons.get(m, {}))}" for m, n in sorted(failures.items()))
            + ". A method that failed on every face has a flat ERC, like a constant quality.",
        ]
    for method, reason in sorted(result.get("skipped_methods", {}).items()):
        lines += ["", f"Left out: {method} ({reason.splitlines()[0][:160]})."]
    lines += ["", "## Error-versus-reject", "", PAUC_NOTE, ""]
    for comparator, by_set in result["erc"].items():
        for set_name, by_protocol in by_set.items():
            counts = result["comparison_sets"][set_name]
            fmr = by_protocol["fmr0.001"]["curves"]
            nist = by_protocol["fnmr0.01"]["curves"]
            nist3 = by_protocol["fnmr0.001"]["curves"]
            lines += [
                f"### {comparator} comparisons, {set_name} set ({counts['genuine']:,} genuine, {counts['impostor']:,} impostor)",
                "",
                f"FMR = 1e-3 protocol (threshold re-set at each r); FNMR(0) = {fmr['PERFECT']['fnmr_at_0']:.4f}. "
                "NIST protocol (threshold fixed at initial FNMR 0.01, and 0.001).",
                "",
                "| method | FMR1e-3 pAUC@20 | pAUC@30 | FNMR@5% | FNMR@10% | NIST0.01 pAUC@20 | pAUC@30 | FNMR@5% | FNMR@10% | NIST0.001 pAUC@20 | pAUC@30 |",
                "|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for method in _order(fmr):
                a, b, c = fmr[method], nist[method], nist3[method]
                lines.append(
                    f"| {method}{_relation(method, comparator)} | {_fmt(a['pauc_20'])} | {_fmt(a['pauc_30'])} | {_fmt(a['fnmr_at_5'], 4)} | {_fmt(a['fnmr_at_10'], 4)} "
                    f"| {_fmt(b['pauc_20'])} | {_fmt(b['pauc_30'])} | {_fmt(b['fnmr_at_5'], 4)} | {_fmt(b['fnmr_at_10'], 4)} "
                    f"| {_fmt(c['pauc_20'])} | {_fmt(c['pauc_30'])} |"
                )
            lines.append("")
    lines += [
        "## Selection gain",
        "",
        "Each image of an identity with ≥ 6 usable images is the reference in turn; the identity's other images are the track. "
        "Match = similarity ≥ the FMR = 1e-3 threshold of the large set. `pick`: the method's highest-quality image; "
        "`random`: expectation over the track; `oracle`: any track image matches; `gain` = (pick − random) / (oracle − random). "
        "`aggregate` (EQFace rows only): EQFace's quality-weighted mean of all the track's embeddings; "
        "`mean of all crops`: the unweighted mean. Both show what one snapshot loses against keeping every crop. "
        "Trials of one identity share images, so the 95 % intervals are a bootstrap over identities; "
        "the difference to the baseline method's gain is paired (both on the same resamples): an interval that contains 0 "
        "means the data cannot tell the two apart.",
        "",
    ]
    for comparator, selection in result["selection"].items():
        baseline = selection.get("baseline")
        identities = f", {selection['identities']:,} identities" if "identities" in selection else ""
        if "resamples" in selection:
            identities += f", {selection['resamples']:,} bootstrap resamples"
        lines += [
            f"### {comparator} ({selection['trials']:,} trials{identities}, threshold {selection['threshold']:.4f})",
            "",
            "| method | pick | random | oracle | gain | gain 95 % CI | " + (f"gain − {baseline}'s (95 % CI) | " if baseline else "") + "aggregate |",
            "|---|---|---|---|---|---|" + ("---|" if baseline else "") + "---|",
        ]
        if "mean_of_all_crops" in selection:
            lines.append(f"| mean of all crops (reference) | {_fmt(selection['mean_of_all_crops'])} | | | | | |" + (" |" if baseline else ""))
        rows = selection["methods"]
        for method in sorted(rows, key=lambda m: -rows[m]["method"]):
            row = rows[method]
            interval = f"{_fmt(row['gain_low'], 2)} … {_fmt(row['gain_high'], 2)}" if "gain_low" in row else "–"
            versus = ""
            if baseline:
                versus = (
                    f" {row['minus_baseline']:+.2f} ({row['minus_baseline_low']:+.2f} … {row['minus_baseline_high']:+.2f}) |"
                    if "minus_baseline" in row and method != baseline
                    else " – |"
                )
            lines.append(
                f"| {method}{_relation(method, comparator)} | {_fmt(row['method'])} | {_fmt(row['random'])} | {_fmt(row['oracle'])} "
                f"| {_fmt(row['gain'], 2)} | {interval} |{versus} {_fmt(row.get('aggregate'))} |"
            )
        lines.append("")
    lines.append(f"Computed in {result['seconds']:.0f} s (cached detections, embeddings and scores are reused).")
    return "\n".join(lines) + "\n"


def write_reports(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "erc.json", out_dir / "erc.md"
    json_path.write_text(json.dumps(result, indent=1, default=_json_default) + "\n")
    md_path.write_text(render_markdown(result))
    return json_path, md_path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value))


__all__ = ["PAUC_LIMITS", "render_markdown", "write_reports"]
