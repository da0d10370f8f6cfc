"""Training of the recognition-based quality heads (SER-FIQ, EQFace, PFE, DUL_rgs) on frozen embeddings.

Data: the CelebA subset in ``<shared>/celeba`` (images + ``identity.tsv``),
embedded once by a comparator (``sealshot.recognize``), cached on disk by the
benchmark's ``sealshot.evaluate.faces`` (so the benchmark and training share embeddings). Never LFW: it is the test set. A tenth of the
identities is held out to validate each head; the validation numbers travel in
the weight file's ``meta``.

Every function here is deterministic for a given seed (single-threaded CPU).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

from sealshot.errors import InputError
from sealshot.quality.eqface import QualityBranch, eqface_loss
from sealshot.quality.recognition import COMPARATORS, save_head, weights_path
from sealshot.quality.serfiq import SerFiqHead, serfiq_quality
from sealshot.quality.uncertainty import (
    UncertaintyHead,
    mutual_likelihood_score,
    negative_log_harmonic_variance,
    negative_mean_log_variance,
    regression_nll,
)
from sealshot.recognize import UnknownComparator
from sealshot.train.config import DEFAULT_SEED, HEAD_METHODS

METHODS = HEAD_METHODS

# dlib's 128-d space is angularly tighter than FaceNet's: with FaceNet's margins (ArcFace 0.3 + CosFace 0.2) most
# dlib training faces never clear the margin, and stage 3 collapsed every s_i towards 0 (mean 0.02). Halved
# margins were chosen on the held-out CelebA identities (never LFW).
EQFACE_MARGINS = {"facenet": (1.0, 0.3, 0.2), "dlib": (1.0, 0.15, 0.1)}
VALIDATION_FRACTION = 0.1
BATCH_SIZE = 256

# A stage name, steps done, steps in total; the CLI turns it into a progress bar.
ProgressCallback = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass
class EmbeddingSet:
    """L2-normalised embeddings of labelled faces: ``(N, dim)`` float32 and ``(N,)`` identity indices."""

    embeddings: np.ndarray
    labels: np.ndarray
    files: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.embeddings = np.ascontiguousarray(self.embeddings, np.float32)
        _, self.labels = np.unique(np.asarray(self.labels), return_inverse=True)

    @property
    def classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def subset(self, mask: np.ndarray) -> "EmbeddingSet":
        files = [name for name, keep in zip(self.files, mask) if keep]
        return EmbeddingSet(self.embeddings[mask], self.labels[mask], files)


@dataclass
class TrainedHead:
    method: str
    head: nn.Module
    meta: dict[str, Any]


def default_data_dir() -> Path:
    """``<repo>/../shared/data``, the shared read-only data next to the repository."""
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def load_celeba_embeddings(
    comparator: str,
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    progress: ProgressCallback = _no_progress,
) -> EmbeddingSet:
    """Embed (or read from the evaluate cache) the central face of every CelebA-subset image that has one."""
    from sealshot.evaluate.faces import embed_image_files

    celeba = (data_dir or default_data_dir()) / "celeba"
    table = celeba / "identity.tsv"
    if not table.is_file():
        raise InputError(f"CelebA subset not found at {celeba} (need images/ and identity.tsv)")
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    paths = [celeba / "images" / row["file"] for row in rows]
    embeddings, found = embed_image_files(
        comparator, paths, cache_dir=cache_dir, progress=lambda done, total: progress("embedding", done, total)
    )
    found = np.asarray(found, bool)
    labels = np.array([int(row["identity"]) for row in rows])
    return EmbeddingSet(np.asarray(embeddings)[found], labels[found], [r["file"] for r, k in zip(rows, found) if k])


def split_identities(labels: np.ndarray, fraction: float = VALIDATION_FRACTION, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Boolean mask of the training faces; ``fraction`` of the identities (not faces) is held out."""
    identities = np.unique(labels)
    rng = np.random.default_rng(seed)
    held_out = rng.choice(identities, size=max(1, int(round(fraction * len(identities)))), replace=False)
    return ~np.isin(labels, held_out)


def genuine_similarity(data: EmbeddingSet) -> np.ndarray:
    """Per face, the mean cosine similarity to the other faces of its identity (NaN if it has none)."""
    similarity = data.embeddings @ data.embeddings.T
    same = data.labels[:, None] == data.labels[None, :]
    np.fill_diagonal(same, False)
    counts = same.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, (similarity * same).sum(1) / counts, np.nan)


def quality_agreement(quality: np.ndarray, data: EmbeddingSet) -> float:
    """Spearman correlation of quality with genuine similarity on held-out faces: the validation figure."""
    target = genuine_similarity(data)
    keep = np.isfinite(target) & np.isfinite(quality)
    if keep.sum() < 3:
        return float("nan")
    return float(spearmanr(quality[keep], target[keep]).statistic)


