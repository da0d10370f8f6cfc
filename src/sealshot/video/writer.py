"""Writing frames to a video file with PyAV (H.264 in MP4 by default)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from sealshot.video.sources import FALLBACK_FPS

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
"""File types ``VideoWriter`` writes (FFmpeg picks the container by the suffix; each holds H.264)."""


class VideoWriter:
    """An H.264 video of RGB frames. The file is readable by its owner only (mode 0600): previews show faces."""

    def __init__(self, path: Path, fps: float | None, width: int, height: int, codec: str = "libx264", crf: int = 26) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created (or truncated) with the restricted mode before FFmpeg writes a single frame into it.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(path, 0o600)
        self._container = av.open(str(path), mode="w")
        rate = Fraction(fps or FALLBACK_FPS).limit_denominator(1001)
        self._stream = self._container.add_stream(codec, rate=rate)
        # Even dimensions, as yuv420p requires.
        self._stream.width = width - width % 2
        self._stream.height = height - height % 2
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": str(crf), "preset": "veryfast"}

    def write(self, image_rgb: np.ndarray) -> None:
        image = np.ascontiguousarray(image_rgb[: self._stream.height, : self._stream.width])
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
