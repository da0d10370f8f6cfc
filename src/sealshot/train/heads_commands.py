"""`sealshot train head`: reproduce a shipped recognition-based quality head from the shared CelebA subset."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class HeadMethod(str, Enum):
    serfiq = "serfiq"
    eqface = "eqface"
    pfe = "pfe"
    dul = "dul"


class HeadComparator(str, Enum):
    facenet = "facenet"
    dlib = "dlib"


def train_head_command(
    method: HeadMethod = typer.Option(..., "--method", help="which head to train"),
    comparator: HeadComparator = typer.Option(..., "--comparator", help="the frozen recognition model underneath"),
    out: Optional[Path] = typer.Option(None, "--out", help="where to write the head (default: the shipped weight)"),
    data: Optional[Path] = typer.Option(None, "--data", help="shared data folder (default: <repo>/../shared/data)"),
    cache: Optional[Path] = typer.Option(None, "--cache", help="embedding cache folder (default: the evaluate cache)"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train a SER-FIQ, EQFace, PFE or DUL head on frozen CelebA embeddings (never LFW)."""
    from sealshot.train.heads import train_head

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        console.print(f"embedding the CelebA subset with {comparator.value} (cached after the first run)")
        path, meta = train_head(
            method.value, comparator.value, out=out, data_dir=data, cache_dir=cache, seed=seed, progress=report
        )
    console.print(f"wrote {path}")
    typer.echo(json.dumps(meta, indent=2))


def register_head_command(train_app: typer.Typer) -> None:
    """Add `head` to the `train` sub-app."""
    train_app.command("head")(train_head_command)