def reject_gain(quality: np.ndarray, data: EmbeddingSet, reject: float = 0.2, fmr: float = 1e-2) -> float:
    """FNMR after rejecting the lowest-quality ``reject`` of genuine pairs, over FNMR before (1.0: no gain).

    Threshold fixed from all impostor pairs of ``data`` at ``fmr``; a pair's quality is the lower of its
    two faces' (as in the ERC paper protocol). A small, quick cousin of the ERC benchmark for validation.
    """
    similarity = data.embeddings @ data.embeddings.T
    first, second = np.triu_indices(len(data.labels), k=1)
    genuine = data.labels[first] == data.labels[second]
    threshold = np.quantile(similarity[first[~genuine], second[~genuine]], 1 - fmr)
    scores = similarity[first[genuine], second[genuine]]
    pair_quality = np.minimum(quality[first[genuine]], quality[second[genuine]])
    before = np.mean(scores < threshold)
    kept = np.argsort(-pair_quality, kind="stable")[: int(round((1 - reject) * len(scores)))]
    return float(np.mean(scores[kept] < threshold) / before) if before > 0 else float("nan")


def _batches(count: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(count)
    return [order[start : start + batch_size] for start in range(0, count, batch_size)]


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array))


# --- the one training loop --------------------------------------------------------------------------

Batch = TypeVar("Batch")


@dataclass(frozen=True)
class FitResult:
    final_loss: float
    correct: int
    """Training faces classified right during the last epoch (0 for heads without a classifier)."""


def _fit(
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batches: Callable[[], Iterable[Batch]],
    step_loss: Callable[[Batch], tuple[torch.Tensor, int]],
    stage: str,
    progress: ProgressCallback,
) -> FitResult:
    """Every head's loop: per epoch, ``batches()`` (the method's batching) and one optimiser step per batch
    on ``step_loss`` (the method's loss, and how many faces of the batch its classifier got right)."""
    last, correct = float("nan"), 0
    for epoch in range(epochs):
        correct = 0
        for batch in batches():
            loss, right = step_loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            last, correct = loss.item(), correct + right
        progress(stage, epoch + 1, epochs)
    return FitResult(last, correct)


def _right(cosines: torch.Tensor, labels: torch.Tensor) -> int:
    return int((cosines.argmax(1) == labels).sum())


def _shuffled(count: int, rng: np.random.Generator) -> Callable[[], list[np.ndarray]]:
    return lambda: _batches(count, BATCH_SIZE, rng)


# --- SER-FIQ ---------------------------------------------------------------------------------------


