"""``sealshot serve --config cameras.toml``: a thin layer over ``sealshot.serve.supervisor.Supervisor``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def serve(
    config: Path = typer.Option(..., "--config", help="The cameras' TOML file (see the README: 'Running several cameras as a service')."),
    metrics: Optional[str] = typer.Option(
        None, "--metrics", help="HOST:PORT of /metrics (Prometheus) and /healthz, or 'off' (default: the file's, else 127.0.0.1:9108)."
    ),
) -> None:
    """Run every camera of the file at once, in real time, each in its own supervised process, until SIGTERM."""
    from sealshot.serve import logs
    from sealshot.serve.config import check_recipients, load_config
    from sealshot.serve.supervisor import Supervisor

    settings = load_config(config, metrics=metrics, quality_methods=_quality_methods())
    check_recipients(settings)
    logs.configure()
    code = Supervisor(settings).run()
    raise typer.Exit(code)


def _quality_methods() -> list[str]:
    """The registered quality methods, listed in a throwaway process: listing them loads PyTorch, which
    the supervising process never needs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sealshot.quality.registry import available

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(available).result()


def register(app: typer.Typer) -> None:
    app.command()(serve)
