"""Shot boundaries (hard cuts) from a small copy of each frame.

The test is PySceneDetect's ``ContentDetector``: the mean absolute change of hue, saturation and
value between consecutive frames, on a frame shrunk to a few thousand pixels (so it costs about a
millisecond at 1080p). A cut above ``threshold`` ends every track: boxes that overlap across a cut
belong to different shots and usually to different people.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SMALL_WIDTH = 96
"""Width of the frame the test runs on; the height keeps the aspect ratio."""
SAMPLE_FACTOR = 4
"""Pixels sampled per output pixel along each side before averaging."""


def small_frame(image: np.ndarray, width: int = SMALL_WIDTH) -> np.ndarray:
    """A ``width``-wide copy of an RGB frame (area interpolation: every pixel counts)."""
    if image.shape[1] == width:
        return image
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    if image.shape[1] <= SAMPLE_FACTOR * width:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    # A sample of 4×4 pixels per output pixel first, then their mean: area-averaging the full frame costs ten times
    # more (a 1080p frame), and area-averaging by a fractional factor about four times more than this, for the same test.
    sampled = cv2.resize(image, (SAMPLE_FACTOR * width, SAMPLE_FACTOR * height), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(sampled, (width, height), interpolation=cv2.INTER_AREA)


@dataclass
class ShotCutDetector:
    """Feed every frame in order; ``update`` says whether a new shot starts at it."""

    threshold: float = 27.0
    """Mean per-channel HSV change (0-255 scale) that counts as a cut; PySceneDetect's default."""
    min_shot_frames: int = 5
    """No second cut within this many frames of the last (flashes, a fade's last frames)."""

    def __post_init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._since_cut = 0
        self.last_score = 0.0

    def update(self, image: np.ndarray) -> bool:
        """``image``: the RGB frame, or its ``small_frame``."""
        hsv = cv2.cvtColor(small_frame(image), cv2.COLOR_RGB2HSV).astype(np.int16)
        previous, self._previous = self._previous, hsv
        self._since_cut += 1
        if previous is None or previous.shape != hsv.shape:
            self.last_score = 0.0
            return False
        # Hue is circular (OpenCV's 8-bit hue spans 0-179): take the shorter way round.
        delta = np.abs(hsv - previous)
        delta[..., 0] = np.minimum(delta[..., 0], 180 - delta[..., 0])
        self.last_score = float(delta.reshape(-1, 3).mean(axis=0).mean())
        if self.last_score >= self.threshold and self._since_cut >= self.min_shot_frames:
            self._since_cut = 0
            return True
        return False