def train_serfiq(
    train: EmbeddingSet,
    epochs: int = 30,
    seed: int = DEFAULT_SEED,
    am_scale: float = 30.0,
    am_margin: float = 0.35,
    progress: ProgressCallback = _no_progress,
) -> tuple[SerFiqHead, dict[str, Any]]:
    """The on-top network with dropout, trained with AM-softmax (CosFace) to separate identities."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = SerFiqHead(train.embeddings.shape[1])
    class_weights = nn.Parameter(F.normalize(torch.randn(train.classes, head.config["output_dim"]), dim=1))
    optimizer = torch.optim.Adam([*head.parameters(), class_weights], lr=1e-3, weight_decay=5e-4)
    x, y = _tensor(train.embeddings), _tensor(train.labels)

    def step_loss(batch: np.ndarray) -> tuple[torch.Tensor, int]:
        cosines = head(x[batch]) @ F.normalize(class_weights, dim=1).T
        margin = F.one_hot(y[batch], train.classes) * am_margin
        return F.cross_entropy(am_scale * (cosines - margin), y[batch]), _right(cosines, y[batch])

    head.train()
    fit = _fit(optimizer, epochs, _shuffled(len(y), rng), step_loss, "serfiq", progress)
    head.eval()
    return head, {"epochs": epochs, "am_scale": am_scale, "am_margin": am_margin, "train_accuracy": fit.correct / len(y)}


# --- EQFace ----------------------------------------------------------------------------------------


def _train_classifier(
    class_weights: nn.Parameter,
    x: torch.Tensor,
    y: torch.Tensor,
    quality: torch.Tensor,
    epochs: int,
    scale: float,
    margins: tuple[float, float, float],
    rng: np.random.Generator,
    stage: str,
    progress: ProgressCallback,
) -> float:
    def step_loss(batch: np.ndarray) -> tuple[torch.Tensor, int]:
        cosines = x[batch] @ F.normalize(class_weights, dim=1).T
        return eqface_loss(cosines, y[batch], quality[batch], scale, margins), _right(cosines, y[batch])

    optimizer = torch.optim.Adam([class_weights], lr=1e-2)
    return _fit(optimizer, epochs, _shuffled(len(y), rng), step_loss, stage, progress).correct / len(y)


def _train_branch(
    branch: QualityBranch,
    class_weights: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    scale: float,
    margins: tuple[float, float, float],
    rng: np.random.Generator,
    stage: str,
    progress: ProgressCallback,
) -> None:
    frozen = F.normalize(class_weights.detach(), dim=1)

    def step_loss(batch: np.ndarray) -> tuple[torch.Tensor, int]:
        return eqface_loss(x[batch] @ frozen.T, y[batch], branch(x[batch]), scale, margins), 0

    optimizer = torch.optim.Adam(branch.parameters(), lr=1e-3, weight_decay=5e-4)
    branch.train()
    _fit(optimizer, epochs, _shuffled(len(y), rng), step_loss, stage, progress)
    branch.eval()


def train_eqface(
    train: EmbeddingSet,
    epochs: int = 25,
    seed: int = DEFAULT_SEED,
    scale: float = 32.0,
    margins: tuple[float, float, float] = (1.0, 0.3, 0.2),
    retrain_classifier: bool = True,
    progress: ProgressCallback = _no_progress,
) -> tuple[QualityBranch, dict[str, Any]]:
    """EQFace's staged schedule on a frozen embedding.

    1. the classifier (class weights) with ``s_i = 1``;
    2. the quality branch with the classifier frozen, loss (6);
    3. (``retrain_classifier``) the classifier again with ``s_i`` from the frozen branch,
       then step 2 once more (continuing the branch) so that it matches the final classifier.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _tensor(train.embeddings), _tensor(train.labels)
    dim = x.shape[1]
    class_weights = nn.Parameter(F.normalize(torch.randn(train.classes, dim), dim=1))
    ones = torch.ones(len(y))
    meta: dict[str, Any] = {"epochs_per_stage": epochs, "scale": scale, "margins": list(margins)}
    meta["stage1_train_accuracy"] = _train_classifier(
        class_weights, x, y, ones, epochs, scale, margins, rng, "eqface stage 1: classifier", progress
    )
    branch = QualityBranch(dim)
    _train_branch(branch, class_weights, x, y, epochs, scale, margins, rng, "eqface stage 2: quality", progress)
    if retrain_classifier:
        with torch.no_grad():
            quality = branch(x)
        meta["stage3_train_accuracy"] = _train_classifier(
            class_weights, x, y, quality, epochs, scale, margins, rng, "eqface stage 3: classifier", progress
        )
        _train_branch(branch, class_weights, x, y, epochs, scale, margins, rng, "eqface stage 2 again", progress)
    with torch.no_grad():
        quality = branch(x).numpy()
    meta["train_quality_range"] = [float(quality.min()), float(quality.mean()), float(quality.max())]
    return branch, meta


# --- PFE and DUL_rgs ---------------------------------------------------------------------------------


def _class_centres(train: EmbeddingSet) -> np.ndarray:
    sums = np.zeros((train.classes, train.embeddings.shape[1]), np.float64)
    np.add.at(sums, train.labels, train.embeddings)
    return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)


def _initial_log_variance(train: EmbeddingSet) -> float:
    """Mean per-dimension squared distance to the class centre, as a starting log σ² (the BN shift)."""
    residual = train.embeddings - _class_centres(train)[train.labels]
    return float(np.log(np.mean(residual**2)))


def _uncertainty_head(train: EmbeddingSet) -> UncertaintyHead:
    head = UncertaintyHead(train.embeddings.shape[1])
    with torch.no_grad():
        head.layers[-1].bias.fill_(_initial_log_variance(train))
        head.layers[-1].weight.fill_(0.1)
    return head


def _identity_batches(
    labels: np.ndarray, identities_per_batch: int, per_identity: int, rng: np.random.Generator
) -> Iterator[list[np.ndarray]]:
    """Batches of ``identities_per_batch`` identities × up to ``per_identity`` faces, covering each identity once."""
    by_identity = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    by_identity = [faces for faces in by_identity if len(faces) >= 2]
    order = rng.permutation(len(by_identity))
    for start in range(0, len(order), identities_per_batch):
        chosen = [by_identity[i] for i in order[start : start + identities_per_batch]]
        yield [rng.choice(faces, size=min(per_identity, len(faces)), replace=False) for faces in chosen]


