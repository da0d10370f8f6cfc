"""The pipeline's command: ``sealshot run``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Optional

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from sealshot.quality.registry import DEFAULT_METHOD, UnknownQualityMethod

if TYPE_CHECKING:
    from sealshot.report import SourceReport


def _camera_id(source: str, given: str | None, index: int, count: int) -> str:
    if given:
        return given if count == 1 else f"{given}-{index + 1}"
    stem = Path(source).stem if not source.isdigit() else f"webcam{source}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) or "camera"


def run(
    sources: list[str] = typer.Argument(..., help="Video files, image folders, stream URLs (rtsp://, http://) or webcam indices."),
    vault: Path = typer.Option(..., "--vault", help="Vault folder that receives the sealed snapshots (created if missing)."),
    recipient: Path = typer.Option(..., "--recipient", help="The authority's PUBLIC key file; the camera never holds a private key."),
    camera: Optional[str] = typer.Option(None, "--camera", help="Camera id recorded with each snapshot (default: the source's name)."),
    quality: str = typer.Option(DEFAULT_METHOD, "--quality", help="Quality method (see `sealshot methods`)."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Write an annotated preview video (the only output with pixels)."),
    report_path: Optional[Path] = typer.Option(None, "--report", help="Write a JSON report of tracks and chosen frames (no pixels)."),
    timeline: Optional[Path] = typer.Option(None, "--timeline", help="Write a per-track quality-over-time PNG."),
    camera_key: Optional[Path] = typer.Option(None, "--camera-key", help="The camera's Ed25519 signing key (default: the vault's key for this camera)."),
    min_face: float = typer.Option(20.0, help="Smallest face to detect, in pixels at the detection scale."),
    detect_max_side: Optional[int] = typer.Option(None, help="Downscale frames whose longer side exceeds this before full detection."),
    detect_every: int = typer.Option(5, help="Full detection every N frames; the tracker's boxes are refined in between."),
    thresholds: tuple[float, float, float] = typer.Option((0.6, 0.7, 0.7), help="MTCNN P-, R- and O-Net thresholds."),
    max_unseen: float = typer.Option(1.0, help="Seconds a track may go unseen before it ends and is sealed."),
    min_detections: int = typer.Option(2, help="Tracks with fewer detections are treated as false alarms."),
    min_peak_score: float = typer.Option(0.95, help="Tracks whose detector score never reaches this are treated as false alarms."),
    max_frames: Optional[int] = typer.Option(None, help="Stop each source after this many frames."),
    threads: int = typer.Option(0, help="CPU threads for the models (0: PyTorch's default)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Detect, track and score faces; seal one best crop per person into the vault."""
    # Heavy imports stay here so that the other commands start quickly.
    import torch

    from sealshot.detect import MTCNNConfig, MTCNNDetector
    from sealshot.pipeline import PipelineConfig
    from sealshot.quality import get_quality
    from sealshot.report import write_report
    from sealshot.runner import RunOptions, StopRequest, run_source, suffixed
    from sealshot.track import TrackerConfig
    from sealshot.vault import CameraSealer, VaultError

    console = Console(stderr=True)
    if threads:
        torch.set_num_threads(threads)
    try:
        method = get_quality(quality)
    except UnknownQualityMethod as error:
        raise typer.BadParameter(str(error), param_hint="--quality") from error
    detector_config = MTCNNConfig(min_face_size=min_face, thresholds=thresholds, detect_max_side=detect_max_side)
    detector = MTCNNDetector(detector_config)
    tracker_config = TrackerConfig(max_unseen_s=max_unseen, min_detections=min_detections, min_peak_score=min_peak_score)
    stop = StopRequest()
    restore = stop.install()
    reports: list[SourceReport] = []
    try:
        for index, source in enumerate(sources):
            camera_id = _camera_id(source, camera, index, len(sources))
            options = RunOptions(
                preview=suffixed(preview, index, len(sources)),
                timeline=suffixed(timeline, index, len(sources)),
                max_frames=max_frames,
                show_progress=progress,
                pipeline=PipelineConfig(camera_id=camera_id, detector=detector_config, tracker=tracker_config, detect_every=detect_every),
            )

            def sink_factory(camera_id: str) -> CameraSealer:
                return CameraSealer.open(vault, recipient, camera_id, camera_key=camera_key)

            try:
                report = run_source(source, sink_factory, method, options, stop, detector, console)
            except VaultError as error:
                console.print(f"[red]error:[/red] vault: {error}")
                raise typer.Exit(2) from error
            reports.append(report)
            if report.error:
                console.print(f"[red]error:[/red] {report.error}")
            if stop:
                break
    finally:
        restore()
    if report_path:
        write_report(report_path, reports)
    _print_summary(console, reports)
    if stop:
        console.print("[yellow]stopped by signal; every open track was sealed[/yellow]")
        raise typer.Exit(stop.exit_code)
    if any(r.error for r in reports):
        raise typer.Exit(1)


def _print_summary(console: Console, reports: "list[SourceReport]") -> None:
    table = Table(title="sealshot run")
    for column in ("source", "camera", "frames", "fps", "tracks", "sealed", "status"):
        table.add_column(column)
    for r in reports:
        sealed = sum(1 for t in r.tracks if t.snapshot_id)
        fps = f"{r.frames / r.seconds:.1f}" if r.seconds else "-"
        status = "[red]error[/red]" if r.error else ("interrupted" if r.interrupted else "ok")
        table.add_row(Path(r.source).name, r.camera_id, str(r.frames), fps, str(len(r.tracks)), str(sealed), status)
    console.print(table)


def methods() -> None:
    """List the registered quality methods."""
    from sealshot.quality import available
    from sealshot.quality.registry import describe

    console = Console()
    table = Table(title="quality methods")
    table.add_column("name")
    table.add_column("what it measures")
    for name in available():
        table.add_row(name + (" (default)" if name == DEFAULT_METHOD else ""), describe(name))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the pipeline's commands to the root app."""
    app.command()(run)
    app.command()(methods)
