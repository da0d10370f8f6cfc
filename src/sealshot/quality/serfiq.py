"""SER-FIQ, on-top variant (Terhörst et al., CVPR 2020): stochastic embedding robustness.

A small network with dropout sits on the frozen comparator embedding and was
trained to separate identities (AM-softmax, see ``sealshot.train.heads``).
Quality is the agreement of ``m = 100`` stochastic forward passes with dropout
active: ``q = 2·sigmoid(−(2/m²)·Σ_{i<j} ‖x_i − x_j‖)`` over the L2-normalised
outputs (equation 1 of the paper), in (0, 1].

Determinism: the m dropout masks are a fixed bank drawn once from a fixed seed,
so a face always gets the same score, whatever else is in the batch. The m
passes run as one batched matrix product: only the layer after the dropout is
repeated, the layers before it run once per face.
"""

from __future__ import annotations

import copy

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sealshot.quality.recognition import RecognitionQuality
from sealshot.quality.registry import register

PASSES = 100
MASK_SEED = 20200613  # any fixed value; it only has to stay the same
_CHUNK = 64  # faces per batched product: 64 × 100 × hidden floats at a time


class SerFiqHead(nn.Module):
    """Embedding → Linear → BN → ReLU → Dropout → Linear → L2-normalised output."""

    def __init__(self, input_dim: int, hidden_dim: int = 512, output_dim: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        self.config = {"input_dim": input_dim, "hidden_dim": hidden_dim, "output_dim": output_dim, "dropout": dropout}
        self.hidden = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU())
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_dim, output_dim)
        self.register_buffer("masks", dropout_masks(PASSES, hidden_dim, dropout), persistent=False)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.output(self.dropout(self.hidden(embeddings))), dim=-1)

    def stochastic_outputs(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(N, m, output_dim)`` normalised outputs, one per dropout mask of the fixed bank."""
        hidden = self.hidden(embeddings)
        dropped = hidden[:, None, :] * self.masks[None]
        return F.normalize(self.output(dropped), dim=-1)


def dropout_masks(passes: int, width: int, rate: float, seed: int = MASK_SEED) -> torch.Tensor:
    """A fixed bank of inverted-dropout masks, ``(passes, width)``."""
    generator = torch.Generator().manual_seed(seed)
    keep = torch.rand(passes, width, generator=generator) >= rate
    return keep.to(torch.float32) / (1.0 - rate)


def robustness_quality(outputs: torch.Tensor) -> torch.Tensor:
    """Equation 1 of SER-FIQ on ``(N, m, d)`` stochastic outputs: ``2·sigmoid(−(2/m²)·Σ_{i<j} d(x_i, x_j))``."""
    passes = outputs.shape[1]
    # Direct differences, not cdist's ‖x‖² + ‖y‖² − 2x·y shortcut: the outputs of one face are close, and
    # that shortcut's cancellation made the 6th digit depend on the batch and the BLAS kernel.
    distances = torch.cdist(outputs, outputs, compute_mode="donot_use_mm_for_euclid_dist")  # (N, m, m), symmetric
    pair_sum = distances.sum(dim=(1, 2)) / 2.0
    return 2.0 * torch.sigmoid(-(2.0 / passes**2) * pair_sum)


@torch.inference_mode()
def serfiq_quality(head: SerFiqHead, embeddings: np.ndarray) -> np.ndarray:
    """SER-FIQ quality of each row of ``(N, dim)`` embeddings, in chunks to bound memory."""
    # In float64, so a face's score repeats to the last printed digit whatever its batch, the thread count
    # or the machine (float32 left the 6th digit to chance). The shipped head is loaded in float64 once
    # (``SerFiq.build_head``); a float32 head (training, tests) is scored on a float64 copy.
    exact = head if next(head.parameters()).dtype == torch.float64 else copy.deepcopy(head).to(torch.float64).eval()
    tensor = torch.as_tensor(np.ascontiguousarray(embeddings, np.float64))
    scores = [robustness_quality(exact.stochastic_outputs(chunk)) for chunk in torch.split(tensor, _CHUNK)]
    return torch.cat(scores).numpy() if scores else np.zeros(0)


class SerFiq(RecognitionQuality):
    method = "serfiq"

    head_class = SerFiqHead

    def build_head(self, saved: dict[str, Any]) -> torch.nn.Module:
        return super().build_head(saved).to(torch.float64)

    def score_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        return serfiq_quality(self.head, embeddings)


@register("serfiq-facenet", "SER-FIQ on-top: agreement of 100 dropout passes of a head on FaceNet embeddings")
def _facenet() -> SerFiq:
    return SerFiq("facenet")


@register("serfiq-dlib", "SER-FIQ on-top: agreement of 100 dropout passes of a head on dlib embeddings")
def _dlib() -> SerFiq:
    return SerFiq("dlib")
