"""Train ``cr-distilled``: distil CR-FIQA-style recognisability from FaceNet and dlib into a small CNN.

Training data: CelebA (never LFW). Every image of an identity with at least two images takes part in
the identity centres; the images of the calibration subset (``bench/calibration_set.py``, the first 7
of each identity) are kept out of the student's training, so the 0–100 calibration is fitted on crops
the student never saw. Each training image is used clean and in ``copies`` degraded copies.

Training degradations (our own OpenCV code, applied to the whole image so that the teachers see them
as a camera would; one kind per copy, a second kind on top in a quarter of the copies):

=========  ===============================================================
kind       what (level log-uniform in its range unless said)
=========  ===============================================================
blur       Gaussian blur, σ 0.5–5 px
downscale  area downscale by 1.5–10, bilinear back
darken     brightness × 0.08–0.85 and a gamma of 1–1.8
noise      Gaussian noise, σ 3–40 grey levels
shade      a side light: a smooth gain from 1 down to 0.05–0.7 across the face, at a random angle
jpeg       JPEG at quality 5–60 (uniform)
=========  ===============================================================

Motion blur, defocus (pill-box) blur and occlusion stay out of any training: the cross-quality
benchmark (``sealshot.evaluate.crossquality``) holds them out.

Target per crop, per teacher (CR-FIQA, Boutros et al. 2023): cos(embedding, own identity centre) −
max cos(embedding, other identity centres), centres = normalised means of the clean embeddings. Each
teacher's target is standardised (mean 0, standard deviation 1 over the training crops) and the
target is their mean. The student sees only the aligned 64×64 grey crop.

The steps, each resumable (teachers' embeddings are cached under ``.cache/distill``):

    python -m sealshot.train.distill teach --teacher facenet     # one process per teacher
    python -m sealshot.train.distill teach --teacher dlib
    python -m sealshot.train.distill dataset --out data.npz       # crops and targets
    python -m sealshot.train.distill fit --dataset data.npz [--device cuda]   # writes quality/weights/cr-distilled.pt

The shipped weights came from these defaults (2 degraded copies; width 32, 60 epochs, learning rate 0.002,
batch 128, seed 0), fitted on a GPU (about 40 s on an H100; not timed on a CPU). The teachers'
embeddings took about 35 minutes on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from sealshot.quality.distilled import WEIGHTS, RecognisabilityNet, crops_to_tensor

if TYPE_CHECKING:
    from sealshot.evaluate.faces import FileFaces

KINDS = ("blur", "downscale", "darken", "noise", "shade", "jpeg")
RANGES = {"blur": (0.5, 5.0), "downscale": (1.5, 10.0), "darken": (0.08, 0.85), "noise": (3.0, 40.0), "shade": (0.05, 0.7), "jpeg": (5.0, 60.0)}
SECOND_KIND_SHARE = 0.25
CACHE = Path(".cache") / "distill"
CHUNK = 64
TEACHERS = ("facenet", "dlib")


def _level(kind: str, rng: np.random.Generator) -> float:
    low, high = RANGES[kind]
    if kind == "jpeg":
        return float(rng.uniform(low, high))
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def apply_kind(image: np.ndarray, kind: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """One training degradation of an RGB uint8 image (same size)."""
    if kind == "blur":
        return cv2.GaussianBlur(image, (0, 0), level)
    if kind == "downscale":
        height, width = image.shape[:2]
        small = cv2.resize(image, (max(1, round(width / level)), max(1, round(height / level))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if kind == "darken":
        gamma = float(rng.uniform(1.0, 1.8))
        return np.clip(np.round(255.0 * (image.astype(np.float32) / 255.0) ** gamma * level), 0, 255).astype(np.uint8)
    if kind == "noise":
        return np.clip(np.round(image.astype(np.float32) + rng.normal(0, level, image.shape)), 0, 255).astype(np.uint8)
    if kind == "shade":
        height, width = image.shape[:2]
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        along = ((xs - width / 2) * np.cos(angle) + (ys - height / 2) * np.sin(angle)) / (0.35 * max(height, width))
        gain = level + (1 - level) / (1 + np.exp(2.5 * along))  # a smooth terminator, 1 on the lit side, `level` in shadow
        return np.clip(np.round(image.astype(np.float32) * gain[..., None]), 0, 255).astype(np.uint8)
    if kind == "jpeg":
        ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(round(level))])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
    raise ValueError(f"unknown degradation kind {kind!r}")


def degrade_for_training(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A degraded copy and the name of what was done (``kind`` or ``kind+kind``)."""
    kinds = [KINDS[int(rng.integers(len(KINDS)))]]
    if rng.random() < SECOND_KIND_SHARE:
        kinds.append(KINDS[int(rng.integers(len(KINDS)))])
    for kind in kinds:
        image = apply_kind(image, kind, _level(kind, rng), rng)
    return image, "+".join(kinds)


