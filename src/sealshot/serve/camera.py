"""One camera's process: a fixed thread budget, the pipeline on its source, status to the supervisor.

Runs in a process of its own (``multiprocessing`` spawn), so that decoding and detection of one camera
never share a GIL with another's. Heavy modules (PyTorch, OpenCV) are imported only after the thread
budget is set. SIGTERM or SIGINT ends the loop, and every open track is sealed before the process exits.
Each track, once sealed or discarded, is appended to ``<report_dir>/<camera>.jsonl`` (no pixels) and
forgotten, so that memory does not grow with run time.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections import deque
from types import FrameType
from typing import TYPE_CHECKING, Any, Iterator

from sealshot.errors import InputError, ModelError, SealshotError, SourceError, VaultError, signal_exit_code
from sealshot.serve import logs
from sealshot.serve.config import CameraSettings

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from sealshot.ledger import TrackSummary
    from sealshot.video import Frame

logger = logging.getLogger("sealshot.serve.camera")

STATUS_EVERY_S = 1.0


def set_thread_budget(settings: CameraSettings) -> None:
    """Fix every pool's size before the libraries start theirs: cameras sharing a host then degrade
    gracefully instead of fighting over the cores."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(settings.threads)
    import cv2
    import torch

    torch.set_num_threads(settings.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    cv2.setNumThreads(settings.opencv_threads)


def resident_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return float("nan")


def private_mb() -> float:
    """Memory only this process holds (Linux ``Private_Clean + Private_Dirty``), in MB: the libraries'
    code pages that camera processes share on one host are not in it."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            fields = dict(line.split(":", 1) for line in rollup if line.startswith("Private_"))
        return sum(int(value.split()[0]) for value in fields.values()) / 1e3
    except (OSError, ValueError):
        return float("nan")


class _Stop:
    """Set by SIGTERM/SIGINT, or when the ``serve`` process is gone (killed): a camera never runs unsupervised."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._parent = os.getppid()

    def __bool__(self) -> bool:
        if self.signal is None and os.getppid() != self._parent:
            logger.error("serve process gone; stopping", extra={"event": "orphaned"})
            self.signal = signal.SIGTERM
        return self.signal is not None

    def handler(self, signum: int, _frame: FrameType | None) -> None:
        self.signal = self.signal or signum


class TrackReport:
    """``<report_dir>/<camera>.jsonl``: one line per ended track, written when it ends."""

    def __init__(self, settings: CameraSettings, started_at_utc: float) -> None:
        self.path = settings.report_dir / f"{settings.camera_id}.jsonl"
        try:
            settings.report_dir.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as error:
            raise InputError(f"report_dir {settings.report_dir}: cannot write {self.path.name} ({error.strerror or error})") from error
        self._settings = settings
        self._started_at_utc = started_at_utc

    def write(self, summary: "TrackSummary") -> None:
        line: dict[str, Any] = {
            "camera_id": self._settings.camera_id,
            "source": self._settings.source,
            "quality_method": self._settings.quality,
            "started_at_utc": self._started_at_utc,
            "ended_at_utc": time.time(),
            **summary.to_json(),
        }
        try:
            self._file.write(json.dumps(line) + "\n")
            self._file.flush()
        except OSError as error:
            # The snapshot is sealed already; a full or lost report disk must not stop the camera sealing others.
            logger.error("cannot write the track report", extra={"event": "report_failed", "path": str(self.path), "error": str(error)})
        if summary.retention_ended_days is not None:
            logger.warning(
                "track seen but not kept: its retention had already ended (a recording older than the vault keeps)",
                extra={"event": "track_retention_ended", "track_id": summary.track_id, "retention_days": summary.retention_ended_days},
            )
            return
        logger.info(
            "track ended",
            extra={"event": "track_sealed" if summary.snapshot_id else "track_discarded", "track_id": summary.track_id,
                   "snapshot_id": summary.snapshot_id, "discarded": summary.discarded, "seal_error": summary.seal_error},
        )

    def close(self) -> None:
        self._file.close()


class Status:
    """Counters sent to the supervisor about once a second (its metrics and /healthz)."""

    def __init__(self, settings: CameraSettings, queue: "Queue[dict[str, Any]] | None") -> None:
        self.settings = settings
        self.queue = queue
        self.fields: dict[str, Any] = {
            "camera": settings.camera_id, "pid": os.getpid(), "up": False, "frames_decoded": 0, "frames_processed": 0,
            "frames_dropped": 0, "fps": 0.0, "lag_s": 0.0, "lag_max_s": 0.0, "live_tracks": 0, "snapshots_sealed": 0,
            "reconnections": 0, "last_error": None, "rss_mb": 0.0, "private_mb": 0.0, "finished": False,
        }
        self._recent: deque[float] = deque(maxlen=256)
        self._lags: deque[float] = deque(maxlen=256)
        self._sent = 0.0

    def processed(self, lag_s: float | None) -> None:
        now = time.monotonic()
        self._recent.append(now)
        self.fields["frames_processed"] += 1
        if lag_s is not None:
            self._lags.append(lag_s)
            self.fields["lag_s"] = lag_s

    def send(self, force: bool = False, **changes: Any) -> None:
        self.fields.update(changes)
        now = time.monotonic()
        if not force and now - self._sent < STATUS_EVERY_S:
            return
        self._sent = now
        window = [t for t in self._recent if now - t <= 5.0]
        self.fields["fps"] = round(len(window) / 5.0, 2) if window else 0.0
        self.fields["lag_max_s"] = round(max(self._lags), 3) if self._lags else 0.0
        self._lags.clear()
        self.fields["rss_mb"] = round(resident_mb(), 1)
        self.fields["private_mb"] = round(private_mb(), 1)
        self.fields["sent_at"] = time.time()
        if self.queue is not None:
            try:
                self.queue.put_nowait(dict(self.fields))
            except Exception:  # noqa: BLE001 - a full or closed queue must not stop the camera
                pass


def camera_main(settings: CameraSettings, queue: "Queue[dict[str, Any]] | None" = None) -> None:
    """The camera process's entry point; exits with 0 (stopped, or a file's end), 143/130 (signal),
    2 (a setting or file is wrong, e.g. the recipient), 3 (source failed), 4 (vault failed) or 5 (could not start)."""
    logs.configure(camera=settings.camera_id)
    stop = _Stop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop.handler)
    status = Status(settings, queue)
    try:
        code = _run(settings, stop, status)
    except SealshotError as error:
        logger.error("camera stopped", extra={"event": "camera_failed", "error": str(error)})
        status.send(force=True, up=False, last_error=str(error))
        code = error.exit_code if isinstance(error, (InputError, VaultError, SourceError)) else ModelError.exit_code
    except Exception as error:  # noqa: BLE001 - reported to the supervisor, which restarts the camera
        logger.exception("camera crashed", extra={"event": "camera_crashed"})
        status.send(force=True, up=False, last_error=f"{type(error).__name__}: {error}")
        code = ModelError.exit_code
    sys.stderr.flush()
    sys.exit(code)


