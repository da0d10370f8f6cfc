"""`sealshot train head`: reproduce a shipped recognition-based quality head from the shared CelebA subset."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sealshot.recognize import available_comparators
from sealshot.train.config import DEFAULT_SEED, HEAD_METHODS

# Choices for typer, from the lists that define them.
HeadMethod = Enum("HeadMethod", {name: name for name in HEAD_METHODS}, type=str)  # type: ignore[misc]
HeadComparator = Enum("HeadComparator", {name: name for name in available_comparators()}, type=str)  # type: ignore[misc]


def train_head_command(
    method: HeadMethod = typer.Option(..., "--method", help="which head to train"),
    comparator: HeadComparator = typer.Option(..., "--comparator", help="the frozen recognition model underneath"),
    out: Optional[Path] = typer.Option(None, "--out", help="where to write the head (default: the shipped weight)"),
    data: Optional[Path] = typer.Option(None, "--data", help="shared data folder (default: <repo>/../shared/data)"),
    cache: Optional[Path] = typer.Option(None, "--cache", help="embedding cache folder (default: the evaluate cache)"),
    seed: int = typer.Option(DEFAULT_SEED, "--seed"),
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