def recognisability(embeddings: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    similarity = embeddings @ centres.T
    own = similarity[np.arange(len(labels)), labels].copy()
    similarity[np.arange(len(labels)), labels] = -np.inf
    return own - similarity.max(axis=1)


@dataclass(frozen=True)
class Plan:
    """Which images take part, and the student's rows: ``copies + 1`` per training image (clean first)."""

    paths: tuple[Path, ...]
    identity: np.ndarray  # per image, dense 0..K-1
    faces: FileFaces  # per image: the face found in it, if any (detected once, cached)
    trains: np.ndarray  # per image: a student training image (found, not in the calibration subset)
    copies: int
    seed: int

    @property
    def training_images(self) -> np.ndarray:
        return np.flatnonzero(self.trains)

    @property
    def key(self) -> str:
        text = f"{[p.name for p in self.paths]}/{self.trains.tolist()}/{self.copies}/{self.seed}/{KINDS}/{RANGES}/{SECOND_KIND_SHARE}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def row_images(self) -> np.ndarray:
        return np.repeat(self.training_images, self.copies + 1)

    def row_copy(self) -> np.ndarray:
        return np.tile(np.arange(self.copies + 1), len(self.training_images))

    def chunks(
        self, load: Callable[[Path], np.ndarray], degraded_only: bool = False
    ) -> Iterator[tuple[np.ndarray, np.ndarray, list[np.ndarray], list[str]]]:
        """(student rows, the image each comes from, their images, their degradation names), a chunk at a time,
        reproducibly."""
        images_of, copy_of = self.row_images(), self.row_copy()
        wanted = np.flatnonzero(copy_of > 0) if degraded_only else np.arange(len(images_of))
        for start in range(0, len(wanted), CHUNK):
            rows = wanted[start : start + CHUNK]
            images, kinds = [], []
            cache: dict[int, np.ndarray] = {}
            for row in rows:
                index, copy = int(images_of[row]), int(copy_of[row])
                if index not in cache:
                    cache[index] = load(self.paths[index])
                if copy == 0:
                    images.append(cache[index])
                    kinds.append("clean")
                else:
                    degraded, kind = degrade_for_training(cache[index], np.random.default_rng([self.seed, index, copy]))
                    images.append(degraded)
                    kinds.append(kind)
            yield rows, images_of[rows], images, kinds


def make_plan(copies: int, seed: int) -> Plan:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from calibration_set import calibration_images  # the CelebA subset: never LFW

    from sealshot.evaluate.faces import detect_files

    paths, labels = calibration_images(cap=1_000_000)
    calibration = {str(p) for p in calibration_images()[0]}
    faces = detect_files(paths)
    _, identity = np.unique(labels, return_inverse=True)
    trains = faces.found & np.array([str(p) not in calibration for p in paths])
    return Plan(tuple(paths), identity, faces, trains, copies, seed)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def teach(plan: Plan, teacher: str) -> np.ndarray:
    """The teacher's embedding of every student row (cached), computed chunk by chunk."""
    from sealshot.detect.stills import load_rgb
    from sealshot.evaluate.faces import embed_image_files
    from sealshot.recognize import get_comparator

    path = CACHE / f"{plan.key}-{teacher}.npy"
    if path.is_file():
        return np.load(path)
    faces = plan.faces
    comparator = get_comparator(teacher)
    partial = CACHE / f"{plan.key}-{teacher}.partial.npy"
    total = len(plan.row_images())
    vectors = np.load(partial) if partial.is_file() else np.full((total, comparator.dim), np.nan, np.float32)
    clean_rows = np.flatnonzero(plan.row_copy() == 0)
    vectors[clean_rows] = embed_image_files(teacher, list(plan.paths))[0][plan.row_images()[clean_rows]]  # cached
    for number, (rows, index, images, _) in enumerate(plan.chunks(load_rgb, degraded_only=True)):
        if not np.isnan(vectors[rows[-1], 0]):
            continue
        vectors[rows] = comparator.embed(images, faces.chosen.boxes[index], faces.chosen.landmarks[index])
        if number % 10 == 0:
            _log(f"{teacher}: {rows[-1] + 1}/{total}")
            CACHE.mkdir(parents=True, exist_ok=True)
            np.save(partial, vectors)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    partial.unlink(missing_ok=True)
    return vectors


def targets_of(plan: Plan, teacher: str, vectors: np.ndarray) -> np.ndarray:
    """CR-FIQA recognisability of each student row under one teacher, centres from every clean image."""
    from sealshot.evaluate.faces import embed_image_files

    clean, found = embed_image_files(teacher, list(plan.paths))  # cached
    centres = np.stack([clean[found & (plan.identity == c)].mean(axis=0) for c in range(plan.identity.max() + 1)])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    normalised = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return recognisability(normalised, plan.identity[plan.row_images()], centres)


def dataset(plan: Plan, teachers: Sequence[str], out: Path) -> None:
    """Write the student's dataset: grey crops, per-teacher targets, identity, degradation name."""
    from sealshot.detect.stills import load_rgb
    from sealshot.quality import get_quality

    crops = np.zeros((len(plan.row_images()), 64, 64), np.uint8)
    vae = np.zeros(len(crops))
    kinds: list[str] = []
    for rows, index, images, names in plan.chunks(load_rgb):
        batch = plan.faces.batch(index, images)
        crops[rows] = batch.gray
        vae[rows] = get_quality("vae").score(batch)
        kinds += names
    per_teacher = {f"target_{name}": targets_of(plan, name, teach(plan, name)) for name in teachers}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, crops=crops, vae=vae, identity=plan.identity[plan.row_images()], kind=np.asarray(kinds), **per_teacher)
    _log(f"wrote {out}: {len(crops)} crops of {len(plan.training_images)} images")


