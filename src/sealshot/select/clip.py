"""The optional clip sealed beside a track's best crop: the person's region around the best frame.

While a track is live, every frame it is seen in gives one small JPEG of a padded square around the
face (``encode_clip_frame``: a fixed size per track, encoded in memory, never written anywhere). A
``ClipBuffer`` keeps only the JPEGs that can still end up in the clip: those within ``seconds / 2``
of the current best frame, and the last ``seconds / 2`` of frames (the lead-in of a best frame that
may come next). When the best crop changes, the window re-centres on it. The buffer is capped by
frames and by bytes, so its memory is bounded whatever the track's length.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[float, float, float, float]

CLIP_REGION_SCALE = 2.0
"""Side of the clip's square region, in face-box sides: the face with a margin of half its size around it."""
CLIP_SIDE_STEP = 16
"""Clip sides are multiples of this (JPEG blocks; even sizes for video players)."""


@dataclass(frozen=True)
class EncodedFrame:
    """One frame of a clip: a JPEG of the person's region, with where and when it was taken."""

    frame_index: int
    timestamp: float
    region: Box
    """The square that was cut out, in source pixels (x0, y0, x1, y1); it may reach past the frame (black there)."""
    data: bytes


def clip_side(box: Box, smallest: int, largest: int) -> int:
    """The clip's side in pixels for a track first seen with ``box``: its region's size, rounded to
    ``CLIP_SIDE_STEP`` and kept within [smallest, largest] (a far face is not blown up, a near one is capped)."""
    face = max(box[2] - box[0], box[3] - box[1])
    side = int(round(CLIP_REGION_SCALE * face / CLIP_SIDE_STEP)) * CLIP_SIDE_STEP
    return max(smallest, min(largest, side))


def clip_region(box: Box) -> Box:
    """The square around a face box that a clip frame shows."""
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = CLIP_REGION_SCALE * max(box[2] - box[0], box[3] - box[1]) / 2
    return (centre_x - half, centre_y - half, centre_x + half, centre_y + half)


def encode_clip_frame(image: np.ndarray, box: Box, side: int, frame_index: int, timestamp: float, jpeg_quality: int) -> EncodedFrame:
    """Cut the region around ``box`` out of an RGB frame, scale it to ``side`` × ``side`` and JPEG-encode it in memory."""
    region = clip_region(box)
    scale = side / max(region[2] - region[0], 1e-6)
    to_clip = np.array([[scale, 0.0, -region[0] * scale], [0.0, scale, -region[1] * scale]], np.float64)
    patch = cv2.warpAffine(image, to_clip, (side, side), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(patch, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("JPEG encoding of a clip frame failed")
    return EncodedFrame(frame_index, timestamp, region, encoded.tobytes())


class ClipBuffer:
    """The encoded frames of one track that may still belong to its clip, at most ``max_frames`` and ``max_bytes``.

    ``add`` each frame in time order, saying whether it holds the track's new best crop; ``clip()`` is then
    the frames within ``seconds / 2`` of the best one. When a cap is reached, lead-in frames outside the
    window go first (oldest first), then the window's frames farthest from the best one; the best frame stays.
    """

    def __init__(self, seconds: float, max_frames: int, max_bytes: int) -> None:
        self.half_window = seconds / 2
        self.max_frames = max(1, max_frames)
        self.max_bytes = max(1, max_bytes)
        self._frames: deque[EncodedFrame] = deque()
        self._bytes = 0
        self._best: EncodedFrame | None = None

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def byte_count(self) -> int:
        return self._bytes

    def add(self, frame: EncodedFrame, is_best: bool) -> None:
        if is_best:
            self._best = frame
        self._frames.append(frame)
        self._bytes += len(frame.data)
        self._forget_unneeded(frame.timestamp)
        while len(self._frames) > self.max_frames or self._bytes > self.max_bytes:
            if not self._drop_one():
                break

    def clip(self) -> tuple[EncodedFrame, ...]:
        """The frames around the best one, in time order (empty before any best frame)."""
        return tuple(frame for frame in self._frames if self._in_window(frame))

    def release(self) -> None:
        """Forget every frame (the track was sealed or discarded)."""
        self._frames.clear()
        self._bytes = 0
        self._best = None

    def _in_window(self, frame: EncodedFrame) -> bool:
        return self._best is not None and abs(frame.timestamp - self._best.timestamp) <= self.half_window

    def _forget_unneeded(self, now: float) -> None:
        """Keep the window around the best frame and the lead-in (the last ``half_window`` seconds)."""
        kept = [frame for frame in self._frames if self._in_window(frame) or frame.timestamp >= now - self.half_window]
        self._frames = deque(kept)
        self._bytes = sum(len(frame.data) for frame in kept)

    def _drop_one(self) -> bool:
        """Drop the least useful frame; False when only the best frame is left."""
        candidates = [frame for frame in self._frames if frame is not self._best]
        if not candidates:
            return False
        lead_in = [frame for frame in candidates if not self._in_window(frame)]
        if lead_in:
            victim = lead_in[0]
        else:
            best_time = self._best.timestamp if self._best is not None else candidates[-1].timestamp
            victim = max(candidates, key=lambda frame: abs(frame.timestamp - best_time))
        self._frames.remove(victim)
        self._bytes -= len(victim.data)
        return True
