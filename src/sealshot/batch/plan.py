"""Planning an archive: which files, how long each is, and how it is cut into overlapping chunks.

A file is cut by time, at each frame's time in its container's index (``PyAVSource.frame_times``), so that
chunks are equal in seconds and their overlaps are seconds even at a variable frame rate, and every frame
number is one of the file's frames.

A chunk *owns* the frames ``[start_frame, end_frame)`` and seals exactly the tracks first seen there.
It reads from ``read_start`` (``start_frame`` minus the overlap: a warm-up, so that a person already in
view is known as someone the previous chunk started) to ``read_end`` (``end_frame`` plus the overlap,
so that it follows the people it started across its edge). A track first seen in the warm-up belongs
to the previous chunk, which followed it up to its own ``end_frame`` plus the overlap.
"""

from __future__ import annotations

import bisect
import glob
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from sealshot.batch.config import BatchConfig
from sealshot.errors import InputError, SourceError
from sealshot.runner import camera_id_for
from sealshot.video import FALLBACK_FPS
from sealshot.video.sources import PyAVSource, StartTimeSource

GLOB_CHARACTERS = frozenset("*?[")
IDENTITY_SAMPLE_BYTES = 1 << 20


def expand_inputs(patterns: Sequence[str]) -> list[str]:
    """The files named or matched (``**`` reaches into sub-folders), as absolute paths, each once, in the
    order given (a glob's matches in name order). A missing file, a folder or a glob that matches no file
    is an ``InputError`` naming it."""
    if not patterns:
        raise InputError("no files given: name video files or globs such as 'archive/**/*.mp4'")
    found: dict[str, None] = {}
    for pattern in patterns:
        if GLOB_CHARACTERS & set(pattern):
            matches = sorted(path for path in glob.glob(pattern, recursive=True) if os.path.isfile(path))
            if not matches:
                raise InputError(f"{pattern!r} matches no file")
        elif os.path.isdir(pattern):
            raise InputError(f"{pattern}: is a folder; give the files or a glob such as '{pattern.rstrip('/')}/**/*.mp4'")
        elif not os.path.isfile(pattern):
            raise InputError(f"{pattern}: no such file")
        else:
            matches = [pattern]
        found.update((os.path.abspath(path), None) for path in matches)
    return list(found)


def source_identity(path: str) -> str:
    """What a file is, wherever it lies: a hash of its size, its first and its last MiB.

    Not its path: an archive may be mounted at different paths on different nodes, or moved between two
    runs, and a path may be reused for another recording (``cam1/latest.mp4``), whose people a path key
    would wrongly take as already sealed. A file still being written changes identity, so at worst its
    people are sealed again, never skipped."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest.update(str(size).encode())
        digest.update(handle.read(IDENTITY_SAMPLE_BYTES))
        if size > IDENTITY_SAMPLE_BYTES:
            handle.seek(max(IDENTITY_SAMPLE_BYTES, size - IDENTITY_SAMPLE_BYTES))
            digest.update(handle.read(IDENTITY_SAMPLE_BYTES))
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class ChunkSpec:
    """One task: a range of one file's frames, and what its snapshots are keyed by. No pixels, small to ship."""

    path: str
    camera_id: str
    source_identity: str
    index: int
    """0-based position of the chunk in its file."""
    count: int
    """Chunks of the file."""
    start_frame: int
    end_frame: int | None
    """First frame not owned; None: to the end of the file."""
    read_start: int
    read_end: int | None
    fps: float
    started_at_utc: float
    started_at_source: StartTimeSource

    @property
    def frame_range(self) -> str:
        return f"{self.start_frame}-{'end' if self.end_frame is None else self.end_frame}"

    @property
    def key(self) -> str:
        """What identifies the chunk across retries and hosts (its file's identity, position and frames)."""
        return f"{self.source_identity}:{self.index}:{self.frame_range}"

    @property
    def label(self) -> str:
        return f"{Path(self.path).name} chunk {self.index + 1}/{self.count} (frames {self.frame_range})"

    def owned_frames(self, frames_read: int) -> int:
        """Frames of its own range among ``frames_read`` frames read from ``read_start`` on."""
        read_own = frames_read - (self.start_frame - self.read_start)
        limit = math.inf if self.end_frame is None else self.end_frame - self.start_frame
        return int(max(0, min(read_own, limit)))


@dataclass
class FilePlan:
    path: str
    camera_id: str
    source_identity: str | None = None
    fps: float | None = None
    frames: int | None = None
    """Declared (or, lacking that, estimated from the duration) frame count."""
    duration_s: float | None = None
    started_at_utc: float | None = None
    started_at_source: StartTimeSource | None = None
    chunks: list[ChunkSpec] = field(default_factory=list)
    error: str | None = None
    """Why the file could not be planned (unreadable, not a video); its chunks are then none."""

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "camera_id": self.camera_id,
            "source_identity": self.source_identity,
            "fps": self.fps,
            "frames": self.frames,
            "duration_s": self.duration_s,
            "started_at_utc": self.started_at_utc,
            "started_at_source": self.started_at_source,
            "chunks": len(self.chunks),
            "error": self.error,
        }


