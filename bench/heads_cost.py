"""Per-image cost of the recognition-based quality methods (SER-FIQ, EQFace, PFE, DUL), with and without the
comparator embedding they sit on.

    python bench/heads_cost.py [--images 64] [--threads 1]

Uses the first CelebA-subset images (training data; nothing is learned here). Writes
bench/results/heads_cost.json and .md. Times are the best of 3 runs, in milliseconds per face.
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

from sealshot.detect import MTCNNDetector, align_detections
from sealshot.quality import FaceBatch, get_quality

ROOT = Path(__file__).resolve().parents[1]
CELEBA = ROOT / ".." / "shared" / "data" / "celeba"
RESULTS = ROOT / "bench" / "results"
METHODS = ("serfiq", "eqface", "pfe", "dul")
COMPARATORS = ("facenet", "dlib")


def load_faces(count: int) -> FaceBatch:
    with (CELEBA / "identity.tsv").open() as handle:
        files = [row["file"] for row in csv.DictReader(handle, delimiter="\t")][: count * 2]
    detector = MTCNNDetector()
    color, gray, boxes, scores, landmarks, sources = [], [], [], [], [], []
    for name in files:
        image = cv2.cvtColor(cv2.imread(str(CELEBA / "images" / name)), cv2.COLOR_BGR2RGB)
        detections = detector.detect([image])[0]
        if not len(detections):
            continue
        best = int(np.argmax(detections.scores))
        aligned = align_detections(image, detections)
        color.append(aligned.color[best])
        gray.append(aligned.gray[best])
        boxes.append(detections.boxes[best])
        scores.append(detections.scores[best])
        landmarks.append(detections.landmarks[best])
        sources.append(image)
        if len(sources) == count:
            break
    return FaceBatch(np.stack(color), np.stack(gray), np.stack(boxes), np.array(scores), np.stack(landmarks), tuple(sources))


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
    faces = load_faces(args.images)
    n = len(faces)
    rows = []
    for comparator in COMPARATORS:
        embedder = get_quality(f"dul-{comparator}")
        embedder.embed(faces)  # load the model once
        embedding_s = best_of(3, lambda: embedder.embed(faces))
        embeddings = embedder.embed(faces)
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
        "note": "best of 3; the machine's 2 cores were shared with other jobs, so absolute numbers are upper bounds",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "heads_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Per-face cost, batch of {n} CelebA faces, {args.threads} torch thread(s), best of 3.",
        "",
        "| method | head only (ms/face) | comparator embedding (ms/face) | total (ms/face) |",
        "|---|---:|---:|---:|",
        *[f"| {r['method']} | {r['head_ms_per_face']} | {r['comparator_ms_per_face']} | {r['total_ms_per_face']} |" for r in rows],
    ]
    (RESULTS / "heads_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
