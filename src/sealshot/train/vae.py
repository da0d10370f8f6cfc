"""Training the paper's VAE on aligned 64×64 grey face crops.

The objective is the negative ELBO: −Σ_pixels log N(x | μ_x, σ_x) + KL(q(z|x̃) ‖ N(0, I)),
with one reparameterised latent sample per image. With ``denoise_probability`` p > 0
(the default) it is the denoising ELBO of Im et al. (2017): a share p of the crops reach the
encoder as x̃, a synthetically degraded copy (``sealshot.train.degrade``), while the
likelihood is still that of the clean crop x; the rest have x̃ = x, the paper's plain ELBO.
p = 0 trains exactly the paper's objective.

A held-out part of the crops gives a validation loss (the same objective with fixed noise
and fixed degradations, eval-mode batch norm) after each epoch; the best model so far is
written to ``out`` and a resumable checkpoint (model, optimiser, epoch) next to it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from sealshot.quality.vae import FaceVAE, gaussian_log_likelihood, gray_to_tensor, kl_to_standard_normal, save_vae
from sealshot.train.config import TrainConfig
from sealshot.train.degrade import random_degradation


@dataclass
class EpochReport:
    epoch: int
    train_loss: float
    val_loss: float
    val_reconstruction: float
    val_kl: float
    seconds: float
    improved: bool


@dataclass
class TrainResult:
    best_epoch: int
    best_val_loss: float
    epochs_done: int
    interrupted: bool
    seconds: float
    history: list[EpochReport]


def split_indices(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``range(count)`` into training and validation indices."""
    order = np.random.default_rng(seed).permutation(count)
    n_val = int(round(count * val_fraction)) if count > 1 else 0
    n_val = min(max(n_val, 1 if val_fraction > 0 and count > 1 else 0), count - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def augment(batch: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to ``max_shift`` pixels per image."""
    n = batch.shape[0]
    flip = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    if max_shift <= 0:
        return batch
    size = batch.shape[-1]
    padded = F.pad(batch, (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    return torch.stack([padded[i, :, dy : dy + size, dx : dx + size] for i, (dy, dx) in enumerate(offsets.tolist())])


def negative_elbo(
    model: FaceVAE,
    x: torch.Tensor,
    kl_weight: float = 1.0,
    noise: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean loss, mean reconstruction negative log-likelihood and mean KL over the batch (nats per image).

    The encoder sees ``x``; the likelihood is of ``target`` (default ``x``; the clean crop when ``x`` is degraded).
    """
    mu_z, log_var_z = model.encode(x)
    noise = torch.randn_like(mu_z) if noise is None else noise
    z = mu_z + noise * torch.exp(0.5 * log_var_z)
    mu_x, sigma_x = model.decode(z)
    reconstruction = -gaussian_log_likelihood(x if target is None else target, mu_x, sigma_x).mean()
    kl = kl_to_standard_normal(mu_z, log_var_z).mean()
    return reconstruction + kl_weight * kl, reconstruction, kl


@torch.no_grad()
def validation_loss(
    model: FaceVAE, images: torch.Tensor, batch_size: int, seed: int, denoise_probability: float = 0.0, kl_weight: float = 1.0
) -> tuple[float, float, float]:
    """The training objective on held-out crops with fixed noise and degradations, so that epochs compare fairly."""
    if len(images) == 0:
        return math.nan, math.nan, math.nan
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed + 1)
    totals = np.zeros(3)
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        noise = torch.randn(len(x), model.config.latent_dim, generator=generator)
        seen = random_degradation(x, denoise_probability, generator)
        loss, reconstruction, kl = negative_elbo(model, seen, kl_weight, noise, target=x)
        totals += np.array([loss.item(), reconstruction.item(), kl.item()]) * len(x)
    model.train(was_training)
    return tuple(totals / len(images))  # type: ignore[return-value]


def train_vae(
    gray: np.ndarray,
    out: Path,
    config: TrainConfig | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    resume: Path | None = None,
) -> TrainResult:
    """Train on ``gray`` ``(N, 64, 64)`` uint8 crops; the best model (lowest validation loss) goes to ``out``.

    ``on_step(epoch, step, loss)`` is called after every optimiser step and ``on_epoch`` after each epoch.
    Ctrl-C (KeyboardInterrupt) stops training cleanly: the best model so far is kept
    (or, when no epoch finished, the current one is validated and saved), and the
    result says ``interrupted``.
    """
    config = config or TrainConfig()
    out = Path(out)
    last_path = out.with_name(out.stem + ".last.pt")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)

    train_index, val_index = split_indices(len(gray), config.val_fraction, config.seed)
    if len(train_index) == 0:
        raise ValueError("no training crops")
    train_images = gray_to_tensor(gray[train_index])
    val_images = gray_to_tensor(gray[val_index])

    model = FaceVAE(config.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train_images) / config.batch_size)
    total_steps = max(1, steps_per_epoch * config.epochs)

    def learning_rate(step: int) -> float:
        progress = min(step / total_steps, 1.0)
        return config.min_learning_rate + 0.5 * (config.learning_rate - config.min_learning_rate) * (1 + math.cos(math.pi * progress))

    start_epoch, best_val, best_epoch, history = 0, math.inf, -1, []
    if resume is not None and Path(resume).exists():
        checkpoint = torch.load(resume, map_location="cpu", weights_only=False)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start_epoch, best_val, best_epoch = checkpoint["epoch"] + 1, checkpoint["best_val"], checkpoint["best_epoch"]

    extra = {"train_config": {k: v for k, v in asdict(config).items() if k != "model"}, "train_crops": int(len(train_index)), "val_crops": int(len(val_index))}
    started = time.perf_counter()
    interrupted = False
    epoch = start_epoch - 1
    try:
        for epoch in range(start_epoch, config.epochs):
            epoch_started = time.perf_counter()
            model.train()
            order = torch.randperm(len(train_images), generator=generator)
            running = 0.0
            for step in range(steps_per_epoch):
                global_step = epoch * steps_per_epoch + step
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(global_step)
                batch_index = order[step * config.batch_size : (step + 1) * config.batch_size]
                if len(batch_index) < 2:  # batch norm needs two samples
                    continue
                x = augment(train_images[batch_index], config.max_shift, generator)
                seen = random_degradation(x, config.denoise_probability, generator)
                kl_weight = config.kl_weight * min(1.0, (global_step + 1) / max(1.0, config.kl_warmup_epochs * steps_per_epoch))
                loss, _, _ = negative_elbo(model, seen, kl_weight, target=x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1000.0)
                optimizer.step()
                running += loss.item()
                if on_step:
                    on_step(epoch, step, loss.item())
            val, val_reconstruction, val_kl = validation_loss(model, val_images, 256, config.seed, config.denoise_probability, config.kl_weight)
            score = val if val_index.size else running / steps_per_epoch
            improved = score < best_val
            if improved:
                best_val, best_epoch = score, epoch
                save_vae(model.eval(), out, extra={**extra, "epoch": epoch, "val_loss": float(val)})
            torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "best_val": best_val, "best_epoch": best_epoch},
                last_path,
            )
            report = EpochReport(epoch, running / steps_per_epoch, val, val_reconstruction, val_kl, time.perf_counter() - epoch_started, improved)
            history.append(report)
            if on_epoch:
                on_epoch(report)
    except KeyboardInterrupt:
        interrupted = True
        if best_epoch < 0:
            val, _, _ = validation_loss(model, val_images, 256, config.seed, config.denoise_probability, config.kl_weight)
            best_val, best_epoch = val, epoch
            save_vae(model.eval(), out, extra={**extra, "epoch": epoch, "val_loss": float(val), "interrupted": True})
    return TrainResult(best_epoch, best_val, len(history), interrupted, time.perf_counter() - started, history)
