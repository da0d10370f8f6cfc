"""EQFace (Liu & Tan, CVPR 2021): an explicit quality branch trained through the recognition loss.

The branch is FC → BN → ReLU → FC → Sigmoid on the frozen comparator embedding
and outputs ``s_i ∈ [0, 1]``. It is trained with the paper's loss (6), a
combined-margin softmax whose logits are scaled by ``s_i·S`` (S fixed): a face
far from its identity's class weight lowers its loss by lowering ``s_i``, a face
close to it by raising ``s_i``. The staged schedule (classifier with s_i = 1,
then the branch with the classifier frozen, then optionally the classifier
again, weighted by quality) lives in ``sealshot.train.heads``. Here the
"backbone" is the frozen comparator, so the classifier is the class-weight
matrix only.

``aggregate_embeddings`` is EQFace's quality-weighted aggregation of a track's
embeddings into one template.
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sealshot.quality.recognition import RecognitionQuality
from sealshot.quality.registry import register


class QualityBranch(nn.Module):
    """FC → BN → ReLU → FC → Sigmoid: one ``s_i ∈ [0, 1]`` per embedding."""

    def __init__(self, input_dim: int, hidden_dim: int = 512) -> None:
        super().__init__()
        self.config = {"input_dim": input_dim, "hidden_dim": hidden_dim}
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, 1),
            nn.Sigmoid(),
        )

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.layers(embeddings).squeeze(-1)


def combined_margin_logits(
    cosines: torch.Tensor, labels: torch.Tensor, margins: tuple[float, float, float] = (1.0, 0.3, 0.2)
) -> torch.Tensor:
    """The combined margin of equation (3) before scaling: ``cos(m1·θ_y + m2) − m3`` for the true class.

    (ArcFace's combined margin; with m1 = 1, as here, it equals the ``m1·cos(θ + m2) − m3`` form.)
    Other classes keep ``cos θ_j``. Where ``m1·θ + m2`` passes π the margined logit would rise again,
    so there, as in insightface, ``cos θ − m2·sin(m2) − m3`` continues it monotonically.
    """
    m1, m2, m3 = margins
    true_cos = cosines.gather(1, labels[:, None]).clamp(-1 + 1e-6, 1 - 1e-6)
    theta = torch.acos(true_cos)
    margined = torch.cos(m1 * theta + m2) - m3
    fallback = true_cos - m2 * float(np.sin(m2)) - m3
    target = torch.where(m1 * theta + m2 < torch.pi, margined, fallback)
    return cosines.scatter(1, labels[:, None], target)


def eqface_loss(
    cosines: torch.Tensor,
    labels: torch.Tensor,
    quality: torch.Tensor,
    scale: float,
    margins: tuple[float, float, float] = (1.0, 0.3, 0.2),
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Loss (6): cross-entropy of the combined-margin logits scaled by ``s_i·S``; optionally sample-weighted."""
    logits = quality[:, None] * scale * combined_margin_logits(cosines, labels, margins)
    losses = F.cross_entropy(logits, labels, reduction="none")
    if weights is None:
        return losses.mean()
    return (weights * losses).sum() / weights.sum().clamp_min(1e-8)


def aggregate_embeddings(
    embeddings: np.ndarray, qualities: np.ndarray, min_quality: float | None = None
) -> np.ndarray:
    """EQFace's quality-weighted template of a track: ``normalise(Σ q_i·f_i)``.

    ``embeddings``: ``(N, dim)`` L2-normalised rows; ``qualities``: ``(N,)``
    weights, higher is better. Faces that failed assessment (NaN) or score below
    ``min_quality`` are left out (the paper's progressive scheme drops
    low-quality frames); if none is left, the single best face is the template.
    Negative qualities are clipped to zero. Returns a ``(dim,)`` unit vector.
    """
    embeddings = np.asarray(embeddings, np.float64)
    qualities = np.asarray(qualities, np.float64).reshape(-1)
    if embeddings.ndim != 2 or len(embeddings) != len(qualities) or len(embeddings) == 0:
        raise ValueError(f"need (N, dim) embeddings and N qualities, got {embeddings.shape} and {qualities.shape}")
    usable = np.isfinite(qualities)
    if min_quality is not None:
        usable &= qualities >= min_quality
    weights = np.where(usable, np.clip(qualities, 0.0, None), 0.0)
    if weights.sum() <= 0:
        finite = np.where(np.isfinite(qualities), qualities, -np.inf)
        best = int(np.argmax(finite)) if np.isfinite(finite).any() else 0
        weights = np.zeros(len(qualities))
        weights[best] = 1.0
    template = weights @ embeddings
    norm = np.linalg.norm(template)
    return (template / norm if norm > 0 else embeddings[int(np.argmax(weights))]).astype(np.float32)


class EqFace(RecognitionQuality):
    method = "eqface"

    head_class = QualityBranch

    @torch.inference_mode()
    def score_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(np.ascontiguousarray(embeddings, np.float32))
        return self.head(tensor).double().numpy()


@register("eqface-facenet", "EQFace quality branch s_i in [0, 1] on FaceNet embeddings")
def _facenet() -> EqFace:
    return EqFace("facenet")


@register("eqface-dlib", "EQFace quality branch s_i in [0, 1] on dlib embeddings")
def _dlib() -> EqFace:
    return EqFace("dlib")
