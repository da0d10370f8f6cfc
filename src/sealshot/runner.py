"""Running the camera pipeline over one or more sources, with progress, signals and outputs.

``run_sources`` is the library's entry point (``sealshot run`` is a thin layer over it)::

    from sealshot.config import RunConfig
    from sealshot.quality import get_quality
    from sealshot.runner import run_sources, vault_sinks

    reports = run_sources(["lobby.mp4"], RunConfig(camera="lobby"), get_quality("vae"),
                          vault_sinks(Path("vault"), Path("keys/authority.pub")))
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Callable, Iterator, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sealshot.config import CAMERA_ID, MAX_CAMERA_ID_LENGTH, NOT_IN_CAMERA_ID, PipelineConfig, RunConfig, fit_camera_id
from sealshot.detect.types import FaceDetector
from sealshot.errors import InputError, SourceError, VaultError, signal_exit_code
from sealshot.ledger import FrameResult
from sealshot.pipeline import CameraPipeline, SnapshotSink
from sealshot.quality import QualityMethod
from sealshot.report import SourceReport, plot_quality_timeline
from sealshot.video import Frame, FrameSource, StartTimeSource, open_source
from sealshot.video.annotate import BoxLabel, annotate
from sealshot.video.prefetch import prefetch
from sealshot.video.writer import VideoWriter

__all__ = ["PipelineConfig", "RunConfig", "SinkFactory", "StopRequest", "camera_id_for", "run_source", "run_sources", "suffixed", "vault_sinks"]

logger = logging.getLogger(__name__)

SinkFactory = Callable[[str], SnapshotSink]
"""Opens the sink of one camera id (in production ``vault_sinks(...)``)."""


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

    @contextmanager
    def installed(self) -> Iterator["StopRequest"]:
        """Handle SIGTERM and SIGINT (main thread only) until the block ends."""
        previous = {s: signal.signal(s, self.handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    @property
    def exit_code(self) -> int:
        return signal_exit_code(self.signal) if self.signal else 0


def camera_id_for(source: str, given: str | None = None, index: int = 0, count: int = 1) -> str:
    """The camera id snapshots of ``source`` are sealed under: 1-64 letters, digits, '.', '_' or '-'.

    ``given`` (``--camera``) is used as is for one source and numbered (``lobby-1``, ``lobby-2``) for
    several; an invalid one is an ``InputError``. Otherwise the id comes from the source's name
    (``webcam0`` for webcam 0), other characters replaced by '-', long names shortened with a hash.
    """
    if given:
        if not CAMERA_ID.fullmatch(given):
            raise InputError(f"camera id {given!r}: use 1-{MAX_CAMERA_ID_LENGTH} letters, digits, '.', '_' or '-'")
        if count == 1:
            return given
        suffix = f"-{index + 1}"
        return given[: MAX_CAMERA_ID_LENGTH - len(suffix)] + suffix
    stem = f"webcam{source}" if source.isdigit() else Path(source).stem
    return fit_camera_id(NOT_IN_CAMERA_ID.sub("-", stem) or "camera", source)


def vault_sinks(vault: str | Path, recipient: Path, camera_key: Path | None = None) -> SinkFactory:
    """Sinks sealing into the vault at ``vault`` (a folder or a PostgreSQL + S3 URL) for the authority
    whose public key is in ``recipient``. A ``recipient`` that is not that key (the private key above all)
    is an ``InputError`` here, before any source is opened."""
    from sealshot.vault import CameraSealer, load_recipient

    load_recipient(recipient)
    def open_sealer(camera_id: str) -> SnapshotSink:
        return CameraSealer.open(vault, recipient, camera_id, camera_key=camera_key)

    return open_sealer


def suffixed(path: Path | None, index: int, count: int) -> Path | None:
    """``out.mp4`` → ``out-2.mp4`` for the second of several sources."""
    if path is None or count == 1:
        return path
    return path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


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


def _start_time(frames: FrameSource, start_time_utc: float | None) -> tuple[float, StartTimeSource]:
    """When frame 0 was taken: the given time for a recording, else what the source found out."""
    if start_time_utc is not None and frames.started_at_source != "wall-clock":
        return start_time_utc, "option"
    if start_time_utc is not None:
        logger.warning("%s is live: its frames are timed by the clock, not by the given start time", frames.name)
    return frames.started_at_utc, frames.started_at_source


class _Preview:
    """The annotated preview video. A source that can be read again is drawn in a second pass,
    knowing each track's sealed frame; a live one is drawn as it goes, marking each new best crop."""

    def __init__(self, path: Path | None, frames: FrameSource) -> None:
        self.path = path
        self.frames = frames
        self.results: dict[int, FrameResult] = {}
        self._writer: VideoWriter | None = None

    def add(self, frame: Frame, result: FrameResult) -> None:
        if self.path is None:
            return
        if self.frames.rereadable:
            self.results[frame.index] = result
            return
        if self._writer is None:
            self._writer = VideoWriter(self.path, self.frames.fps, frame.width, frame.height)
        self._writer.write(annotate(frame.image, [BoxLabel(f.box, f.track_id, f.quality, f.new_best) for f in result.faces]))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def draw_second_pass(self, report: SourceReport, stop: StopRequest) -> None:
        """Up to the last frame the first pass processed (all of them, unless it was stopped or limited); a
        signal that arrives while drawing ends the drawing there."""
        if self.path is None or not self.frames.rereadable or not report.frames or not self.results:
            return
        chosen = {(t.chosen_frame, t.track_id) for t in report.tracks if t.snapshot_id}
        stopped_before = bool(stop)
        writer: VideoWriter | None = None
        try:
            frames = open_source(report.source)
            for frame in _limited(iter(frames), max(self.results) + 1):
                if stop and not stopped_before:
                    break
                if writer is None:
                    writer = VideoWriter(self.path, frames.fps, frame.width, frame.height)
                result = self.results.get(frame.index)
                faces = result.faces if result else ()
                labels = [BoxLabel(f.box, f.track_id, f.quality, (f.frame_index, f.track_id) in chosen) for f in faces]
                writer.write(annotate(frame.image, labels, caption=f"{report.camera_id}  frame {frame.index}  t={frame.timestamp:.2f}s"))
        except SourceError as error:
            # A truncated or damaged file ends the second pass where it ended the first (already reported);
            # the preview keeps the frames drawn so far. A file that changed in between is reported now.
            report.fail(error)
        finally:
            if writer is not None:
                writer.close()


