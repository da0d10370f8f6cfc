"""CLI commands of the `train` area; `register(app)` adds them to the `sealshot` app."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sealshot.detect.config import MTCNNConfig
from sealshot.quality.vae_config import VAEConfig
from sealshot.train.config import VAE_CROPS_CACHE_DIR, TrainConfig

train_app = typer.Typer(help="Train the learned parts of sealshot.", no_args_is_help=True)
console = Console(stderr=True)
from sealshot.train.heads_commands import register_head_command  # noqa: E402

register_head_command(train_app)  # `sealshot train head`, owned by the heads area


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@train_app.command("vae")
def train_vae_command(
    images: Annotated[list[Path], typer.Option("--images", help="Image folder or file (repeatable); the largest face of each is used.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the best model (.pt).")],
    epochs: Annotated[int, typer.Option(help="Passes over the training crops.")] = TrainConfig.epochs,
    batch_size: Annotated[int, typer.Option(help="Crops per optimiser step.")] = TrainConfig.batch_size,
    lr: Annotated[float, typer.Option(help="Peak Adam learning rate (cosine decay to --min-lr).")] = TrainConfig.learning_rate,
    min_lr: Annotated[float, typer.Option(help="Learning rate at the end of the cosine schedule.")] = TrainConfig.min_learning_rate,
    val_fraction: Annotated[float, typer.Option(help="Share of crops held out for the validation loss.")] = TrainConfig.val_fraction,
    seed: Annotated[int, typer.Option(help="Seed for the split, augmentation and initialisation.")] = TrainConfig.seed,
    latent_dim: Annotated[int, typer.Option(help="Size of the latent space.")] = VAEConfig.latent_dim,
    max_shift: Annotated[int, typer.Option(help="Random shift augmentation in pixels (0 turns it off).")] = TrainConfig.max_shift,
    denoise: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of crops the encoder sees degraded (denoising ELBO); 0 trains the paper's plain ELBO.")
    ] = TrainConfig.denoise_probability,
    kl_weight: Annotated[float, typer.Option(min=0.0, help="Weight β of the KL term (1: the ELBO).")] = TrainConfig.kl_weight,
    min_face_size: Annotated[float, typer.Option(help="MTCNN minimum face size in pixels.")] = MTCNNConfig.min_face_size,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Cache of detected crops (public training data only).")] = VAE_CROPS_CACHE_DIR,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Keep crops in memory only.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from <out>.last.pt if it exists.")] = False,
    threads: Annotated[Optional[int], typer.Option(help="Torch CPU threads (default: torch's choice).")] = None,
) -> None:
    """Train the paper's VAE face-quality model on aligned 64x64 grey crops detected in IMAGES."""
    import torch

    from sealshot.detect.stills import list_images
    from sealshot.quality.vae import FaceVAE, parameter_count
    from sealshot.train.faces import build_face_crops
    from sealshot.train.vae import EpochReport, train_vae

    if threads:
        torch.set_num_threads(threads)
    paths = list_images(images)
    if not paths:
        raise typer.BadParameter("no images found", param_hint="--images")

    with _progress() as progress:
        task = progress.add_task("detect + align", total=len(paths), status="")
        crops = build_face_crops(
            paths,
            MTCNNConfig(min_face_size=min_face_size),
            cache_dir=None if no_cache else cache_dir,
            progress=lambda n: progress.advance(task, n),
        )
    console.print(f"{len(crops)} face crops from {len(paths)} images ({crops.skipped} without a face or unreadable)")
    if len(crops) < 4:
        raise typer.BadParameter(f"need at least 4 face crops, found {len(crops)}", param_hint="--images")

    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        min_learning_rate=min(min_lr, lr),
        val_fraction=val_fraction,
        seed=seed,
        max_shift=max_shift,
        denoise_probability=denoise,
        kl_weight=kl_weight,
        model=VAEConfig(latent_dim=latent_dim),
    )
    console.print(f"VAE with {parameter_count(FaceVAE(config.model)):,} parameters; training {epochs} epochs, batch {batch_size}, lr {lr:g}, denoise {denoise:g}")
    n_train = len(crops) - int(round(len(crops) * val_fraction))
    steps = math.ceil(n_train / batch_size)

    with _progress() as progress:
        task = progress.add_task("train", total=epochs * steps, status="")

        def on_step(epoch: int, step: int, loss: float) -> None:
            progress.update(task, completed=epoch * steps + step + 1, status=f"epoch {epoch + 1}/{epochs} loss {loss:,.0f}")

        def on_epoch(report: EpochReport) -> None:
            mark = " [green]best, saved[/green]" if report.improved else ""
            progress.console.print(
                f"epoch {report.epoch + 1:3d}: train {report.train_loss:,.1f}  val {report.val_loss:,.1f} "
                f"(recon {report.val_reconstruction:,.1f}, KL {report.val_kl:.1f})  {report.seconds:.0f}s{mark}"
            )

        last = out.with_name(out.stem + ".last.pt")
        result = train_vae(crops.gray, out, config, on_step, on_epoch, resume=last if resume else None)
    if result.interrupted:
        console.print("[yellow]interrupted; kept the best model so far[/yellow]")
    console.print(
        f"best epoch {result.best_epoch + 1} (val loss {result.best_val_loss:,.1f} nats/crop) saved to {out}; "
        f"{result.epochs_done} epochs in {result.seconds / 60:.1f} min"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(train_app, name="train")
