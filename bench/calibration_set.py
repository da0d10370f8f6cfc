"""The calibration set behind the shipped 0–100 scores: a CelebA subset (never LFW), with identities.

``calibration_images(cap)`` gives up to ``cap`` images of every CelebA identity with at least two,
in file order, and their identity labels. ``python bench/calibration_set.py`` warms the cache
(detections and FaceNet/dlib embeddings) that ``bench/calibrate.py`` then reads.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
CELEBA = (REPO_ROOT / ".." / "shared" / "data" / "celeba").resolve()
DEFAULT_CAP = 7


def calibration_images(cap: int = DEFAULT_CAP, root: Path = CELEBA) -> tuple[list[Path], np.ndarray]:
    by_identity: dict[str, list[str]] = defaultdict(list)
    with (root / "identity.tsv").open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            by_identity[row["identity"]].append(row["file"])
    paths: list[Path] = []
    labels: list[int] = []
    for label, identity in enumerate(sorted(by_identity, key=int)):
        files = sorted(by_identity[identity])
        if len(files) < 2:
            continue
        chosen = files[:cap]
        paths += [root / "images" / name for name in chosen]
        labels += [label] * len(chosen)
    return paths, np.asarray(labels, np.int64)


if __name__ == "__main__":
    import torch

    from sealshot.evaluate.faces import detect_files, embed_image_files

    torch.set_num_threads(1)
    paths, labels = calibration_images()
    print(f"{len(paths)} images, {len(np.unique(labels))} identities", flush=True)
    faces = detect_files(paths, progress=lambda done, total: print(f"detect {done}/{total}", flush=True))
    print(f"faces: {int(faces.found.sum())}", flush=True)
    for name in sys.argv[1:] or ["facenet", "dlib"]:
        embed_image_files(name, paths, progress=lambda done, total, name=name: print(f"{name} {done}/{total}", flush=True))
    print("done", flush=True)
