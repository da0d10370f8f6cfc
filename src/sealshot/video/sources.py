"""Frame sources: video files (PyAV), image folders, network streams and webcams.

Every source yields ``Frame`` objects carrying their index and timestamp, and
reports a broken input as ``VideoSourceError`` naming the source. Each also says
when its frame 0 was taken (``started_at_utc``) and how that was found out
(``started_at_source``), because sealed snapshots are later selected by that time.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Literal, Protocol

import av
import cv2
import numpy as np

from sealshot.errors import SourceError
from sealshot.video.images import IMAGE_SUFFIXES, is_image_file, read_rgb

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
FALLBACK_FPS = 25.0
"""Frame rate assumed where a source does not state one (frame timing, preview videos)."""

StartTimeSource = Literal["container", "mtime-minus-duration", "option", "wall-clock"]
"""How a source's ``started_at_utc`` was found: the container's ``creation_time``; the file's
modification time taken as the end of the recording, minus its duration; ``run --start-time``;
or the clock when a live source was opened."""

logger = logging.getLogger(__name__)


class VideoSourceError(SourceError):
    """A source that cannot be opened or read; the message names it."""


@dataclass(frozen=True)
class Frame:
    """One decoded RGB frame; ``timestamp`` is seconds from the start of the source."""

    index: int
    timestamp: float
    image: np.ndarray
    arrived_at: float | None = None
    """``time.monotonic()`` when a live source received it (the lag is measured from there); None for files."""

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


class FrameSource(Protocol):
    name: str
    fps: float | None
    frame_count: int | None
    started_at_utc: float
    """UNIX time of frame 0; ``started_at_utc + frame.timestamp`` is when a frame was taken."""
    started_at_source: StartTimeSource
    rereadable: bool
    """Whether opening the same source again gives the same frames (a file or folder, not a live feed)."""
    stills: bool
    """Whether its frames are separate pictures (a folder of photos, often of different scenes), not a video's
    frames: a person in a single picture counts (``TrackerConfig.min_detections`` does not apply)."""

    def __iter__(self) -> Iterator[Frame]: ...


def upright(decoded: av.VideoFrame) -> np.ndarray:
    """The frame as an RGB array, turned as its display matrix says (phone videos are stored sideways)."""
    image = decoded.to_ndarray(format="rgb24")
    quarter_turns = int(round((decoded.rotation or 0) / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(image, quarter_turns)) if quarter_turns else image


TRUNCATION_TOLERANCE = 0.02
"""A file that decodes fewer than this fraction short of its declared frame count is truncated."""


FUTURE_TOLERANCE_S = 86400.0
"""How far in the future a recording's start may be (clocks and time zones set a little wrong) before it is not believed."""