def combined_target(data: dict[str, np.ndarray], teachers: Sequence[str]) -> tuple[np.ndarray, dict[str, list[float]]]:
    """Each teacher's target standardised over the crops, then averaged."""
    standardise: dict[str, list[float]] = {}
    total = np.zeros(len(data["crops"]))
    for name in teachers:
        values = np.asarray(data[f"target_{name}"], np.float64)
        standardise[name] = [float(values.mean()), float(values.std())]
        total += (values - values.mean()) / values.std()
    return total / len(teachers), standardise


def fit(
    crops: np.ndarray,
    targets: np.ndarray,
    identity: np.ndarray,
    *,
    width: int,
    epochs: int,
    seed: int,
    device: str = "cpu",
    batch_size: int = 128,
    lr: float = 3e-3,
    log: Callable[[str], None] = _log,
) -> tuple[RecognisabilityNet, dict]:
    """Train the student; 10 % of identities are held out for validation (Spearman with the target)."""
    from scipy.stats import spearmanr

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    identities = np.unique(identity)
    held = set(rng.choice(identities, max(1, len(identities) // 10), replace=False).tolist())
    validation = np.isin(identity, list(held))
    x = crops_to_tensor(crops).to(device)
    y = torch.as_tensor(targets, dtype=torch.float32, device=device)
    model = RecognisabilityNet(width=width).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    train_rows = np.flatnonzero(~validation)
    steps = epochs * math.ceil(len(train_rows) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)

    def predict(rows: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.inference_mode():
            index = torch.as_tensor(rows, device=device)
            return torch.cat([model(x[chunk]) for chunk in torch.split(index, 1024)]).float().cpu().numpy()

    for epoch in range(epochs):
        model.train()
        order = torch.as_tensor(rng.permutation(train_rows), device=device)
        for batch in torch.split(order, batch_size):
            inputs = x[batch]
            flip = torch.rand(len(batch), device=device) < 0.5
            inputs = torch.where(flip[:, None, None, None], torch.flip(inputs, dims=[3]), inputs)
            # small photometric jitter: the score should not hinge on exact exposure
            inputs = (inputs * (1 + 0.1 * (torch.rand(len(batch), 1, 1, 1, device=device) - 0.5))).clamp(0, 1)
            loss = F.smooth_l1_loss(model(inputs), y[batch], beta=0.5)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            rho = float(spearmanr(predict(np.flatnonzero(validation)), targets[validation]).statistic)
            log(f"epoch {epoch + 1}: loss {loss.item():.4f}, validation Spearman {rho:.3f}")
    model = model.cpu().eval()
    x, device = x.cpu(), "cpu"
    predicted = predict(np.arange(len(crops)))
    meta = {
        "validation_spearman": float(spearmanr(predicted[validation], targets[validation]).statistic),
        "validation_identities": len(held),
        "predicted_mean": float(predicted.mean()),
        "predicted_std": float(predicted.std()),
    }
    return model, meta


def save(model: RecognisabilityNet, meta: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    torch.save({"config": model.config, "state_dict": state, "meta": meta}, out)


def fit_command(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    loaded = np.load(args.dataset)
    data = {name: loaded[name] for name in loaded.files}
    teachers = args.teachers.split(",")
    targets, standardise = combined_target(data, teachers)
    _log(f"{len(targets)} crops; fitting width {args.width} for {args.epochs} epochs on {args.device}")
    model, meta = fit(data["crops"], targets, data["identity"], width=args.width, epochs=args.epochs, seed=args.seed, device=args.device, lr=args.lr)
    meta |= {
        "teachers": teachers,
        "teacher_standardise": standardise,
        "trained_on": "CelebA outside the calibration subset, clean + degraded (blur, downscale, darken, noise, shade, jpeg)",
        "crops": int(len(targets)),
        "parameters": sum(p.numel() for p in model.parameters()),
        "width": args.width,
        "epochs": args.epochs,
        "seed": args.seed,
        "standardise": {
            "student_mean": meta["predicted_mean"], "student_std": meta["predicted_std"],
            "vae_mean": float(np.mean(data["vae"])), "vae_std": float(np.std(data["vae"])),
        },
    }  # fmt: skip
    save(model, meta, args.out)
    _log(f"saved {args.out}: {json.dumps(meta)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    steps = parser.add_subparsers(dest="step", required=True)
    teach_parser = steps.add_parser("teach", help="embed every training crop with one teacher (cached)")
    teach_parser.add_argument("--teacher", choices=TEACHERS, required=True)
    data_parser = steps.add_parser("dataset", help="write crops and targets to an .npz")
    data_parser.add_argument("--teachers", default=",".join(TEACHERS))
    data_parser.add_argument("--out", type=Path, required=True)
    fit_parser = steps.add_parser("fit", help="train the student on a dataset .npz")
    fit_parser.add_argument("--dataset", type=Path, required=True)
    fit_parser.add_argument("--teachers", default=",".join(TEACHERS))
    fit_parser.add_argument("--width", type=int, default=32)
    fit_parser.add_argument("--epochs", type=int, default=60)
    fit_parser.add_argument("--lr", type=float, default=2e-3)
    fit_parser.add_argument("--device", default="cpu")
    fit_parser.add_argument("--threads", type=int, default=1)
    fit_parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    if args.step == "fit":
        return fit_command(args)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    plan = make_plan(args.copies, args.seed)
    _log(f"{len(plan.paths)} images, {len(plan.training_images)} for training, {len(plan.row_images())} student crops (plan {plan.key})")
    if args.step == "teach":
        teach(plan, args.teacher)
    else:
        dataset(plan, args.teachers.split(","), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