def run_source(
    source: str,
    camera_id: str,
    config: RunConfig,
    quality: QualityMethod,
    sink_factory: SinkFactory,
    detector: FaceDetector,
    stop: StopRequest,
    console: Console,
    preview: Path | None = None,
    timeline: Path | None = None,
    open_frames: Callable[[str], FrameSource] = open_source,
) -> SourceReport:
    """Process one source to its end (or until stopped, or until the sink fails); open tracks are
    always sealed, or reported as not sealed. Source and vault errors end up in the report.
    ``open_frames`` opens the source (a batch chunk opens a range of a file's frames)."""
    report = SourceReport(source=source, camera_id=camera_id, quality_method=quality.name)
    try:
        frames = open_frames(source)
    except SourceError as error:
        report.fail(error)
        return report
    report.started_at_utc, report.started_at_source = _start_time(frames, config.start_time_utc)
    if report.started_at_source == "mtime-minus-duration":
        console.print(
            f"[yellow]note:[/yellow] {escape(source)} has no creation time; its modification time is taken as the end of the "
            "recording (set --start-time if that is wrong)",
            highlight=False,
        )
    try:
        sink = sink_factory(camera_id)
    except VaultError as error:
        report.fail(error)
        return report
    except OSError as error:  # a store that let a file-system error through
        report.fail(VaultError(f"cannot open the vault for camera {camera_id!r}: {error}"))
        return report
    pipeline_config = dataclasses.replace(config.pipeline, camera_id=camera_id)
    if frames.stills:
        # A folder's pictures are seconds or scenes apart: one picture of a person is all there may be of them.
        pipeline_config = dataclasses.replace(pipeline_config, tracker=dataclasses.replace(pipeline_config.tracker, min_detections=1))
    pipeline = CameraPipeline(
        pipeline_config,
        quality,
        sink,
        report.started_at_utc,
        detector=detector,
        started_at_source=report.started_at_source,
    )
    drawing = _Preview(preview, frames)
    start = time.perf_counter()
    total = frames.frame_count if config.max_frames is None else min(frames.frame_count or config.max_frames, config.max_frames)
    with _progress(console, config.show_progress) as progress:
        task = progress.add_task(Path(source).name or source, total=total, fps="-", tracks=0, sealed=0)
        try:
            for frame, result in pipeline.process_stream(_limited(prefetch(frames), config.max_frames)):
                drawing.add(frame, result)
                report.frames += 1
                elapsed = time.perf_counter() - start
                progress.update(
                    task, advance=1, fps=f"{report.frames / elapsed:.1f}", tracks=pipeline.live_track_count, sealed=pipeline.sealed_count
                )
                if stop:
                    report.interrupted = True
                    break
        except (SourceError, VaultError) as error:
            report.fail(error)
        finally:
            try:
                pipeline.finish()
            except VaultError as error:
                report.fail(error)
            finally:
                try:
                    sink.close()
                except VaultError as error:
                    report.fail(error)
                drawing.close()
            progress.update(task, sealed=pipeline.sealed_count)
    report.seconds = time.perf_counter() - start
    report.skipped = list(getattr(frames, "skipped", []))
    for path in report.skipped:
        console.print(f"[yellow]skipped:[/yellow] {escape(path)} is not a readable image", highlight=False)
    report.tracks = pipeline.track_summaries()
    report.stage_ms_per_frame = pipeline.stage_timings()
    drawing.draw_second_pass(report, stop)
    if timeline is not None:
        plot_quality_timeline(report, timeline)
    return report


