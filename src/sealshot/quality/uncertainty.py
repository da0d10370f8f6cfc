"""Data uncertainty as quality: PFE (Shi & Jain, ICCV 2019) and DUL_rgs (Chang et al., CVPR 2020).

Both model a face as a Gaussian ``N(μ, diag σ²)`` in the embedding space, with
``μ`` the FROZEN comparator embedding and ``σ²`` predicted per dimension by a
small head: FC → BN → ReLU → FC → BN (a learned scale and shift, as in PFE)
giving ``log σ²``. They differ only in how the head is trained
(``sealshot.train.heads``):

- PFE: maximise the mutual likelihood score (MLS) of genuine pairs;
- DUL_rgs: regress ``μ`` onto its identity's class centre with the learned
  variance (Gaussian negative log-likelihood).

Quality is the **negative mean log variance**, ``−(1/D)·Σ_l log σ_l²``. It is,
up to constants, the negative differential entropy of the predicted Gaussian
(``½·Σ log σ²`` is exactly the term both training losses contain), so it asks
"how spread out is this face's distribution" with every dimension weighted
alike. The harmonic mean of σ² (PFE's own choice) is a mean of precisions,
dominated by the few most confident dimensions. On held-out CelebA identities
the two rank faces almost identically (each weight file's
``meta["validation"]`` reports both; neither wins on both heads), so the
entropy-based one is kept for its plainer meaning.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sealshot.quality.recognition import RecognitionQuality
from sealshot.quality.registry import register


class UncertaintyHead(nn.Module):
    """Embedding → FC → BN → ReLU → FC → BN(scale, shift) → per-dimension ``log σ²``."""

    def __init__(self, input_dim: int, hidden_dim: int = 256) -> None:
        super().__init__()
        self.config = {"input_dim": input_dim, "hidden_dim": hidden_dim}
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, input_dim),
            nn.BatchNorm1d(input_dim),
        )

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.layers(embeddings)


def mutual_likelihood_score(
    mu_a: torch.Tensor, log_var_a: torch.Tensor, mu_b: torch.Tensor, log_var_b: torch.Tensor
) -> torch.Tensor:
    """PFE's MLS: ``−½·Σ_l [(μ_a − μ_b)²/(σ_a² + σ_b²) + log(σ_a² + σ_b²)] − (D/2)·log 2π`` per pair."""
    variance = log_var_a.exp() + log_var_b.exp()
    terms = (mu_a - mu_b) ** 2 / variance + variance.log()
    return -0.5 * terms.sum(-1) - 0.5 * mu_a.shape[-1] * math.log(2 * math.pi)


def regression_nll(mu: torch.Tensor, log_var: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """DUL_rgs: ``Σ_l [(w_c − μ)²/(2σ²) + ½·log σ²]`` per face (the Gaussian NLL without its constant)."""
    return ((centres - mu) ** 2 / (2 * log_var.exp()) + 0.5 * log_var).sum(-1)


def negative_mean_log_variance(log_var: torch.Tensor) -> torch.Tensor:
    return -log_var.mean(-1)


def negative_log_harmonic_variance(log_var: torch.Tensor) -> torch.Tensor:
    """``−log(harmonic mean of σ²) = log(mean of 1/σ²)``: the alternative reduction, for comparison."""
    return torch.logsumexp(-log_var, dim=-1) - math.log(log_var.shape[-1])


class _UncertaintyQuality(RecognitionQuality):
    head_class = UncertaintyHead

    @torch.inference_mode()
    def score_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(np.ascontiguousarray(embeddings, np.float32))
        return negative_mean_log_variance(self.head(tensor)).double().numpy()


class Pfe(_UncertaintyQuality):
    method = "pfe"


class Dul(_UncertaintyQuality):
    method = "dul"


@register("pfe-facenet", "PFE: negative mean log variance of an MLS-trained uncertainty head on FaceNet embeddings")
def _pfe_facenet() -> Pfe:
    return Pfe("facenet")


@register("pfe-dlib", "PFE: negative mean log variance of an MLS-trained uncertainty head on dlib embeddings")
def _pfe_dlib() -> Pfe:
    return Pfe("dlib")


@register("dul-facenet", "DUL_rgs: negative mean log variance of a class-centre regression head on FaceNet")
def _dul_facenet() -> Dul:
    return Dul("facenet")


@register("dul-dlib", "DUL_rgs: negative mean log variance of a class-centre regression head on dlib")
def _dul_dlib() -> Dul:
    return Dul("dlib")
