"""CLI commands of the pipeline (`run`); `register(app)` adds them to the `sealshot` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
