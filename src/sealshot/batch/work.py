"""The work of one chunk, the same in this process and in a Ray task: run the pipeline over the chunk's
frames and seal the tracks it owns into the shared vault, each under a deterministic snapshot id.

A task gets a ``ChunkSpec`` (a file name and frame numbers) and a ``BatchJob`` (settings) and returns a
``ChunkResult`` (counts and snapshot ids): frames never leave the process that decodes them.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from rich.console import Console

from sealshot.batch.plan import ChunkSpec
from sealshot.config import PipelineConfig, RunConfig
from sealshot.detect.types import FaceDetector
from sealshot.errors import SealshotError
from sealshot.pipeline import SnapshotSink
from sealshot.quality import get_quality
from sealshot.report import SourceReport
from sealshot.runner import SinkFactory, StopRequest, run_source
from sealshot.vault.sealer import CameraSealer, snapshot_key
from sealshot.video import FrameSource
from sealshot.video.sources import PyAVSource


@dataclass(frozen=True)
class BatchJob:
    """What every chunk of one batch shares. Locations are strings valid on every node: the vault a folder
    or a URL, the key files absolute paths."""

    vault: str
    recipient: str
    pipeline: PipelineConfig
    quality: str
    camera_key: str | None = None
    threads: int = 1


@dataclass
class ChunkResult:
    """What a chunk did, small enough for Ray's object store: counts and ids, no pixels."""

    path: str
    camera_id: str
    chunk_index: int
    chunk_count: int
    start_frame: int
    end_frame: int | None
    frames: int = 0
    """Frames decoded and processed, warm-up and overlap included."""
    video_seconds: float = 0.0
    """Seconds of the file this chunk owns and got through."""
    seconds: float = 0.0
    """Wall time of its last attempt."""
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    """One record per sealed track: snapshot id, track id, first and chosen frame, chosen time in the file."""
    declined: int = 0
    """Tracks first seen outside its frames, left to the neighbour that owns them."""
    discarded: int = 0
    retention_ended: int = 0
    """Tracks it owned that were seen but not kept: the vault's retention period had already ended for them (an old
    recording). Not a failure: keeping them would break the retention promise."""
    retention_days: float | None = None
    """That retention period, in days, when ``retention_ended`` is not 0."""
    unsealed: list[str] = field(default_factory=list)
    """Why each track it owned could not be sealed."""
    error: str | None = None
    error_kind: str | None = None
    interrupted: bool = False
    """Stopped by a signal before its last frame (its open tracks were sealed); running the batch again completes it."""
    attempts: int | None = None
    """How many times it was started (more than 1: a worker died and Ray ran it again); None: not known."""
    host: str = ""
    pid: int = 0

    @property
    def sealed(self) -> int:
        return len(self.snapshots)

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.unsealed)

    @classmethod
    def for_chunk(cls, chunk: ChunkSpec, **values: Any) -> "ChunkResult":
        return cls(
            path=chunk.path,
            camera_id=chunk.camera_id,
            chunk_index=chunk.index,
            chunk_count=chunk.count,
            start_frame=chunk.start_frame,
            end_frame=chunk.end_frame,
            **values,
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"sealed": self.sealed}


class ChunkSink:
    """Seals each snapshot under ``snapshot_key(camera, source identity, chunk, track)``: a chunk run again
    (a retried task, a batch started again) finds its snapshots already sealed and seals nothing twice."""

    def __init__(self, sealer: CameraSealer, chunk: ChunkSpec) -> None:
        self.sealer = sealer
        self.chunk = chunk

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any]) -> str:
        chunk = self.chunk
        snapshot_id = snapshot_key(chunk.camera_id, chunk.source_identity, chunk.index, chunk.frame_range, metadata["track_id"])
        return self.sealer.seal(crop, metadata, snapshot_id=snapshot_id)

    def retention_ended(self, seen_at_utc: float) -> float | None:
        return self.sealer.retention_ended(seen_at_utc)

    def close(self) -> None:
        self.sealer.close()


def chunk_sinks(job: BatchJob, chunk: ChunkSpec) -> SinkFactory:
    def open_sink(camera_id: str) -> SnapshotSink:
        return ChunkSink(CameraSealer.open(job.vault, job.recipient, camera_id, camera_key=job.camera_key), chunk)  # type: ignore[arg-type]

    return open_sink


def open_chunk(chunk: ChunkSpec) -> FrameSource:
    """The chunk's frames: from the keyframe before ``read_start`` on, timed as in a decode of the whole file."""
    return PyAVSource(
        chunk.path, start_frame=chunk.read_start, end_frame=chunk.read_end, started_at=(chunk.started_at_utc, chunk.started_at_source)
    )


def portable_location(location: str) -> str:
    """A location as every node and process reads it: a URL as given, a path made absolute (a Ray worker does
    not run in the driver's folder)."""
    return location if "://" in location else os.path.abspath(location)


_DETECTORS: dict[str, FaceDetector] = {}
"""One detector per setting and process: a Ray worker runs many chunks and loads the models once."""


def detector_for(config: PipelineConfig) -> FaceDetector:
    key = repr((config.face_detector, config.detector if config.face_detector == "mtcnn" else config.yunet))
    if key not in _DETECTORS:
        _DETECTORS[key] = config.create_detector()
    return _DETECTORS[key]


def limit_threads(threads: int) -> None:
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def process_chunk(chunk: ChunkSpec, job: BatchJob, stop: StopRequest | None = None) -> ChunkResult:
    """Run the pipeline over the chunk and seal the tracks it owns. Source and vault failures are returned in
    the result (``error``), not raised; so is any other ``SealshotError`` (a missing model, a bad setting)."""
    started = time.perf_counter()
    identity = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        limit_threads(job.threads)
        pipeline = dataclasses.replace(job.pipeline, owned_frames=(chunk.start_frame, chunk.end_frame))
        report = run_source(
            chunk.path,
            chunk.camera_id,
            RunConfig(pipeline=pipeline, show_progress=False),
            get_quality(job.quality),
            chunk_sinks(job, chunk),
            detector_for(pipeline),
            stop if stop is not None else StopRequest(),
            Console(stderr=True, quiet=True),
            open_frames=lambda _path: open_chunk(chunk),
        )
    except SealshotError as error:
        return ChunkResult.for_chunk(chunk, error=str(error), error_kind=type(error).__name__, seconds=time.perf_counter() - started, **identity)
    return result_of(chunk, report, time.perf_counter() - started, **identity)


def result_of(chunk: ChunkSpec, report: SourceReport, seconds: float, host: str, pid: int) -> ChunkResult:
    owned = chunk.owned_frames(report.frames)
    return ChunkResult.for_chunk(
        chunk,
        frames=report.frames,
        video_seconds=owned / chunk.fps,
        seconds=seconds,
        snapshots=[
            {
                "snapshot_id": track.snapshot_id,
                "track_id": track.track_id,
                "first_frame": track.first_frame,
                "chosen_frame": track.chosen_frame,
                "chosen_timestamp": track.chosen_timestamp,
            }
            for track in report.tracks
            if track.snapshot_id
        ],
        declined=sum(1 for track in report.tracks if track.declined),
        discarded=sum(1 for track in report.tracks if track.discarded),
        retention_ended=report.retention_ended_count,
        retention_days=max((t.retention_ended_days for t in report.tracks if t.retention_ended_days is not None), default=None),
        unsealed=[f"track {track.track_id}: {track.seal_error}" for track in report.tracks if track.seal_error],
        error=report.error,
        error_kind=report.error_kind,
        interrupted=report.interrupted,
        host=host,
        pid=pid,
    )
