"""Frame sources: video files (PyAV), image folders, network streams and webcams.

Every source yields ``Frame`` objects carrying their index and timestamp, and
reports a broken input as ``VideoSourceError`` naming the source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

import av
import cv2
import numpy as np

from sealshot.errors import SourceError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm"}
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class VideoSourceError(SourceError):
    """A source that cannot be opened or read; the message names it."""


@dataclass(frozen=True)
class Frame:
    """One decoded RGB frame; ``timestamp`` is seconds from the start of the source."""

    index: int
    timestamp: float
    image: np.ndarray

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

    def __iter__(self) -> Iterator[Frame]: ...


class PyAVSource:
    """A video file or a network stream (RTSP, HTTP, ...) decoded by FFmpeg through PyAV."""

    def __init__(self, location: str, is_stream: bool = False, timeout_s: float = 10.0) -> None:
        self.name = location
        self.is_stream = is_stream
        options = {"rtsp_transport": "tcp"} if location.startswith("rtsp") else {}
        if not is_stream:
            path = Path(location)
            if not path.exists():
                raise VideoSourceError(f"{location}: no such file")
            if path.stat().st_size == 0:
                raise VideoSourceError(f"{location}: the file is empty")
        try:
            self._container = av.open(location, options=options, timeout=timeout_s if is_stream else None)
        except (av.error.FFmpegError, OSError) as error:
            raise VideoSourceError(f"{location}: cannot open as video ({error})") from error
        if not self._container.streams.video:
            self._container.close()
            raise VideoSourceError(f"{location}: contains no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else None
        self.frame_count = int(self._stream.frames) if self._stream.frames else None
        self.started_at_utc = time.time() if is_stream else Path(location).stat().st_mtime
        self.width = self._stream.codec_context.width
        self.height = self._stream.codec_context.height

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        origin: float | None = None
        try:
            for decoded in self._container.decode(self._stream):
                if decoded.pts is not None and decoded.time_base is not None:
                    # Streams (MPEG-TS, RTSP) start at an arbitrary clock; count from the first frame.
                    pts_seconds = float(decoded.pts * decoded.time_base)
                    origin = pts_seconds if origin is None else origin
                    timestamp = pts_seconds - origin
                else:
                    timestamp = index / (self.fps or 25.0)
                yield Frame(index=index, timestamp=timestamp, image=decoded.to_ndarray(format="rgb24"))
                index += 1
        except (av.error.FFmpegError, OSError) as error:
            raise VideoSourceError(f"{self.name}: decoding failed after {index} frames ({error})") from error
        finally:
            self._container.close()
        if index == 0:
            raise VideoSourceError(f"{self.name}: no frame could be decoded (corrupt or truncated file?)")


class ImageFolderSource:
    """A folder of still images, taken in name order as frames at a nominal rate."""

    def __init__(self, folder: Path, fps: float = 1.0) -> None:
        self.name = str(folder)
        self.fps = fps
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise VideoSourceError(f"{folder}: the folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.frame_count = len(self.paths)
        self.started_at_utc = folder.stat().st_mtime

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise VideoSourceError(f"{path}: not a readable image")
            yield Frame(index=index, timestamp=index / self.fps, image=cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


class WebcamSource:
    """A local camera by index, through OpenCV."""

    def __init__(self, device: int) -> None:
        self.name = f"webcam:{device}"
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            raise VideoSourceError(f"{self.name}: cannot open camera {device}")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        self.frame_count = None
        self.started_at_utc = time.time()

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
