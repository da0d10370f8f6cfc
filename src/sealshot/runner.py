"""Running the camera pipeline over one or more sources, with progress, signals and outputs."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sealshot.detect import MTCNNDetector
from sealshot.pipeline import CameraPipeline, FaceObservation, PipelineConfig, SnapshotSink
from sealshot.quality import QualityMethod
from sealshot.report import SourceReport, plot_quality_timeline
from sealshot.video import Frame, VideoSourceError, open_source
from sealshot.video.annotate import BoxLabel, annotate
from sealshot.video.prefetch import prefetch
from sealshot.video.sources import PyAVSource
from sealshot.video.writer import VideoWriter

logger = logging.getLogger(__name__)


class StopRequest:
    """Set by SIGTERM / SIGINT; the loop then seals every open track before it returns."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def handler(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal = signum
        else:
            # A second signal during the final sealing is ignored on purpose: nobody seen may be lost.
            logger.warning("already stopping; sealing open tracks first")

    def install(self) -> Callable[[], None]:
        previous = {s: signal.signal(s, self.handler) for s in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for s, h in previous.items():
                signal.signal(s, h)

        return restore

    @property
    def exit_code(self) -> int:
        return 128 + self.signal if self.signal else 0


@dataclass
class RunOptions:
    preview: Path | None = None
    timeline: Path | None = None
    max_frames: int | None = None
    show_progress: bool = True
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[fps]} fps · {task.fields[tracks]} live · {task.fields[sealed]} sealed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def _limited(frames: Iterator[Frame], max_frames: int | None) -> Iterator[Frame]:
    for frame in frames:
        if max_frames is not None and frame.index >= max_frames:
            return
        yield frame


def run_source(
    source: str,
    sink_factory: Callable[[str], SnapshotSink],
    quality: QualityMethod,
    options: RunOptions,
    stop: StopRequest,
    detector: MTCNNDetector,
    console: Console,
) -> SourceReport:
    """Process one source to its end (or until stopped); open tracks are always sealed."""
    camera_id = options.pipeline.camera_id
    report = SourceReport(source=source, camera_id=camera_id, quality_method=quality.name)
    try:
        frames = open_source(source)
    except VideoSourceError as error:
        report.error = str(error)
        return report
    sink = sink_factory(camera_id)
    pipeline = CameraPipeline(options.pipeline, quality, sink, frames.started_at_utc, detector=detector)
    observations: dict[int, list[FaceObservation]] = {}
    # A file can be read twice, so its preview is drawn afterwards, knowing each track's sealed frame.
    live_preview = not isinstance(frames, PyAVSource) or frames.is_stream
    writer: VideoWriter | None = None
    start = time.perf_counter()
    total = frames.frame_count if options.max_frames is None else min(frames.frame_count or options.max_frames, options.max_frames)
    with _progress(console, options.show_progress) as progress:
        task = progress.add_task(Path(source).name or source, total=total, fps="-", tracks=0, sealed=0)
        try:
            for frame in _limited(prefetch(frames), options.max_frames):
                frame_observations = pipeline.process(frame)
                report.frames += 1
                if options.preview is not None:
                    if live_preview:
                        if writer is None:
                            writer = VideoWriter(options.preview, frames.fps or 25.0, frame.width, frame.height)
                        writer.write(annotate(frame.image, [BoxLabel(o.box, o.track_id, o.quality, o.new_best) for o in frame_observations]))
                    else:
                        observations[frame.index] = frame_observations
                elapsed = time.perf_counter() - start
                progress.update(
                    task, advance=1, fps=f"{report.frames / elapsed:.1f}", tracks=len(pipeline.tracker.tracks), sealed=len(pipeline.sealed())
                )
                if stop:
                    report.interrupted = True
                    break
        except VideoSourceError as error:
            report.error = str(error)
        finally:
            pipeline.finish()
            close = getattr(sink, "close", None)
            if close:
                close()
            if writer is not None:
                writer.close()
            progress.update(task, sealed=len(pipeline.sealed()))
    report.seconds = time.perf_counter() - start
    report.tracks = list(pipeline.summaries.values())
    report.stage_ms_per_frame = pipeline.timer.milliseconds_per(report.frames)
    if options.preview is not None and not live_preview and report.frames:
        write_preview_from_file(source, options.preview, observations, report, options.max_frames)
    if options.timeline is not None:
        plot_quality_timeline(report, options.timeline)
    return report


def write_preview_from_file(
    source: str, path: Path, observations: dict[int, list[FaceObservation]], report: SourceReport, max_frames: int | None
) -> None:
    """Second pass over a file: every face annotated, each track's sealed crop highlighted in its frame."""
    chosen = {(t.chosen_frame, t.track_id) for t in report.tracks if t.snapshot_id}
    frames = open_source(source)
    writer: VideoWriter | None = None
    try:
        for frame in _limited(iter(frames), max_frames):
            if writer is None:
                writer = VideoWriter(path, frames.fps or 25.0, frame.width, frame.height)
            labels = [BoxLabel(o.box, o.track_id, o.quality, (o.frame_index, o.track_id) in chosen) for o in observations.get(frame.index, [])]
            writer.write(annotate(frame.image, labels, caption=f"{report.camera_id}  frame {frame.index}  t={frame.timestamp:.2f}s"))
    finally:
        if writer is not None:
            writer.close()


def suffixed(path: Path | None, index: int, count: int) -> Path | None:
    """``out.mp4`` → ``out-2.mp4`` for the second of several sources."""
    if path is None or count == 1:
        return path
    return path.with_name(f"{path.stem}-{index + 1}{path.suffix}")
