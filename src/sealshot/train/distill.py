"""Train ``cr-distilled``: distil CR-FIQA-style recognisability from FaceNet and dlib into a small CNN.

Training data: the CelebA calibration subset (never LFW), each image clean and in ``copies`` degraded
copies. The degradations are the four families the VAE's denoising criterion uses (Gaussian blur,
downscaling, darkening, noise; log-uniform levels as in ``sealshot.train.degrade``), applied here to
the whole image with OpenCV so that the teachers see them as a camera would. Directional light,
motion blur, defocus, JPEG and occlusion stay out of training (the cross-quality benchmark holds them out).

Target per crop, per teacher (CR-FIQA, Boutros et al. 2023): cos(embedding, own identity centre) −
max cos(embedding, other identity centres), centres = normalised means of the clean embeddings; the
target is the mean over teachers. The student sees only the aligned 64×64 grey crop.

    python -m sealshot.train.distill [--copies 1] [--epochs 24]   # writes quality/weights/cr-distilled.pt
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from sealshot.quality.distilled import WEIGHTS, RecognisabilityNet, crops_to_tensor

KINDS = ("blur", "downscale", "darken", "noise")
RANGES = {"blur": (0.5, 5.0), "downscale": (1.5, 10.0), "darken": (0.1, 0.85), "noise": (3.0, 40.0)}
CACHE = Path(".cache") / "distill"


def degrade_for_training(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kind = KINDS[int(rng.integers(len(KINDS)))]
    low, high = RANGES[kind]
    level = math.exp(rng.uniform(math.log(low), math.log(high)))
    if kind == "blur":
        return cv2.GaussianBlur(image, (0, 0), level)
    if kind == "downscale":
        height, width = image.shape[:2]
        small = cv2.resize(image, (max(1, round(width / level)), max(1, round(height / level))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if kind == "darken":
        return np.clip(np.round(image.astype(np.float32) * level), 0, 255).astype(np.uint8)
    return np.clip(np.round(image.astype(np.float32) + rng.normal(0, level, image.shape)), 0, 255).astype(np.uint8)


def recognisability(embeddings: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    similarity = embeddings @ centres.T
    own = similarity[np.arange(len(labels)), labels]
    similarity[np.arange(len(labels)), labels] = -np.inf
    return own - similarity.max(axis=1)


def build(paths: Sequence[Path], labels: np.ndarray, teachers: Sequence[str], copies: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grey crops (M, 64, 64) uint8, targets (M,), identity (M,), is_clean (M,))."""
    from sealshot.detect.stills import faces_of_images, load_rgb
    from sealshot.evaluate.faces import detect_files, embed_image_files
    from sealshot.recognize import get_comparator

    faces = detect_files(paths)
    rows = np.flatnonzero(faces.found)
    key = hashlib.sha256(f"{[str(paths[i]) for i in rows]}/{copies}/{seed}/{teachers}".encode()).hexdigest()[:12]
    cache = CACHE / f"{key}.npz"
    identity = np.repeat(labels[rows], copies + 1)
    clean = np.tile(np.r_[True, np.zeros(copies, bool)], len(rows))
    if cache.is_file():
        saved = np.load(cache)
        return saved["crops"], saved["targets"], identity, clean
    rng = np.random.default_rng(seed)
    images, boxes, landmarks = [], [], []
    for i in rows:
        image = load_rgb(paths[i])
        for copy in range(copies + 1):
            images.append(image if copy == 0 else degrade_for_training(image, rng))
            boxes.append(faces.chosen.boxes[i])
            landmarks.append(faces.chosen.landmarks[i])
    boxes_array, landmarks_array = np.asarray(boxes), np.asarray(landmarks)
    crops = np.concatenate(
        [faces_of_images(images[s : s + 64], [faces.chosen[int(rows[k // (copies + 1)])] for k in range(s, min(s + 64, len(images)))]).gray for s in range(0, len(images), 64)]
    )
    _, dense = np.unique(identity, return_inverse=True)
    targets = np.zeros(len(images))
    for name in teachers:
        comparator = get_comparator(name)
        vectors = np.zeros((len(images), comparator.dim), np.float32)
        vectors[clean] = embed_image_files(name, [paths[i] for i in rows])[0][np.arange(len(rows))]  # cached by the benchmark
        degraded = np.flatnonzero(~clean)
        for s in range(0, len(degraded), 32):
            chunk = degraded[s : s + 32]
            vectors[chunk] = comparator.embed([images[k] for k in chunk], boxes_array[chunk], landmarks_array[chunk])
            if s % 640 == 0:
                print(f"[{time.strftime('%H:%M:%S')}] {name}: {s}/{len(degraded)}", flush=True)
        centres = np.stack([vectors[clean & (dense == c)].mean(axis=0) for c in range(dense.max() + 1)])
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        targets += recognisability(vectors, dense, centres) / len(teachers)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, crops=crops, targets=targets)
    return crops, targets, identity, clean


def train(crops: np.ndarray, targets: np.ndarray, identity: np.ndarray, epochs: int, seed: int, log=print) -> tuple[RecognisabilityNet, dict]:  # type: ignore[no-untyped-def]
    from scipy.stats import spearmanr

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    identities = np.unique(identity)
    held = set(rng.choice(identities, max(1, len(identities) // 10), replace=False).tolist())
    validation = np.isin(identity, list(held))
    x = crops_to_tensor(crops)
    y = torch.as_tensor(targets, dtype=torch.float32)
    model = RecognisabilityNet()
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    train_rows = np.flatnonzero(~validation)
    steps = epochs * math.ceil(len(train_rows) / 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(train_rows)
        for s in range(0, len(order), 64):
            batch = torch.as_tensor(order[s : s + 64])
            inputs = x[batch]
            if rng.random() < 0.5:
                inputs = torch.flip(inputs, dims=[3])
            loss = F.smooth_l1_loss(model(inputs), y[batch], beta=0.1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            model.eval()
            with torch.inference_mode():
                predicted = model(x[torch.as_tensor(np.flatnonzero(validation))]).numpy()
            rho = float(spearmanr(predicted, targets[validation]).statistic)
            log(f"epoch {epoch + 1}: loss {loss.item():.4f}, validation Spearman {rho:.3f}")
    model.eval()
    with torch.inference_mode():
        predicted = torch.cat([model(chunk) for chunk in torch.split(x, 256)]).numpy()
    meta = {"validation_spearman": float(spearmanr(predicted[validation], targets[validation]).statistic), "validation_identities": len(held)}
    return model, meta | {"predicted": predicted}


def main() -> int:
    import sys

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--teachers", default="facenet,dlib")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from calibration_set import calibration_images  # the CelebA subset: never LFW

    from sealshot.quality import get_quality
    from sealshot.detect import FaceBatch

    paths, labels = calibration_images()
    teachers = args.teachers.split(",")
    crops, targets, identity, clean = build(paths, labels, teachers, args.copies, args.seed)
    print(f"{len(crops)} crops, target mean {targets.mean():.3f} (clean {targets[clean].mean():.3f}, degraded {targets[~clean].mean():.3f})", flush=True)
    model, meta = train(crops, targets, identity, args.epochs, args.seed)
    predicted = meta.pop("predicted")
    vae = get_quality("vae").score(FaceBatch.from_crops(np.zeros((len(crops), 112, 112, 3), np.uint8), crops))
    meta |= {
        "teachers": teachers,
        "copies": args.copies,
        "trained_on": "CelebA calibration subset (bench/calibration_set.py), clean + degraded (blur, downscale, darken, noise)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "standardise": {
            "student_mean": float(predicted.mean()), "student_std": float(predicted.std()),
            "vae_mean": float(np.mean(vae)), "vae_std": float(np.std(vae)),
        },
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    torch.save({"config": model.config, "state_dict": state, "meta": meta}, args.out)
    print(f"saved {args.out}: {meta}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
