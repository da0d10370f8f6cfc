"""Training the VAE: the `train vae` command end to end on a handful of real images, and a clean stop on Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from sealshot.cli import app
from sealshot.quality.vae import FaceVAE, VAEConfig, gaussian_log_likelihood, kl_to_standard_normal, load_vae
from sealshot.train.vae import TrainConfig, augment, negative_elbo, split_indices, train_vae

SMALL = VAEConfig(latent_dim=8, encoder_channels=(4, 4, 8, 8, 8), decoder_channels=(8, 8, 4, 4, 4))


def test_split_is_seeded_disjoint_and_complete() -> None:
    train, val = split_indices(50, 0.2, seed=3)
    assert len(val) == 10 and len(train) == 40
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(50))
    assert np.array_equal(val, split_indices(50, 0.2, seed=3)[1])


def test_augment_flips_and_shifts_within_bounds() -> None:
    batch = torch.rand(16, 1, 64, 64)
    out = augment(batch, 2, torch.Generator().manual_seed(0))
    assert out.shape == batch.shape
    assert float(out.min()) >= float(batch.min()) and float(out.max()) <= float(batch.max())
    assert not torch.equal(out, batch)


def test_train_vae_command_on_real_images(shared_data: Path, tmp_path: Path) -> None:
    images = sorted((shared_data / "celeba" / "images").glob("*.jpg"))[:10]
    out = tmp_path / "vae.pt"
    args = ["train", "vae", "--out", str(out), "--epochs", "2", "--batch-size", "4", "--latent-dim", "8", "--no-cache", "--threads", "1"]
    for image in images:
        args += ["--images", str(image)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "face crops from 10 images" in result.output
    assert out.exists() and out.with_name("vae.last.pt").exists()
    model = load_vae(out)
    with torch.no_grad():
        scores = model.log_reconstruction_probability(torch.rand(3, 1, 64, 64))
    assert torch.isfinite(scores).all()
    assert not list(tmp_path.glob(".cache*")), "--no-cache must not write crops"


def test_ctrl_c_stops_cleanly_and_keeps_a_model(tmp_path: Path) -> None:
    gray = np.random.default_rng(0).integers(0, 256, (24, 64, 64), dtype=np.uint8)

    def interrupt(epoch: int, step: int, loss: float) -> None:
        if epoch == 1 and step == 1:
            raise KeyboardInterrupt

    result = train_vae(gray, tmp_path / "m.pt", TrainConfig(epochs=5, batch_size=8, model=SMALL), on_step=interrupt)
    assert result.interrupted and result.epochs_done == 1 and result.best_epoch == 0
    assert load_vae(tmp_path / "m.pt").config == SMALL


def test_ctrl_c_before_the_first_epoch_still_saves(tmp_path: Path) -> None:
    gray = np.random.default_rng(1).integers(0, 256, (12, 64, 64), dtype=np.uint8)

    def interrupt(epoch: int, step: int, loss: float) -> None:
        raise KeyboardInterrupt

    result = train_vae(gray, tmp_path / "m.pt", TrainConfig(epochs=3, batch_size=4, model=SMALL), on_step=interrupt)
    assert result.interrupted and result.epochs_done == 0
    assert (tmp_path / "m.pt").exists()
    assert np.isfinite(result.best_val_loss)


def test_denoising_elbo_scores_the_clean_target_not_the_degraded_input() -> None:
    torch.manual_seed(0)
    model = FaceVAE(SMALL).eval()
    clean = torch.rand(4, 1, 64, 64)
    degraded = clean * 0.3
    noise = torch.zeros(4, SMALL.latent_dim)
    with torch.no_grad():
        _, reconstruction, kl = negative_elbo(model, degraded, 1.0, noise, target=clean)
        mu_z, log_var_z = model.encode(degraded)
        mu_x, sigma_x = model.decode(mu_z)
        expected = -gaussian_log_likelihood(clean, mu_x, sigma_x).mean()
        _, plain, _ = negative_elbo(model, degraded, 1.0, noise)
    assert reconstruction.item() == pytest.approx(expected.item(), rel=1e-6)
    assert kl.item() == pytest.approx(kl_to_standard_normal(mu_z, log_var_z).mean().item(), rel=1e-6)
    assert plain.item() != pytest.approx(reconstruction.item(), rel=1e-3)


def test_denoising_probability_is_recorded_with_the_weights(tmp_path: Path) -> None:
    gray = np.random.default_rng(2).integers(0, 256, (16, 64, 64), dtype=np.uint8)
    train_vae(gray, tmp_path / "m.pt", TrainConfig(epochs=1, batch_size=8, denoise_probability=0.7, kl_weight=0.5, model=SMALL))
    saved = torch.load(tmp_path / "m.pt", weights_only=True)["extra"]["train_config"]
    assert saved["denoise_probability"] == 0.7 and saved["kl_weight"] == 0.5
