"""Fit the shipped 0–100 calibrations: every registered method on the CelebA calibration set (never LFW).

    nice -n 10 python bench/calibration_set.py      # detections + FaceNet/dlib embeddings, cached
    nice -n 10 python bench/calibrate.py            # -> src/sealshot/quality/weights/calibration/*.json

Writes bench/results/calibration.json and calibration.md (per method: crops fitted, the raw score at
calibrated 25 / 50 / 75, and the calibrated score at the raw quartiles of the set).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_set import DEFAULT_CAP, calibration_images  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def raw_at(calibration, level: float) -> float | None:
    above = np.flatnonzero(np.asarray(calibration.score) >= level)
    return float(calibration.raw[above[0]]) if len(above) else None


def main() -> int:
    import torch

    from sealshot.evaluate.calibrate import calibration_inputs, fit_method
    from sealshot.quality import available
    from sealshot.quality.calibration import shipped_calibration_path

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--comparators", default="facenet,dlib")
    parser.add_argument("--cap", type=int, default=DEFAULT_CAP)
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = available() if args.methods == "all" else args.methods.split(",")
    comparators = args.comparators.split(",")
    paths, labels = calibration_images(args.cap)
    previous = RESULTS / "calibration.json"
    # A run on some methods updates their rows and keeps the others'.
    rows: dict[str, dict] = json.loads(previous.read_text()) if previous.is_file() else {}
    inputs = calibration_inputs(paths, labels, comparators)  # detection, embeddings and outcomes: once for every method
    for method in methods:
        calibration, raw = fit_method(method, paths, labels, inputs, comparators, source=f"CelebA subset ({args.cap} per identity)")
        calibration.save(shipped_calibration_path(method))
        quartiles = np.nanpercentile(raw, [25, 50, 75])
        rows[method] = {
            **{k: calibration.meta[k] for k in ("crops_fitted", "verified_share")},
            "raw_at_calibrated": {str(level): raw_at(calibration, level) for level in (25, 50, 75)},
            "calibrated_at_raw_quartiles": [float(calibration(q)) for q in quartiles],
            "knots": len(calibration.raw),
        }
        print(method, rows[method], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "calibration.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# Calibrated 0–100 scores (CelebA calibration set, FaceNet + dlib, FMR = 1e-3)",
        "",
        "| method | crops | verify | raw at 25 | raw at 50 | raw at 75 | calibrated at raw p25 / p50 / p75 |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    fmt = lambda v: "–" if v is None else f"{v:.4g}"  # noqa: E731
    for method, row in sorted(rows.items()):
        levels = row["raw_at_calibrated"]
        lines.append(
            f"| {method} | {row['crops_fitted']} | {row['verified_share'] * 100:.0f} % | {fmt(levels['25'])} | {fmt(levels['50'])} "
            f"| {fmt(levels['75'])} | {' / '.join(f'{v:.0f}' for v in row['calibrated_at_raw_quartiles'])} |"
        )
    (RESULTS / "calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
