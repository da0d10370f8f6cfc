"""Synthetic degradations for the denoising criterion: each kind damages the crop the way its name says."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from sealshot.train.degrade import KINDS, DegradationRanges, degrade, gaussian_blur, random_degradation


def _face_like(n: int = 6) -> torch.Tensor:
    """Smooth shading plus fine texture, in [0.1, 0.9]."""
    rng = np.random.default_rng(0)
    base = np.linspace(0.2, 0.8, 64)[None, :] * np.ones((64, 1))
    images = [np.clip(base + 0.1 * rng.standard_normal((64, 64)), 0.1, 0.9) for _ in range(n)]
    return torch.from_numpy(np.stack(images)[:, None]).float()


def _laplacian_variance(x: torch.Tensor) -> float:
    return float(np.mean([cv2.Laplacian(image[0].numpy(), cv2.CV_32F).var() for image in x]))


def _only(kind: str, x: torch.Tensor, level: float) -> torch.Tensor:
    ranges = DegradationRanges(blur_sigma=(level, level), downscale_factor=(level, level), brightness=(level, level), noise_sigma=(level, level))
    return degrade(x, torch.full((len(x),), KINDS.index(kind)), torch.Generator().manual_seed(0), ranges)


def test_outputs_are_8_bit_grey_levels_in_range() -> None:
    x = _face_like()
    for kind in KINDS:
        out = _only(kind, x, {"blur": 2.0, "downscale": 4.0, "darken": 0.3, "noise": 30.0}[kind])
        assert out.shape == x.shape and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        assert torch.allclose(out * 255, torch.round(out * 255), atol=1e-4)


@pytest.mark.parametrize("kind, levels", [("blur", (0.7, 1.5, 3.0)), ("downscale", (1.5, 3.0, 6.0))])
def test_blur_and_downscaling_remove_more_detail_as_the_level_grows(kind: str, levels: tuple[float, ...]) -> None:
    x = _face_like()
    detail = [_laplacian_variance(x)] + [_laplacian_variance(_only(kind, x, level)) for level in levels]
    assert all(a > b for a, b in zip(detail, detail[1:])), detail


def test_darkening_scales_brightness_and_noise_adds_its_sigma() -> None:
    x = _face_like()
    assert float(_only("darken", x, 0.4).mean()) == pytest.approx(0.4 * float(x.mean()), rel=0.02)
    residual = (_only("noise", x, 20.0) - x) * 255
    assert float(residual.std()) == pytest.approx(20.0, rel=0.1)


def test_gaussian_blur_matches_opencv_per_image_sigma() -> None:
    x = _face_like(2)
    sigma = torch.tensor([1.0, 2.5])
    ours = gaussian_blur(x, sigma)
    for image, blurred, s in zip(x, ours, sigma.tolist()):
        reference = cv2.GaussianBlur(image[0].numpy(), (0, 0), s, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(blurred[0].numpy()[8:-8, 8:-8], reference[8:-8, 8:-8], atol=2e-3)


def test_random_degradation_touches_about_the_requested_share_and_is_seeded() -> None:
    x = torch.round(_face_like(400) * 255) / 255
    out = random_degradation(x, 0.5, torch.Generator().manual_seed(1))
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert 0.4 < changed < 0.6
    assert torch.equal(out, random_degradation(x, 0.5, torch.Generator().manual_seed(1)))
    assert random_degradation(x, 0.0, torch.Generator().manual_seed(1)) is x
