"""Per-image cost of the recognition-based quality methods (SER-FIQ, EQFace, PFE, DUL), with and without the
comparator embedding they sit on.

    python bench/heads_cost.py [--images 64] [--threads 1]

Uses the first CelebA-subset images (training data; nothing is learned here). Writes
bench/results/heads_cost.json and .md. Head times are the best of 3 runs, comparator times one run on faces it has not seen, in ms per face.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from sealshot.detect import FaceBatch, MTCNNDetector
from sealshot.detect.stills import load_rgb
from sealshot.quality import get_quality
from sealshot.quality.recognition import comparator_inputs

ROOT = Path(__file__).resolve().parents[1]
CELEBA = ROOT / ".." / "shared" / "data" / "celeba"
RESULTS = ROOT / "bench" / "results"
METHODS = ("serfiq", "eqface", "pfe", "dul")
COMPARATORS = ("facenet", "dlib")


def load_faces(count: int) -> FaceBatch:
    with (CELEBA / "identity.tsv").open() as handle:
        files = [row["file"] for row in csv.DictReader(handle, delimiter="\t")][: count * 2]
    detector = MTCNNDetector()
    found: list[FaceBatch] = []
    for name in files:
        image = load_rgb(CELEBA / "images" / name)
        detections = detector.detect([image])[0]
        if not len(detections):
            continue
        found.append(FaceBatch.from_detections(image, detections[int(np.argmax(detections.scores))]))
        if len(found) == count:
            break
    return FaceBatch.concatenate(found)


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    both = load_faces(2 * args.images)
    half = len(both) // 2
    warm_up, faces = both[:half], both[half:]
    n = len(faces)
    rows = []
    for comparator in COMPARATORS:
        embedder = get_quality(f"dul-{comparator}")
        inputs = comparator_inputs(faces)
        embedder.comparator.embed(*comparator_inputs(warm_up))  # load the model on other faces
        # The comparator itself, once, on faces it has not seen: repeated identical inputs come back far
        # faster than fresh ones (something below caches them), and the methods' in-memory memo would too.
        started = time.perf_counter()
        embeddings = embedder.comparator.embed(*inputs)
        embedding_s = time.perf_counter() - started
        for method in METHODS:
            quality = get_quality(f"{method}-{comparator}")
            quality.score_embeddings(embeddings)  # load the head once
            head_s = best_of(3, lambda: quality.score_embeddings(embeddings))
            rows.append(
                {
                    "method": f"{method}-{comparator}",
                    "head_ms_per_face": round(1000 * head_s / n, 3),
                    "comparator_ms_per_face": round(1000 * embedding_s / n, 2),
                    "total_ms_per_face": round(1000 * (head_s + embedding_s) / n, 2),
                }
            )
    result = {
        "faces": n,
        "batch": n,
        "torch_threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "note": "heads: best of 3; comparator: one run on unseen faces; the machine's 2 cores were shared with other jobs, so absolute numbers are upper bounds",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "heads_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Per-face cost, batch of {n} CelebA faces, {args.threads} torch thread(s); heads best of 3, comparator one run on unseen faces; 2 shared cores (upper bounds).",
        "",
        "| method | head only (ms/face) | comparator embedding (ms/face) | total (ms/face) |",
        "|---|---:|---:|---:|",
        *[f"| {r['method']} | {r['head_ms_per_face']} | {r['comparator_ms_per_face']} | {r['total_ms_per_face']} |" for r in rows],
    ]
    (RESULTS / "heads_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