def _run(settings: CameraSettings, stop: _Stop, status: Status) -> int:
    set_thread_budget(settings)
    from sealshot.pipeline import CameraPipeline
    from sealshot.quality import get_quality
    from sealshot.vault import CameraSealer
    from sealshot.video.live import Backoff, LiveStream

    config = settings.pipeline()
    sink = CameraSealer.open(settings.vault, settings.recipient, settings.camera_id, camera_key=settings.camera_key)
    try:
        quality = get_quality(settings.quality)
        detector = config.create_detector()
    except BaseException:
        sink.close()
        raise
    live: LiveStream | None = None
    try:
        if settings.is_live:
            live = LiveStream(
                settings.source,
                keep=settings.keep_frames,
                backoff=Backoff(initial_s=settings.reconnect_initial_s, max_s=settings.reconnect_max_s),
                open_timeout_s=settings.read_timeout_s,
                read_timeout_s=settings.read_timeout_s,
                decoder_threads=settings.decoder_threads,
                max_behind_s=settings.max_behind_s,
            ).start()
            started_at_utc, started_at_source = live.started_at_utc, live.started_at_source
        else:
            from sealshot.video import open_source

            recorded = open_source(settings.source)
            started_at_utc, started_at_source = recorded.started_at_utc, recorded.started_at_source
        report = TrackReport(settings, started_at_utc)
        pipeline = CameraPipeline(
            config, quality, sink, started_at_utc, detector=detector, started_at_source=started_at_source, on_track_closed=report.write
        )
        logger.info("camera started", extra={"event": "camera_started", "source": settings.source, "threads": settings.threads})
        try:
            if live is not None:
                _serve_live(live, pipeline, settings, stop, status)
            else:
                _serve_recording(recorded, pipeline, stop, status)
        finally:
            pipeline.finish()
            status.send(force=True, live_tracks=0, snapshots_sealed=pipeline.sealed_count)
            report.close()
    finally:
        if live is not None:
            live.stop()
        sink.close()
    logger.info("camera stopped", extra={"event": "camera_stopped", "sealed": status.fields["snapshots_sealed"]})
    status.send(force=True, up=False, finished=not settings.is_live)
    return signal_exit_code(stop.signal) if stop.signal else 0


def _serve_live(live: Any, pipeline: Any, settings: CameraSettings, stop: _Stop, status: Status) -> None:
    gap_sealed = True
    while not stop:
        frame = live.next_frame(timeout_s=0.25)
        counters = live.counters
        if frame is None:
            # Gone longer than a track may go unseen: seal now, do not wait for the stream to return.
            if not gap_sealed and live.down_for() > settings.max_unseen and pipeline.live_track_count:
                logger.info("stream gone; sealing open tracks", extra={"event": "gap_sealed", "tracks": pipeline.live_track_count})
                pipeline.finish()
                gap_sealed = True
            status.send(
                up=live.connected, frames_decoded=counters.frames_decoded, frames_dropped=counters.frames_dropped,
                reconnections=counters.reconnections, last_error=counters.last_error, live_tracks=pipeline.live_track_count,
                snapshots_sealed=pipeline.sealed_count,
            )
            continue
        gap_sealed = False
        pipeline.process(frame)
        # Behind live: now against the frame's own time, so that a backlog anywhere before us (socket, decoder) counts.
        status.processed(max(0.0, time.time() - (live.started_at_utc + frame.timestamp)))  # a stream sent faster than real time runs ahead
        status.send(
            up=True, frames_decoded=counters.frames_decoded, frames_dropped=counters.frames_dropped,
            reconnections=counters.reconnections, last_error=counters.last_error, live_tracks=pipeline.live_track_count,
            snapshots_sealed=pipeline.sealed_count,
        )


def _serve_recording(recorded: Any, pipeline: Any, stop: _Stop, status: Status) -> None:
    """A file or folder: every frame, as fast as possible (as ``run`` does)."""
    from sealshot.video.prefetch import prefetch

    frames: Iterator["Frame"] = prefetch(recorded)
    for frame in frames:
        pipeline.process(frame)
        status.processed(None)
        status.send(up=True, frames_decoded=status.fields["frames_processed"], live_tracks=pipeline.live_track_count,
                    snapshots_sealed=pipeline.sealed_count)
        if stop:
            break

