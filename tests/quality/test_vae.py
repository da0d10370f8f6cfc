"""The paper's VAE quality: log RP as a log-mean-exp of summed log-likelihoods, determinism, and behaviour of the shipped weights."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sealshot.errors import ModelError
from sealshot.quality import FaceBatch, get_quality
from sealshot.quality.registry import available
from sealshot.quality.vae import FaceVAE, VAEConfig, VAEQuality, inference_copy, load_vae, parameter_count, save_vae
from sealshot.detect.stills import FacePolicy, chosen_face, read_rgb

TINY = VAEConfig(latent_dim=3, encoder_channels=(2, 2, 2, 2, 2), decoder_channels=(2, 2, 2, 2, 2), samples=4)


def _batch(gray: np.ndarray) -> FaceBatch:
    return FaceBatch.from_crops(np.zeros((len(gray), 112, 112, 3), np.uint8), gray)


def _tiny_model(seed: int = 0) -> FaceVAE:
    torch.manual_seed(seed)
    model = FaceVAE(TINY)
    for module in model.modules():  # non-trivial batch-norm statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.3)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_log_rp_is_log_mean_exp_of_summed_log_likelihoods() -> None:
    model = _tiny_model()
    x = torch.rand(3, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        log_rp = model.log_reconstruction_probability(x).double().numpy()
        mu_z, log_var_z = (t.double().numpy() for t in model.encode(x))
        epsilon = model.epsilon.double().numpy()
        expected = []
        for i in range(len(x)):
            pixels = x[i, 0].double().numpy()
            log_likelihoods = []
            for eps in epsilon:  # one decoder pass per latent sample, in float64 numpy from here on
                z = mu_z[i] + eps * np.exp(0.5 * log_var_z[i])
                mu_x, sigma_x = (t[0, 0].double().numpy() for t in model.decode(torch.from_numpy(z[None]).float()))
                log_density = -0.5 * ((pixels - mu_x) / sigma_x) ** 2 - np.log(sigma_x) - 0.5 * np.log(2 * np.pi)
                log_likelihoods.append(log_density.sum())
            log_likelihoods = np.array(log_likelihoods)
            peak = log_likelihoods.max()
            expected.append(peak + np.log(np.mean(np.exp(log_likelihoods - peak))))
    np.testing.assert_allclose(log_rp, expected, rtol=1e-5, atol=0.05)
    # The sum runs over 4096 pixels, so a whole-image density underflows float64: the log domain is required.
    assert np.all(np.array(expected) < -800)


def test_epsilon_draws_are_fixed_by_seed() -> None:
    assert torch.equal(FaceVAE(TINY).epsilon, FaceVAE(TINY).epsilon)
    assert FaceVAE(TINY).epsilon.shape == (4, 3)


def test_inference_copy_keeps_scores() -> None:
    model = _tiny_model(2)
    x = torch.rand(5, 1, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        np.testing.assert_allclose(model.log_reconstruction_probability(x), inference_copy(model).log_reconstruction_probability(x), rtol=1e-4)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = _tiny_model(4)
    save_vae(model, tmp_path / "m.pt", half=False)
    loaded = load_vae(tmp_path / "m.pt")
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.log_reconstruction_probability(x), loaded.log_reconstruction_probability(x))
    assert loaded.config == TINY


def test_vae_is_registered_and_small() -> None:
    assert {"vae", "vae-ratio"} <= set(available())
    model = load_vae()
    assert parameter_count(model) <= 2_000_000
    shipped = Path(__import__("sealshot.quality.weights", fromlist=["x"]).__file__).with_name("vae.pt")
    assert shipped.stat().st_size < 5 * 1024 * 1024


@pytest.fixture(scope="module")
def lfw_crops(lfw_dir: Path, detector) -> np.ndarray:
    """Aligned 64×64 grey crops of the largest face in 8 LFW images (8 different people)."""
    people = sorted(p for p in (lfw_dir / "images").iterdir() if p.is_dir())[::700][:8]
    crops = []
    for person in people:
        image = read_rgb(sorted(person.glob("*.jpg"))[0])
        largest = chosen_face(detector.detect([image])[0], image.shape, FacePolicy.LARGEST)
        crops.append(FaceBatch.from_detections(image, largest).gray[0])
    return np.stack(crops)


def test_scores_are_deterministic_across_batch_compositions(lfw_crops: np.ndarray) -> None:
    method = get_quality("vae")
    together = method.score(_batch(lfw_crops))
    alone = np.array([method.score(_batch(lfw_crops[i : i + 1]))[0] for i in range(len(lfw_crops))])
    reversed_order = method.score(_batch(lfw_crops[::-1]))[::-1]
    np.testing.assert_allclose(alone, together, rtol=1e-5)
    np.testing.assert_allclose(reversed_order, together, rtol=1e-5)
    np.testing.assert_array_equal(method.score(_batch(lfw_crops)), together)
    assert np.all(np.isfinite(together))


def test_float16_storage_does_not_change_scores(lfw_crops: np.ndarray, tmp_path: Path) -> None:
    full_precision = load_vae()
    with torch.no_grad():  # weights that float16 cannot hold exactly, at the shipped model's scale
        for parameter in full_precision.parameters():
            parameter.mul_(1 + 1e-3 * torch.randn(parameter.shape, generator=torch.Generator().manual_seed(5)))
    save_vae(full_precision, tmp_path / "half.pt", half=True)
    half = VAEQuality(load_vae(tmp_path / "half.pt")).score(_batch(lfw_crops))
    full = VAEQuality(full_precision).score(_batch(lfw_crops))
    # Float16 rounding moves a score by a couple of nats; scores of different faces are hundreds to
    # thousands of nats apart, so the ranking (what selection uses) must not change.
    np.testing.assert_allclose(half, full, atol=5.0)
    assert np.array_equal(np.argsort(half), np.argsort(full))


def _blur(gray: np.ndarray, sigma: float) -> np.ndarray:
    return gray if sigma == 0 else cv2.GaussianBlur(gray, (0, 0), sigma)


def _downscale(gray: np.ndarray, factor: float) -> np.ndarray:
    small = cv2.resize(gray, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
    return cv2.resize(small, gray.shape[::-1], interpolation=cv2.INTER_LINEAR)


def _darken(gray: np.ndarray, factor: float) -> np.ndarray:
    return np.clip(gray.astype(np.float32) * factor + 0.5, 0, 255).astype(np.uint8)


def _noise(gray: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noisy = gray.astype(np.float32) + np.random.default_rng(seed).normal(0, sigma, gray.shape)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


# Measured with the shipped weights (denoising ELBO) on these 8 LFW crops, mean log RP per level:
#   blur 4407 -> 4960 -> 5483 -> 5485, downscale 4407 -> 4945 -> 5400 -> 5379,
#   darkening 4407 -> -7209 -> -22027 -> -30196, noise 4407 -> 4047 -> 3142 -> 481.
# Darkening and noise are penalised: the decoder restores a clean face, which the dark or noisy
# pixels fit badly. Blur and downscaling are not: the decoder's mean is smoother than even a
# sigma = 1 px blur, and a Gaussian density is highest at its mean, so removing detail the model
# cannot reproduce moves the crop closer to its reconstruction (bench/results/vae_scores.md). These
# marks are strict: weights that fix it make the test XPASS and fail, so the mark gets removed.
_SMOOTHER_THAN_DECODER = pytest.mark.xfail(
    strict=True, reason="log RP of the shipped VAE rises with mild blur or downscaling: its reconstructions are smoother still (see the comment above)"
)

DEGRADATIONS = {
    "gaussian blur (sigma px)": (lambda g, level, i: _blur(g, level), (0, 1, 2, 4)),
    "downscaling (factor)": (lambda g, level, i: _downscale(g, level), (1, 2, 4, 8)),
    "darkening (brightness factor)": (lambda g, level, i: _darken(g, level), (1.0, 0.6, 0.35, 0.15)),
    "noise (sigma grey levels)": (lambda g, level, i: _noise(g, level, i), (0, 8, 16, 32)),
}
_MARKS = {"gaussian blur (sigma px)": _SMOOTHER_THAN_DECODER, "downscaling (factor)": _SMOOTHER_THAN_DECODER}


@pytest.mark.parametrize("name", [pytest.param(name, marks=_MARKS.get(name, ())) for name in DEGRADATIONS])
def test_quality_falls_as_degradation_grows(name: str, lfw_crops: np.ndarray) -> None:
    degrade, levels = DEGRADATIONS[name]
    method = get_quality("vae")
    means = [float(np.mean(method.score(_batch(np.stack([degrade(g, level, i) for i, g in enumerate(lfw_crops)]))))) for level in levels]
    assert all(a > b for a, b in zip(means, means[1:])), f"{name}: mean log RP per level {levels} = {np.round(means, 1)}"


_NOISE_FOOLS_THE_CODER = pytest.mark.xfail(
    strict=True, reason="a generic coder cannot compress added noise, so the complexity-corrected ratio rises with noise (measured: -3015 -> -920 -> 47 -> -214)"
)


@pytest.mark.parametrize("name", [pytest.param(name, marks=_NOISE_FOOLS_THE_CODER if name.startswith("noise") else ()) for name in DEGRADATIONS])
def test_complexity_ratio_falls_as_degradation_grows(name: str, lfw_crops: np.ndarray) -> None:
    degrade, levels = DEGRADATIONS[name]
    method = get_quality("vae-ratio")
    means = [float(np.mean(method.score(_batch(np.stack([degrade(g, level, i) for i, g in enumerate(lfw_crops)]))))) for level in levels]
    assert all(a > b for a, b in zip(means, means[1:])), f"{name}: mean ratio per level {levels} = {np.round(means, 1)}"


def test_complexity_ratio_is_log_rp_plus_png_length(lfw_crops: np.ndarray) -> None:
    from sealshot.quality.vae import png_code_length_nats

    ratio = get_quality("vae-ratio").score(_batch(lfw_crops[:2]))
    log_rp = get_quality("vae").score(_batch(lfw_crops[:2]))
    lengths = np.array([len(cv2.imencode(".png", g, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1]) * 8 * np.log(2) for g in lfw_crops[:2]])
    np.testing.assert_allclose(ratio, log_rp - 4096 * np.log(255) + lengths, rtol=1e-9)
    assert png_code_length_nats(lfw_crops[0]) == pytest.approx(lengths[0])


def test_weights_from_the_environment_replace_the_shipped_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sealshot.quality.vae import WEIGHTS_ENV, VAEComplexityRatio

    shipped = VAEQuality()
    save_vae(_tiny_model(6), tmp_path / "own.pt", half=False)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "own.pt"))  # read when a method is built (once per process)
    own = VAEQuality()
    assert own.model.config == TINY
    assert own.version != shipped.version and VAEComplexityRatio().version == own.version  # score caches keyed apart
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "missing.pt"))
    with pytest.raises(ModelError, match="missing.pt"):
        VAEQuality()


def test_a_damaged_weight_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    from sealshot.errors import ModelError
    from sealshot.quality.vae import load_vae

    damaged = tmp_path / "vae.pt"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match=r"The VAE could not be loaded from .*vae\.pt.*sealshot train vae"):
        load_vae(damaged)