@dataclass
class ArchivePlan:
    files: list[FilePlan]

    @property
    def chunks(self) -> list[ChunkSpec]:
        return [chunk for plan in self.files for chunk in plan.chunks]

    @property
    def duration_s(self) -> float:
        return sum(plan.duration_s or 0.0 for plan in self.files)


TIME_TOLERANCE_S = 1e-6
"""Frame times computed from timestamps are this close to the multiples of a second they stand for."""


def chunk_ranges(frame_times: Sequence[float], fps: float, config: BatchConfig, align: int = 1) -> list[tuple[int, int | None, int, int | None]]:
    """``(start, end, read_start, read_end)`` frame numbers of each chunk of a file whose frames are at ``frame_times``
    (seconds from the first, ``PyAVSource.frame_times``; ``fps`` its average rate): parts equal in time, of at most
    ``chunk_seconds``, each read from ``overlap_seconds`` before to ``overlap_seconds`` after, however many frames
    that is at a variable frame rate. The last ends with the file (None), so does the reading of any chunk whose
    overlap reaches it. ``read_start`` is rounded down to a multiple of ``align`` (the detection stride), so that a
    chunk's full detections fall on the frames a run of the whole file detects on."""
    frames = len(frame_times)
    step = max(1, align)

    def first_at(seconds: float) -> int:
        return bisect.bisect_left(frame_times, seconds - TIME_TOLERANCE_S)

    span_s = frame_times[-1] + 1 / fps
    count = max(1, math.ceil(span_s / config.chunk_seconds - TIME_TOLERANCE_S))
    # A variable rate can leave a part without a frame of its own: such a part is no chunk.
    bounds = sorted({0, *(first_at(index * span_s / count) for index in range(1, count))} - {frames})
    ranges: list[tuple[int, int | None, int, int | None]] = []
    for index, start in enumerate(bounds):
        end = bounds[index + 1] if index + 1 < len(bounds) else None
        before = bisect.bisect_right(frame_times, frame_times[start] - config.overlap_seconds + TIME_TOLERANCE_S) - 1
        read_start = 0 if index == 0 else max(0, before) // step * step
        after = None if end is None else first_at(frame_times[end] + config.overlap_seconds)
        read_end = None if after is None or after >= frames else after
        ranges.append((start, end, read_start, read_end))
    return ranges


def check_config(config: BatchConfig) -> None:
    if not config.chunk_seconds > 0:
        raise InputError(f"--chunk-seconds {config.chunk_seconds}: must be more than 0")
    if not 0 <= config.overlap_seconds <= config.chunk_seconds:
        raise InputError(f"--overlap-seconds {config.overlap_seconds}: must be from 0 to --chunk-seconds ({config.chunk_seconds})")
    if config.max_retries < 0:
        raise InputError(f"--max-retries {config.max_retries}: must be 0 or more")
    if config.threads < 1:
        raise InputError(f"--threads {config.threads}: must be 1 or more")


def plan_file(path: str, camera_id: str, config: BatchConfig, align: int = 1) -> FilePlan:
    """Probe one file (no frame is decoded) and cut it into chunks; a file that cannot be read as a video
    is planned with its ``error`` and no chunks."""
    plan = FilePlan(path=path, camera_id=camera_id)
    try:
        plan.source_identity = source_identity(path)
        source = PyAVSource(path)
    except (SourceError, OSError) as error:
        plan.error = str(error) if isinstance(error, SourceError) else f"{path}: cannot read ({error})"
        return plan
    try:
        plan.fps = source.fps
        plan.duration_s = source.duration_s
        plan.frames = source.frame_count or round(plan.duration_s * (source.fps or FALLBACK_FPS))
        plan.started_at_utc, plan.started_at_source = source.started_at_utc, source.started_at_source
        frame_times = source.frame_times() if source.fps and plan.frames else []
    finally:
        source.close()
    fps = plan.fps
    # Without a frame rate frames cannot be placed in time: the file is one chunk, read from its start.
    ranges = chunk_ranges(frame_times, fps, config, align) if fps and frame_times else [(0, None, 0, None)]
    plan.chunks = [
        ChunkSpec(
            path=path,
            camera_id=camera_id,
            source_identity=plan.source_identity,
            index=index,
            count=len(ranges),
            start_frame=start,
            end_frame=end,
            read_start=read_start,
            read_end=read_end,
            fps=fps or FALLBACK_FPS,
            started_at_utc=plan.started_at_utc,
            started_at_source=plan.started_at_source,
        )
        for index, (start, end, read_start, read_end) in enumerate(ranges)
    ]
    return plan


def plan_archive(patterns: Sequence[str], config: BatchConfig, camera: str | None = None, align: int = 1) -> ArchivePlan:
    """Expand ``patterns`` and plan every file. Camera ids as ``run`` gives them (``camera_id_for``: ``camera``
    numbered per file, else each file's name). Bad settings, a missing file or an empty glob raise ``InputError``
    before any file is read; an unreadable file is planned with its error and the others go on."""
    check_config(config)
    paths = expand_inputs(patterns)
    camera_ids = [camera_id_for(path, camera, index, len(paths)) for index, path in enumerate(paths)]
    return ArchivePlan([plan_file(path, camera_id, config, align) for path, camera_id in zip(paths, camera_ids)])