def parse_utc(text: str) -> float:
    """An ISO 8601 time as UNIX seconds; a time without a zone is taken as UTC. ValueError if unreadable."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def recording_start(path: Path, creation_time: str | None, duration_s: float) -> tuple[float, StartTimeSource]:
    """When a recorded file's frame 0 was taken: the container's creation time when it has a
    readable one, else the modification time (the end of the recording, usually) minus the duration."""
    if creation_time:
        try:
            created = parse_utc(creation_time)
        except ValueError:
            logger.warning("%s: unreadable creation_time %r; using the modification time", path, creation_time)
        else:
            if created <= time.time() + FUTURE_TOLERANCE_S:
                return created, "container"
            # A camera whose clock is wrong: snapshots "seen" in the future would outlive the vault's retention.
            logger.warning("%s: creation_time %s is in the future (a wrong camera clock?); using the modification time", path, creation_time)
    started = path.stat().st_mtime - duration_s
    logger.info("%s: no creation time in the container; assuming it was modified at the end of its %.1f s recording", path, duration_s)
    return started, "mtime-minus-duration"


class PyAVSource:
    """A video file or a network stream (RTSP, HTTP, ...) decoded by FFmpeg through PyAV."""

    stills = False

    def __init__(
        self,
        location: str,
        is_stream: bool = False,
        timeout_s: float = 10.0,
        *,
        start_frame: int = 0,
        end_frame: int | None = None,
        started_at: tuple[float, StartTimeSource] | None = None,
    ) -> None:
        """A file can be read in part: frames ``[start_frame, end_frame)`` (``end_frame`` None: to the end),
        reached by seeking to the keyframe before ``start_frame``, not by decoding from frame 0. Each
        frame keeps the index and timestamp a decode from frame 0 gives it: where the container indexes
        every frame (MP4, MOV) at any frame rate; elsewhere (MPEG-TS, Matroska) a part's frames are numbered
        by time (timestamp × average rate, exact at a constant rate; for a variable one an estimate, but the
        same in every part, so that parts still meet without a gap or an overlap). ``started_at`` is the time
        of frame 0 when the caller already knows it (a batch chunk takes the one planned for its whole file)."""
        if start_frame < 0 or (end_frame is not None and end_frame <= start_frame):
            raise VideoSourceError(f"{location}: frames [{start_frame}, {end_frame}) is not a range of frames")
        if is_stream and (start_frame or end_frame is not None):
            raise VideoSourceError(f"{location}: a live stream cannot be read from a given frame")
        self.name = location
        self.is_stream = is_stream
        self.start_frame = start_frame
        self.end_frame = end_frame
        self.corrupt_packets = 0
        """Packets of the file that could not be decoded and were skipped (a damaged stretch)."""
        self._options = {"rtsp_transport": "tcp"} if location.startswith("rtsp") else {}
        self._timeout_s = timeout_s if is_stream else None
        if not is_stream:
            path = Path(location)
            if not path.exists():
                raise VideoSourceError(f"{location}: no such file")
            if path.stat().st_size == 0:
                raise VideoSourceError(f"{location}: the file is empty")
        self._open()
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else None
        self.frame_count = int(self._stream.frames) if self._stream.frames else None
        self._indexes_every_frame = self.frame_count is not None and len(self._stream.index_entries) == self.frame_count
        """Whether the container's index lists every frame (MP4, MOV): a part of the file then knows each frame's number."""
        self._numbered_by_time = (start_frame > 0 or end_frame is not None) and not self._indexes_every_frame
        self.rereadable = not is_stream
        self.started_at_source: StartTimeSource
        if is_stream:
            self.started_at_utc, self.started_at_source = time.time(), "wall-clock"
        elif started_at is not None:
            self.started_at_utc, self.started_at_source = started_at
        else:
            creation_time = self._container.metadata.get("creation_time") or self._stream.metadata.get("creation_time")
            self.started_at_utc, self.started_at_source = recording_start(Path(location), creation_time, self._duration_s())
        self.width = self._stream.codec_context.width
        self.height = self._stream.codec_context.height

    def _open(self) -> None:
        if getattr(self, "_container", None) is not None:
            self._container.close()
        try:
            self._container = av.open(self.name, options=self._options, timeout=self._timeout_s)
        except (av.error.FFmpegError, OSError) as error:
            raise VideoSourceError(f"{self.name}: cannot open as video ({error})") from error
        if not self._container.streams.video:
            self._container.close()
            raise VideoSourceError(f"{self.name}: contains no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"

    def close(self) -> None:
        """Release the file without reading it (iterating to the end closes it too)."""
        self._container.close()

    @property
    def duration_s(self) -> float:
        """The container's duration, else the stream's, else frames over rate."""
        return self._duration_s()

    def frame_times(self) -> list[float]:
        """Each frame's time from the first, in seconds: from the container's index where it lists every frame (the
        decoding times: a frame or two off the showing times when frames are reordered), else frame number / rate.
        Without reading the file: what a part of the file is planned by, in seconds even at a variable frame rate."""
        if self._indexes_every_frame:
            decoding_times = [entry.timestamp for entry in self._stream.index_entries]
            time_base = self._stream.time_base
            return [float((timestamp - decoding_times[0]) * time_base) for timestamp in decoding_times]
        fps = self.fps or FALLBACK_FPS
        return [index / fps for index in range(self.frame_count or round(self._duration_s() * fps))]

    def _duration_s(self) -> float:
        if self._container.duration is not None:
            return float(self._container.duration / av.time_base)
        if self._stream.duration is not None and self._stream.time_base is not None:
            return float(self._stream.duration * self._stream.time_base)
        return (self.frame_count or 0) / (self.fps or FALLBACK_FPS)

    def __iter__(self) -> Iterator[Frame]:
        count, reached = 0, 0
        try:
            for index, timestamp, decoded in self._positioned():
                if index < self.start_frame:
                    continue
                if self.end_frame is not None and index >= self.end_frame:
                    reached = self.end_frame  # numbered by time, a variable rate may skip a part's last numbers
                    break
                yield Frame(index=index, timestamp=timestamp, image=upright(decoded))
                count, reached = count + 1, index + 1
        except av.error.ExitError as error:
            if not self.is_stream or self._timeout_s is None:
                raise VideoSourceError(f"{self.name}: decoding failed after {count} frames ({error})") from error
            # PyAV's read timeout interrupts FFmpeg, which then says only "Immediate exit requested".
            message = f"no data for {self._timeout_s:g} s after {count} frames (the stream stalled or its connection dropped)"
            raise VideoSourceError(f"{self.name}: {message}") from error
        except (av.error.FFmpegError, OSError) as error:
            raise VideoSourceError(f"{self.name}: decoding failed after {count} frames ({error})") from error
        finally:
            self._container.close()
        if count == 0:
            raise VideoSourceError(f"{self.name}: no frame could be decoded (corrupt or truncated file?)")
        declared = self.frame_count
        if self.corrupt_packets:
            of_declared = f" of its {declared} declared" if declared and not self.is_stream else ""
            raise VideoSourceError(
                f"{self.name}: damaged: {self.corrupt_packets} packet{'s' if self.corrupt_packets > 1 else ''} could not be decoded and "
                f"{'were' if self.corrupt_packets > 1 else 'was'} skipped; {count}{of_declared} frames were read"
            )
        if not self.is_stream and declared and not self._numbered_by_time:
            expected = declared if self.end_frame is None else min(self.end_frame, declared)
            if reached < expected - declared * TRUNCATION_TOLERANCE - 1:
                raise VideoSourceError(f"{self.name}: truncated: the file ends after {reached} of its {declared} declared frames")

    def _positioned(self) -> Iterator[tuple[int, float, av.VideoFrame]]:
        """Decoded frames with the index and timestamp (seconds from the first frame) of a decode from frame 0."""
        if self.start_frame > 0 and self.fps:
            if self._indexes_every_frame:
                seeked = self._from_indexed_keyframe_before(self.start_frame)
            else:
                seeked = self._from_keyframe_before(self.start_frame, self.fps)
            if seeked is not None:
                yield from seeked
                return
            self._open()  # back to the file's first frame, which seeking to 0 does not promise
        yield from self._from_first_frame()

    def _from_first_frame(self) -> Iterator[tuple[int, float, av.VideoFrame]]:
        origin: float | None = None
        index = -1
        for decoded in self._decoded():
            index += 1
            if decoded.pts is not None and decoded.time_base is not None:
                # Streams (MPEG-TS, RTSP) start at an arbitrary clock; count from the first frame.
                pts_seconds = float(decoded.pts * decoded.time_base)
                origin = pts_seconds if origin is None else origin
                if self._numbered_by_time and self.fps:
                    index = round((pts_seconds - origin) * self.fps)  # as the later parts, which are reached by seeking
                elif self.corrupt_packets and self.fps:
                    # Frames were lost to damage: keep each later frame at (about) its place in the file.
                    index = max(index, round((pts_seconds - origin) * self.fps))
                yield index, pts_seconds - origin, decoded
            else:
                yield index, index / (self.fps or FALLBACK_FPS), decoded

    def _decoded(self, packets: Iterable[av.Packet] | None = None) -> Iterator[av.VideoFrame]:
        """The frames of ``packets`` (default: the stream's, from where it stands) in order. A packet the decoder
        rejects as invalid data (a damaged stretch of the file: a bad sector, a broken copy) is skipped and counted,
        as FFmpeg's own tools do, so that the frames after the damage are still read; ``__iter__`` then reports the
        file as damaged."""
        for packet in self._container.demux(self._stream) if packets is None else packets:
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as error:
                self.corrupt_packets += 1
                logger.info("%s: skipped a packet the decoder could not read (%s)", self.name, error)
                continue
            yield from frames

    def _from_indexed_keyframe_before(self, start_frame: int) -> Iterator[tuple[int, float, av.VideoFrame]] | None:
        """Seek to the last keyframe at or before ``start_frame`` by the container's index of every frame and number
        the frames from that keyframe's place in it, which is exact at any frame rate: a keyframe's place in decoding
        order is its place in showing order, as no frame is shown across it (a closed GOP). None where the seek lands
        elsewhere or frames are shown across the keyframe (an open GOP): the caller then decodes from frame 0."""
        entries = self._stream.index_entries
        decoding_times = [entry.timestamp for entry in entries]
        first = next(self._decoded(), None)
        if first is None or first.pts is None or first.time_base is None:
            return None
        time_base = first.time_base
        origin = float(first.pts * time_base)
        wanted = next((k for k in range(min(start_frame, len(entries) - 1), -1, -1) if entries[k].is_keyframe), 0)
        # The demuxer seeks on a time line that starts at the first frame's decoding time.
        self._container.seek(decoding_times[wanted] - decoding_times[0], stream=self._stream, backward=True)
        packets = self._container.demux(self._stream)
        keyframe = next(packets, None)
        if keyframe is None or keyframe.pts is None or keyframe.dts not in decoding_times:
            return None
        landed = decoding_times.index(keyframe.dts)
        if landed > start_frame or not entries[landed].is_keyframe:
            return None
        shown_before_keyframe: list[av.Packet] = []

        def watched() -> Iterator[av.Packet]:
            yield keyframe
            for packet in packets:
                if packet.pts is not None and packet.pts < keyframe.pts:
                    shown_before_keyframe.append(packet)
                yield packet

        decoded_frames = self._decoded(watched())
        head = next(decoded_frames, None)  # frames shown before the keyframe come out first, and are read by now
        if head is None or head.pts != keyframe.pts or shown_before_keyframe:
            return None

        def numbered() -> Iterator[tuple[int, float, av.VideoFrame]]:
            for offset, decoded in enumerate(itertools.chain([head], decoded_frames)):
                if decoded.pts is None:
                    raise VideoSourceError(f"{self.name}: a frame after frame {start_frame} has no timestamp")
                yield landed + offset, float(decoded.pts * time_base) - origin, decoded

        return numbered()

    def _from_keyframe_before(self, start_frame: int, fps: float) -> Iterator[tuple[int, float, av.VideoFrame]] | None:
        """Seek to a keyframe at or before ``start_frame`` by time and decode on from there, numbering frames by time;
        None where the file's frames carry no timestamps (the caller then decodes from frame 0)."""
        first = next(self._decoded(), None)
        if first is None or first.pts is None or first.time_base is None:
            return None
        time_base = first.time_base
        origin = float(first.pts * time_base)
        step_back_s = 0.0
        while True:
            # Seeking goes by the demuxer's keyframe index; a keyframe shown after the target (B-frame delay) is
            # stepped back from, 1 s, 2 s, 4 s ... until the first decoded frame is at or before the target.
            target_s = max(0.0, start_frame / fps - step_back_s)
            self._container.seek(int((origin + target_s) / time_base), stream=self._stream, backward=True)
            decoded_frames = self._decoded()
            head = next(decoded_frames, None)
            if head is None or head.pts is None:
                return None
            head_index = round((float(head.pts * time_base) - origin) * fps)
            if head_index <= start_frame:
                break
            if target_s == 0.0:
                return None  # the container cannot seek precisely (MPEG-TS without an index)
            step_back_s = max(1.0, 2 * step_back_s)

        def positioned() -> Iterator[tuple[int, float, av.VideoFrame]]:
            for decoded in itertools.chain([head], decoded_frames):
                if decoded.pts is None:
                    raise VideoSourceError(f"{self.name}: a frame after frame {start_frame} has no timestamp")
                pts_seconds = float(decoded.pts * time_base)
                yield round((pts_seconds - origin) * fps), pts_seconds - origin, decoded

        return positioned()


class ImageFolderSource:
    """A folder of still images, taken in name order as frames at a nominal rate."""

    stills = True

    def __init__(self, folder: Path, fps: float = 1.0) -> None:
        self.name = str(folder)
        self.fps = fps
        self.paths = sorted(p for p in folder.iterdir() if is_image_file(p))
        if not self.paths:
            raise VideoSourceError(f"{folder}: the folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.frame_count = len(self.paths)
        self.rereadable = True
        self.started_at_utc, self.started_at_source = recording_start(folder, None, self.frame_count / fps)
        self.skipped: list[str] = []
        """Files that could not be read as images: skipped (and logged), the others still processed."""

    def __iter__(self) -> Iterator[Frame]:
        self.skipped = []
        for index, path in enumerate(self.paths):
            image = read_rgb(path)
            if image is None:
                logger.warning("%s: not a readable image; skipped", path)
                self.skipped.append(str(path))
                continue
            yield Frame(index=index, timestamp=index / self.fps, image=image)
        if len(self.skipped) == len(self.paths):
            raise VideoSourceError(f"{self.name}: none of its {len(self.paths)} images could be read")


class WebcamSource:
    """A local camera by index, through OpenCV."""

    stills = False

    def __init__(self, device: int) -> None:
        self.name = f"webcam:{device}"
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            raise VideoSourceError(f"{self.name}: cannot open camera {device}")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        self.frame_count = None
        self.rereadable = False
        self.started_at_utc: float = time.time()
        self.started_at_source: StartTimeSource = "wall-clock"

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        start = time.monotonic()
        try:
            while True:
                ok, image = self._capture.read()
                if not ok:
                    break
                yield Frame(index=index, timestamp=time.monotonic() - start, image=cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
                index += 1
        finally:
            self._capture.release()


def open_source(source: str | Path) -> FrameSource:
    """Open what the user named: a webcam index, a stream URL, an image folder, or a video file."""
    text = str(source)
    if text.isdigit():
        return WebcamSource(int(text))
    if text.lower().startswith(STREAM_SCHEMES):
        return PyAVSource(text, is_stream=True)
    path = Path(text)
    if path.is_dir():
        return ImageFolderSource(path)
    return PyAVSource(text)