def run_sources(
    sources: Sequence[str],
    config: RunConfig,
    quality: QualityMethod,
    sink_factory: SinkFactory,
    *,
    detector: FaceDetector | None = None,
    stop: StopRequest | None = None,
    console: Console | None = None,
) -> list[SourceReport]:
    """Detect, track and score faces in each source in turn; seal one best crop per person.

    A source that cannot be opened or decoded is reported (``report.error``) and the next one runs.
    A failing sink (``VaultError``: disk full, vault refused) ends the run: the source it hit reports
    the error and its unsealed tracks, and later sources are not started. ``stop`` (see
    ``StopRequest.installed``) ends the run after sealing every open track. Camera ids come from
    ``config.camera`` or the sources' names (``camera_id_for``); an invalid one raises ``InputError``
    before any work.
    """
    camera_ids = [camera_id_for(source, config.camera, index, len(sources)) for index, source in enumerate(sources)]
    detector = detector if detector is not None else config.pipeline.create_detector()
    stop = stop if stop is not None else StopRequest()  # not ``or``: a StopRequest not yet signalled is falsy
    console = console if console is not None else Console(stderr=True)
    reports: list[SourceReport] = []
    for index, (source, camera_id) in enumerate(zip(sources, camera_ids)):
        report = run_source(
            source,
            camera_id,
            config,
            quality,
            sink_factory,
            detector,
            stop,
            console,
            preview=suffixed(config.preview, index, len(sources)),
            timeline=suffixed(config.timeline, index, len(sources)),
        )
        reports.append(report)
        if stop or isinstance(report.failure, VaultError):
            break
    return reports
