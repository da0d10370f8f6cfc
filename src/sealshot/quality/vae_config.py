"""The VAE's architecture settings: plain data (no torch), so that commands can name its defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VAEConfig:
    """Architecture of the VAE. Five stride-2 blocks take 64×64 to 2×2 and back."""

    latent_dim: int = 64
    encoder_channels: tuple[int, ...] = (8, 16, 32, 64, 128)
    decoder_channels: tuple[int, ...] = (64, 32, 16, 8, 8)
    min_sigma: float = 0.01  # lower bound on σ_x, in units of [0, 1] pixels
    samples: int = 10  # L, latent samples for the reconstruction probability
    epsilon_seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "VAEConfig":
        values = dict(values)
        for key in ("encoder_channels", "decoder_channels"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)