def train_pfe(
    train: EmbeddingSet,
    epochs: int = 150,
    seed: int = DEFAULT_SEED,
    identities_per_batch: int = 64,
    per_identity: int = 4,
    progress: ProgressCallback = _no_progress,
) -> tuple[UncertaintyHead, dict[str, Any]]:
    """PFE: maximise the mutual likelihood score of all genuine pairs in identity-balanced batches."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = _uncertainty_head(train)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=5e-4)
    x = _tensor(train.embeddings)

    def step_loss(groups: list[np.ndarray]) -> tuple[torch.Tensor, int]:
        faces = np.concatenate(groups)
        group = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
        first, second = np.triu_indices(len(faces), k=1)
        genuine = group[first] == group[second]
        first, second = _tensor(first[genuine]), _tensor(second[genuine])
        mu = x[faces]
        log_var = head(mu)
        return -mutual_likelihood_score(mu[first], log_var[first], mu[second], log_var[second]).mean(), 0

    head.train()
    fit = _fit(optimizer, epochs, lambda: _identity_batches(train.labels, identities_per_batch, per_identity, rng), step_loss, "pfe", progress)
    head.eval()
    return head, {"epochs": epochs, "identities_per_batch": identities_per_batch, "per_identity": per_identity,
                  "final_loss": fit.final_loss}


def train_dul(
    train: EmbeddingSet,
    epochs: int = 40,
    seed: int = DEFAULT_SEED,
    progress: ProgressCallback = _no_progress,
) -> tuple[UncertaintyHead, dict[str, Any]]:
    """DUL_rgs: regress the frozen embedding onto its class centre (normalised class mean) with learned variance."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = _uncertainty_head(train)
    centres = _tensor(_class_centres(train))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=5e-4)
    x, y = _tensor(train.embeddings), _tensor(train.labels)

    def step_loss(batch: np.ndarray) -> tuple[torch.Tensor, int]:
        return regression_nll(x[batch], head(x[batch]), centres[y[batch]]).mean(), 0

    head.train()
    fit = _fit(optimizer, epochs, _shuffled(len(y), rng), step_loss, "dul", progress)
    head.eval()
    return head, {"epochs": epochs, "centres": "normalised class means of the training faces", "final_loss": fit.final_loss}


# --- one entry point -------------------------------------------------------------------------------


def _figures(quality: np.ndarray, validation: EmbeddingSet, suffix: str = "") -> dict[str, float]:
    return {
        f"spearman_vs_genuine_similarity{suffix}": round(quality_agreement(quality, validation), 4),
        f"fnmr_ratio_at_20pct_reject{suffix}": round(reject_gain(quality, validation), 4),
    }


@torch.inference_mode()
def _validation(method: str, head: nn.Module, validation: EmbeddingSet) -> dict[str, float]:
    x = _tensor(validation.embeddings)
    if method == "serfiq":
        return _figures(serfiq_quality(head, validation.embeddings), validation)
    if method == "eqface":
        return _figures(head(x).numpy(), validation)
    log_var = head(x)
    return {
        **_figures(negative_mean_log_variance(log_var).numpy(), validation),
        **_figures(negative_log_harmonic_variance(log_var).numpy(), validation, "_harmonic_mean_variant"),
    }


def train_method(
    method: str, data: EmbeddingSet, seed: int = DEFAULT_SEED, progress: ProgressCallback = _no_progress, **options: Any
) -> TrainedHead:
    """Train one head on ``data`` (identity split inside), with validation on held-out identities."""
    if method not in METHODS:
        raise InputError(f"unknown head method {method!r}; expected one of {', '.join(METHODS)}")
    train_mask = split_identities(data.labels, seed=seed)
    train, validation = data.subset(train_mask), data.subset(~train_mask)
    trainer = {"serfiq": train_serfiq, "eqface": train_eqface, "pfe": train_pfe, "dul": train_dul}[method]
    started = time.perf_counter()
    head, meta = trainer(train, seed=seed, progress=progress, **options)
    meta.update(
        method=method,
        seed=seed,
        train_faces=int(train_mask.sum()),
        train_identities=train.classes,
        validation_faces=int((~train_mask).sum()),
        validation_identities=validation.classes,
        validation=_validation(method, head, validation),
        train_seconds=round(time.perf_counter() - started, 1),
        torch=str(torch.__version__),
    )
    return TrainedHead(method, head, meta)


def train_head(
    method: str,
    comparator: str,
    out: Path | None = None,
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    seed: int = DEFAULT_SEED,
    progress: ProgressCallback = _no_progress,
) -> tuple[Path, dict[str, Any]]:
    """Embed the CelebA subset with ``comparator``, train ``method``'s head, and save it (default: the shipped path)."""
    if comparator not in COMPARATORS:
        raise UnknownComparator(comparator)
    data = load_celeba_embeddings(comparator, data_dir, cache_dir, progress)
    options = {"margins": EQFACE_MARGINS[comparator]} if method == "eqface" else {}
    trained = train_method(method, data, seed=seed, progress=progress, **options)
    trained.meta.update(comparator=comparator, data="CelebA subset (shared/data/celeba)")
    path = out or weights_path(method, comparator)
    save_head(path, dict(trained.head.config), trained.head.state_dict(), trained.meta)
    return path, trained.meta

