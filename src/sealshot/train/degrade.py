"""Synthetic degradations of grey face crops, for the VAE's denoising criterion.

The VAE is trained on good faces only. With the denoising criterion (Im et al., AAAI 2017,
"Denoising criterion for variational auto-encoding framework") the encoder sometimes sees a
degraded copy of a crop and the decoder must still assign a high likelihood to the *clean*
crop. The model then learns what a good face looks like rather than how to copy any input:
a blurred, dark or noisy crop is decoded towards a clean face, and its own pixels get a low
reconstruction probability. No labels, identities or recognition models are involved.

Each degraded image gets one kind of damage, at a level drawn log-uniformly from a range:

- Gaussian blur, σ in pixels;
- downscaling by a factor (area average, then bilinear back to 64×64);
- darkening, a brightness factor;
- additive Gaussian noise, σ in grey levels.

Results are clipped and rounded to 8-bit grey levels, as a camera crop would be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

KINDS = ("blur", "downscale", "darken", "noise")


@dataclass(frozen=True)
class DegradationRanges:
    blur_sigma: tuple[float, float] = (0.5, 5.0)
    downscale_factor: tuple[float, float] = (1.5, 10.0)
    brightness: tuple[float, float] = (0.1, 0.85)
    noise_sigma: tuple[float, float] = (3.0, 40.0)  # grey levels of 255


def _log_uniform(low: float, high: float, count: int, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(count, generator=generator, dtype=torch.float64)
    return torch.exp(math.log(low) + u * (math.log(high) - math.log(low))).float()


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image of ``x`` ``(N, 1, H, W)`` with its own σ (``(N,)``, pixels); reflected borders."""
    radius = max(1, int(math.ceil(3.0 * float(sigma.max()))))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets[None, :] / sigma[:, None]) ** 2)
    kernel = kernel / kernel.sum(1, keepdim=True)  # (N, K)
    n, _, height, width = x.shape
    radius_y, radius_x = min(radius, height - 1), min(radius, width - 1)
    images = F.pad(x.reshape(1, n, height, width), (radius_x, radius_x, radius_y, radius_y), mode="reflect")
    trim_y, trim_x = radius - radius_y, radius - radius_x
    horizontal = kernel[:, trim_x : kernel.shape[1] - trim_x]
    vertical = kernel[:, trim_y : kernel.shape[1] - trim_y]
    images = F.conv2d(images, horizontal[:, None, None, :], groups=n)
    images = F.conv2d(images, vertical[:, None, :, None], groups=n)
    return images.reshape(n, 1, height, width)


def downscale(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Area-average each image down by its factor, then bilinear back to its size."""
    size = x.shape[-2:]
    out = []
    for image, f in zip(x, factor.tolist()):
        small = (max(1, round(size[0] / f)), max(1, round(size[1] / f)))
        reduced = F.interpolate(image[None], size=small, mode="area")
        out.append(F.interpolate(reduced, size=size, mode="bilinear", align_corners=False))
    return torch.cat(out) if out else x


def degrade(x: torch.Tensor, kinds: torch.Tensor, generator: torch.Generator, ranges: DegradationRanges = DegradationRanges()) -> torch.Tensor:
    """Degrade ``x`` ``(N, 1, H, W)`` in [0, 1]; ``kinds[i]`` indexes ``KINDS`` (−1 leaves image i exactly as it is).

    Degraded images are clipped to [0, 1] and rounded to 8-bit grey levels.
    """
    out = x.clone()
    for index, kind in enumerate(KINDS):
        chosen = torch.nonzero(kinds == index).flatten()
        if chosen.numel() == 0:
            continue
        images = x[chosen]
        count = chosen.numel()
        if kind == "blur":
            images = gaussian_blur(images, _log_uniform(*ranges.blur_sigma, count, generator))
        elif kind == "downscale":
            images = downscale(images, _log_uniform(*ranges.downscale_factor, count, generator))
        elif kind == "darken":
            images = images * _log_uniform(*ranges.brightness, count, generator)[:, None, None, None]
        else:
            sigma = _log_uniform(*ranges.noise_sigma, count, generator)[:, None, None, None] / 255.0
            images = images + sigma * torch.randn(images.shape, generator=generator)
        out[chosen] = torch.round(images.clamp(0.0, 1.0) * 255.0) / 255.0
    return out


def random_degradation(x: torch.Tensor, probability: float, generator: torch.Generator, ranges: DegradationRanges = DegradationRanges()) -> torch.Tensor:
    """Degrade each image with ``probability``, the kind drawn uniformly from ``KINDS``; the rest stay as they are."""
    n = x.shape[0]
    if probability <= 0:
        return x
    degraded = torch.rand(n, generator=generator) < probability
    kinds = torch.randint(0, len(KINDS), (n,), generator=generator)
    return degrade(x, torch.where(degraded, kinds, torch.full_like(kinds, -1)), generator, ranges)
