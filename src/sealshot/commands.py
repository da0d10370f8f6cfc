"""The pipeline's commands: ``sealshot run`` (a thin layer over ``sealshot.runner.run_sources``) and ``methods``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sealshot.config import MAX_CLIP_SECONDS, PipelineConfig, RunConfig
from sealshot.detect.config import DETECTORS, DetectorName, MTCNNConfig, YuNetConfig
from sealshot.errors import EXIT_PARTIAL, InputError, SourceError, VaultError
from sealshot.outputs import check_output_file, check_outputs_spare_inputs
from sealshot.quality.registry import DEFAULT_METHOD, UnknownQualityMethod
from sealshot.track.config import TrackerConfig

if TYPE_CHECKING:
    from sealshot.report import SourceReport

_DETECTOR, _YUNET, _TRACKER, _PIPELINE, _RUN = MTCNNConfig(), YuNetConfig(), TrackerConfig(), PipelineConfig(), RunConfig()


def _utc_time(text: str | None) -> float | None:
    if text is None:
        return None
    import time

    from sealshot.video.sources import FUTURE_TOLERANCE_S, parse_utc

    try:
        start = parse_utc(text)
    except ValueError as error:
        raise InputError(f"--start-time {text!r}: not an ISO 8601 time (e.g. 2024-05-01T08:30:00Z)") from error
    if start > time.time() + FUTURE_TOLERANCE_S:
        # Retention counts from the time a person was seen: a snapshot "seen" in the future would outlive it.
        raise InputError(f"--start-time {text!r} is in the future; a recording starts before it is processed")
    return start


def run(
    sources: list[str] = typer.Argument(..., help="Video files, image folders, stream URLs (rtsp://, http://) or webcam indices."),
    vault: str = typer.Option(..., "--vault", help="Vault that receives the sealed snapshots (created if missing): a folder, or postgresql://USER@HOST/DB?objects=s3://BUCKET/PREFIX."),
    recipient: Path = typer.Option(..., "--recipient", help="The authority's PUBLIC key file; the camera never holds a private key."),
    camera: Optional[str] = typer.Option(_RUN.camera, "--camera", help="Camera id recorded with each snapshot (default: the source's name)."),
    quality: str = typer.Option(DEFAULT_METHOD, "--quality", help="Quality method (see `sealshot methods`)."),
    preview: Optional[Path] = typer.Option(_RUN.preview, "--preview", help="Write an annotated preview video (the only output with pixels; mode 0600)."),
    report_path: Optional[Path] = typer.Option(None, "--report", help="Write a JSON report of tracks and chosen frames (no pixels)."),
    timeline: Optional[Path] = typer.Option(_RUN.timeline, "--timeline", help="Write a per-track quality-over-time PNG."),
    camera_key: Optional[Path] = typer.Option(None, "--camera-key", help="The camera's Ed25519 signing key (default: the vault's key for this camera)."),
    start_time: Optional[str] = typer.Option(
        None, "--start-time", help="ISO 8601 time of the first frame of a video file or folder (default: the container's creation time, else the file's modification time minus its duration)."
    ),
    detector: DetectorName = typer.Option(
        _PIPELINE.face_detector, "--detector",
        help=f"Face detector: {' or '.join(DETECTORS)}. yunet is several times faster and runs on every frame (the MTCNN options below then do not apply).",
    ),
    mtcnn_points: bool = typer.Option(
        _YUNET.mtcnn_points, "--mtcnn-points/--yunet-points",
        help="With --detector yunet: align each face on MTCNN O-Net's five points (better chosen crops, 4-7 ms of CPU a frame more) instead of YuNet's.",
    ),
    min_face: float = typer.Option(_DETECTOR.min_face_size, help="Smallest face to detect, in pixels at the detection scale."),
    detect_max_side: Optional[int] = typer.Option(_DETECTOR.detect_max_side, help="Downscale frames whose longer side exceeds this before full detection."),
    detect_every: int = typer.Option(_PIPELINE.detect_every, min=1, help="Full detection every N frames; the tracker's boxes are refined in between."),
    motion_threshold: float = typer.Option(
        _PIPELINE.motion_threshold or 0.0, min=0.0, help="Skip a due full detection while no part of the frame changed by more than this (grey levels); 0: never skip."
    ),
    cut_threshold: float = typer.Option(_TRACKER.cut_threshold or 0.0, min=0.0, help="Frame change (mean HSV difference) that counts as a scene cut and ends every track; 0: off."),
    thresholds: tuple[float, float, float] = typer.Option(_DETECTOR.thresholds, help="MTCNN P-, R- and O-Net thresholds."),
    max_unseen: float = typer.Option(_TRACKER.max_unseen_s, help="Seconds a track may go unseen before it ends and is sealed."),
    min_detections: int = typer.Option(_TRACKER.min_detections, min=1, help="Tracks with fewer detections are treated as false alarms."),
    min_peak_score: float = typer.Option(_TRACKER.min_peak_score, min=0.0, max=1.0, help="Tracks whose detector score never reaches this are treated as false alarms."),
    max_frames: Optional[int] = typer.Option(_RUN.max_frames, min=1, help="Stop each source after this many frames."),
    threads: int = typer.Option(
        _RUN.threads, min=0, help="CPU threads for the models: a frame's detection and scoring are shared between this many threads, each running PyTorch single-threaded (0: one lane with PyTorch's default pool)."
    ),
    progress: bool = typer.Option(_RUN.show_progress, help="Show a progress bar."),
    calibration: Optional[Path] = typer.Option(
        _PIPELINE.calibration, "--calibration", help="Calibration file of the quality method (`sealshot calibrate`; default: its shipped one)."
    ),
    not_usable_below: float = typer.Option(
        _PIPELINE.not_usable_below, help="Flag a sealed crop whose calibrated 0–100 quality is below this as probably not usable (it is still sealed)."
    ),
    clip_seconds: float = typer.Option(
        _PIPELINE.clip_seconds, min=0.0, max=MAX_CLIP_SECONDS,
        help="Also seal a clip of the person's region this many seconds long around the best frame, in the same sealed file; 0: none.",
    ),
) -> None:
    """Detect, track and score faces; seal one best crop per person into the vault."""
    # Heavy imports stay here so that the other commands start quickly.
    import torch

    from sealshot.quality import get_quality
    from sealshot.report import timeline_suffixes, write_report
    from sealshot.runner import StopRequest, run_sources, suffixed, vault_sinks
    from sealshot.video.writer import VIDEO_SUFFIXES

    check_output_file(preview, "--preview", VIDEO_SUFFIXES)
    check_output_file(report_path, "--report")
    check_output_file(timeline, "--timeline", timeline_suffixes())
    numbered = [(option, suffixed(path, index, len(sources))) for option, path in (("--preview", preview), ("--timeline", timeline)) for index in range(len(sources))]
    check_outputs_spare_inputs(sources, [*numbered, ("--report", report_path)])

    console = Console(stderr=True)
    if threads:
        torch.set_num_threads(1)  # the lanes (PipelineConfig.lanes) are the parallelism: coarser, and no spinning pool
    try:
        method = get_quality(quality)
    except UnknownQualityMethod as error:
        raise typer.BadParameter(str(error), param_hint="--quality") from error
    if calibration is not None:
        from sealshot.quality.calibration import load_calibration

        load_calibration(calibration, method.name)  # a wrong or unreadable file stops here (exit 2), before any source
    pipeline = PipelineConfig(
        detector=MTCNNConfig(min_face_size=min_face, thresholds=thresholds, detect_max_side=detect_max_side),
        yunet=YuNetConfig(mtcnn_points=mtcnn_points),
        tracker=TrackerConfig(
            max_unseen_s=max_unseen, min_detections=min_detections, min_peak_score=min_peak_score, cut_threshold=cut_threshold or None
        ),
        detect_every=detect_every,
        motion_threshold=motion_threshold or None,
        calibration=calibration,
        not_usable_below=not_usable_below,
        clip_seconds=clip_seconds,
        lanes=max(1, threads),
    )
    config = RunConfig(
        pipeline=pipeline.using_yunet() if detector.value == "yunet" else pipeline,
        camera=camera,
        preview=preview,
        timeline=timeline,
        max_frames=max_frames,
        start_time_utc=_utc_time(start_time),
        show_progress=progress,
    )
    stop = StopRequest()
    with stop.installed():
        reports = run_sources(sources, config, method, vault_sinks(vault, recipient, camera_key), stop=stop, console=console)
    if report_path:
        write_report(report_path, reports)
    _print_summary(console, reports)
    for report in reports:
        # Not a failure (exit 0): keeping them would break the retention promise, and a purge would delete them at once.
        retention_warning = report.retention_warning()
        if retention_warning:
            hint = ". If that start time is wrong, run again with the right --start-time"
            console.print(f"[yellow]warning:[/yellow] {escape(retention_warning)}{hint}", highlight=False)
        if report.error and not isinstance(report.failure, VaultError):
            console.print(f"[red]error:[/red] {escape(report.error)}", highlight=False)
    vault_failure = next((r.failure for r in reports if isinstance(r.failure, VaultError)), None)
    if vault_failure is not None:
        raise vault_failure  # the command line's one error line, and the vault's exit code
    if stop:
        console.print("[yellow]stopped by signal; every open track was sealed[/yellow]")
        raise typer.Exit(stop.exit_code)
    if reports and all(isinstance(r.failure, SourceError) for r in reports):
        raise typer.Exit(SourceError.exit_code)  # nothing could be read; each source's line is printed above
    if any(r.error for r in reports):
        raise typer.Exit(EXIT_PARTIAL)


def _print_summary(console: Console, reports: "list[SourceReport]") -> None:
    table = Table(title="sealshot run")
    for column in ("source", "camera", "frames", "fps", "tracks", "sealed", "expired", "status"):
        table.add_column(column)
    for r in reports:
        fps = f"{r.frames / r.seconds:.1f}" if r.seconds else "-"
        status = "[red]error[/red]" if r.error else ("interrupted" if r.interrupted else "ok")
        table.add_row(
            escape(Path(r.source).name), r.camera_id, str(r.frames), fps, str(len(r.tracks)), str(r.sealed_count), str(r.retention_ended_count), status
        )
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
