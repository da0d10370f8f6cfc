"""What training runs with unless told otherwise: plain data (no torch), so that commands can name the defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sealshot.quality.vae_config import VAEConfig

DEFAULT_SEED = 0
VAE_CROPS_CACHE_DIR = Path(".cache") / "vae-crops"
"""Where the aligned training crops of public data are cached (git-ignored)."""

HEAD_METHODS = ("serfiq", "eqface", "pfe", "dul")
"""The recognition-based quality heads ``sealshot train head`` trains."""


@dataclass(frozen=True)
class TrainConfig:
    """Training of the VAE (``sealshot.train.vae``)."""

    epochs: int = 16
    batch_size: int = 64
    learning_rate: float = 2e-3
    min_learning_rate: float = 1e-4  # end of the cosine schedule
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    seed: int = DEFAULT_SEED
    max_shift: int = 2  # random translation in pixels (replicate padding), with a horizontal flip
    kl_warmup_epochs: float = 1.0  # KL weight rises linearly from 0 to 1 over this many epochs
    denoise_probability: float = 0.8  # share of crops the encoder sees degraded (0: the paper's plain ELBO)
    kl_weight: float = 1.0  # β, the weight of the KL term after warm-up (1: the ELBO)
    model: VAEConfig = field(default_factory=VAEConfig)
