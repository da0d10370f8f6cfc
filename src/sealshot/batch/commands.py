"""``sealshot batch``: a thin layer over ``sealshot.batch.plan.plan_archive`` and ``sealshot.batch.execute.run_batch``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sealshot.batch.config import BatchConfig
from sealshot.config import PipelineConfig
from sealshot.detect.config import DETECTORS, DetectorName, MTCNNConfig
from sealshot.outputs import check_output_file, check_outputs_spare_inputs
from sealshot.quality.registry import DEFAULT_METHOD
from sealshot.track.config import TrackerConfig

if TYPE_CHECKING:
    from sealshot.batch.execute import BatchReport
    from sealshot.batch.plan import ArchivePlan

_BATCH, _DETECTOR, _TRACKER, _PIPELINE = BatchConfig(), MTCNNConfig(), TrackerConfig(), PipelineConfig()


def batch(
    files: list[str] = typer.Argument(..., help="Video files or globs (quote them: 'archive/**/*.mp4')."),
    vault: str = typer.Option(..., "--vault", help="Vault location every node can reach: a folder, or a vault URL."),
    recipient: Path = typer.Option(..., "--recipient", help="The authority's PUBLIC key file (readable on every node)."),
    camera: Optional[str] = typer.Option(None, "--camera", help="Camera id (numbered per file when there are several; default: each file's name)."),
    camera_key: Optional[Path] = typer.Option(None, "--camera-key", help="The camera's Ed25519 signing key (default: the vault's key for each camera)."),
    quality: str = typer.Option(DEFAULT_METHOD, "--quality", help="Quality method (see `sealshot methods`)."),
    ray: str = typer.Option(_BATCH.ray, "--ray", help="'none' (this process), 'auto' (the Ray cluster this machine is in) or a cluster address."),
    chunk_seconds: float = typer.Option(_BATCH.chunk_seconds, help="Files longer than this are cut into chunks of at most this length."),
    overlap_seconds: float = typer.Option(_BATCH.overlap_seconds, help="Each chunk also reads this much before and after its own frames."),
    max_retries: int = typer.Option(_BATCH.max_retries, help="Times Ray reruns a chunk whose worker died (a rerun seals nothing twice)."),
    threads: int = typer.Option(_BATCH.threads, min=1, help="PyTorch and OpenCV threads per chunk."),
    report_path: Optional[Path] = typer.Option(None, "--report", help="Write a JSON report: per file and chunk, frames, seconds, sealed ids, attempts."),
    detector: DetectorName = typer.Option(
        _PIPELINE.face_detector, "--detector",
        help=f"Face detector: {' or '.join(DETECTORS)}. yunet is several times faster and runs on every frame (the MTCNN options below then do not apply).",
    ),
    min_face: float = typer.Option(_DETECTOR.min_face_size, help="Smallest face to detect, in pixels at the detection scale."),
    detect_max_side: Optional[int] = typer.Option(_DETECTOR.detect_max_side, help="Downscale frames whose longer side exceeds this before full detection."),
    detect_every: int = typer.Option(_PIPELINE.detect_every, min=1, help="Full detection every N frames; the tracker's boxes are refined in between."),
    max_unseen: float = typer.Option(_TRACKER.max_unseen_s, help="Seconds a track may go unseen before it ends and is sealed."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Process an archive of video files in overlapping chunks, here or on a Ray cluster; seal one best crop per person."""
    from sealshot.batch.execute import run_batch
    from sealshot.batch.plan import plan_archive
    from sealshot.batch.work import BatchJob, portable_location
    from sealshot.quality.registry import UnknownQualityMethod, available
    from sealshot.runner import StopRequest
    from sealshot.vault import load_recipient

    console = Console(stderr=True)
    check_output_file(report_path, "--report")
    if quality not in available():
        raise typer.BadParameter(str(UnknownQualityMethod(quality)), param_hint="--quality")
    config = BatchConfig(chunk_seconds=chunk_seconds, overlap_seconds=overlap_seconds, ray=ray, max_retries=max_retries, threads=threads)
    pipeline = PipelineConfig(
        detector=MTCNNConfig(min_face_size=min_face, detect_max_side=detect_max_side),
        tracker=TrackerConfig(max_unseen_s=max_unseen),
        detect_every=detect_every,
    )
    if detector.value == "yunet":
        pipeline = pipeline.using_yunet()
    plan = plan_archive(files, config, camera, align=pipeline.detect_every)
    check_outputs_spare_inputs([file.path for file in plan.files], [("--report", report_path)])
    load_recipient(recipient)  # a wrong file (the private key above all) stops here, before any chunk
    _print_plan_notes(console, plan)
    job = BatchJob(
        vault=portable_location(vault),
        recipient=portable_location(str(recipient)),
        pipeline=pipeline,
        quality=quality,
        camera_key=None if camera_key is None else portable_location(str(camera_key)),
        threads=threads,
    )
    stop = StopRequest()
    with stop.installed():
        report = run_batch(plan, job, config, console=console, show_progress=progress, stop=stop)
    if report_path is not None:
        report.write(report_path)
    _print_summary(console, report)
    if stop:
        console.print("[yellow]stopped by signal; the running chunks sealed their open tracks, the others did not start[/yellow]")
        raise typer.Exit(stop.exit_code)
    failure = report.failure()
    if failure is not None:
        raise failure


def _print_plan_notes(console: Console, plan: "ArchivePlan") -> None:
    for file in plan.files:
        if file.started_at_source == "mtime-minus-duration":
            console.print(
                f"[yellow]note:[/yellow] {escape(str(file.path))} has no creation time; its modification time is taken as the end of the recording",
                highlight=False,
            )
    chunks, seconds = len(plan.chunks), plan.duration_s
    console.print(f"{len(plan.files)} file(s), {seconds:.0f} s of video, {chunks} chunk(s)", highlight=False)


def _print_summary(console: Console, report: "BatchReport") -> None:
    table = Table(title="sealshot batch")
    for column in ("file", "camera", "chunks", "video s", "sealed", "expired", "retried", "status"):
        table.add_column(column)
    for file in report.plan.files:
        results = report.results_of(file.path)
        failed = file.error is not None or len(results) < len(file.chunks) or any(r.failed for r in results)
        table.add_row(
            Path(file.path).name,
            file.camera_id,
            f"{len(results)}/{len(file.chunks)}",
            f"{sum(r.video_seconds for r in results):.1f}",
            str(sum(r.sealed for r in results)),
            str(sum(r.retention_ended for r in results)),
            str(sum(1 for r in results if (r.attempts or 1) > 1)),
            "[red]incomplete[/red]" if failed else "ok",
        )
    console.print(table)
    rate = report.video_seconds / report.seconds if report.seconds > 0 else 0.0
    console.print(f"{report.video_seconds:.1f} s of video in {report.seconds:.1f} s ({rate:.2f}x real time); {report.sealed} sealed", highlight=False)
    for warning in report.retention_warnings():  # not a failure: keeping them would break the retention promise
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(batch)
