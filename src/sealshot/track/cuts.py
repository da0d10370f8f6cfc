"""Shot boundaries (hard cuts) from a small copy of each frame.

The test is PySceneDetect's ``ContentDetector``: the mean absolute change of hue, saturation and
value between consecutive frames, on a frame shrunk to a few thousand pixels (so it costs about a
millisecond at 1080p). A cut above ``threshold`` ends every track: boxes that overlap across a cut
belong to different shots and usually to different people.

A change of light is not a cut: a lamp switched on, a flickering tube or the camera's exposure stepping
moves every pixel's saturation and value at once, and PySceneDetect's test alone would end every track
and seal each person again at every such step. A frame over the threshold is therefore compared once
more with the saturation and value of one frame matched to the other's mean and spread; the same scene
under other light then differs little (under 20 on the talking-head clips: lights on, a 3x exposure
step), another shot still differs as much (35 and more on the composite cut clips).
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
    """No second cut within this many frames of the last (flashes, a fade's last frames)..."""
    min_shot_s: float = 0.2
    """...unless this many seconds passed (frames far apart: a folder of stills at 1 frame a second, a live
    camera processed at a few frames a second), when each frame may start a new shot."""
    light_tolerant: bool = True
    """A frame over the threshold is a cut only if it still is once one frame's light is matched to the other's."""

    def __post_init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._since_cut = 0
        self._cut_at: float | None = None
        self.last_score = 0.0
        self.light_changes = 0
        """Frames over the threshold that were a change of light, not a cut."""
        self.light_changed = False
        """Whether the last frame given to ``update`` was such a change of light (colours seen before it are stale)."""

    def update(self, image: np.ndarray, timestamp: float | None = None) -> bool:
        """``image``: the RGB frame, or its ``small_frame``; ``timestamp``: its time in seconds, if known."""
        hsv = cv2.cvtColor(small_frame(image), cv2.COLOR_RGB2HSV).astype(np.int16)
        previous, self._previous = self._previous, hsv
        self.light_changed = False
        self._since_cut += 1
        if previous is None:
            self.last_score, self._cut_at = 0.0, timestamp  # the first shot starts here
            return False
        if previous.shape != hsv.shape:
            # Another shape of picture (a folder of photos, a stream re-configured): a new shot, whose boxes
            # cannot be compared with the last one's.
            self.last_score, self._since_cut, self._cut_at = 255.0, 0, timestamp
            return True
        self.last_score = hsv_change(previous, hsv)
        long_enough = self._since_cut >= self.min_shot_frames or (
            timestamp is not None and self._cut_at is not None and timestamp - self._cut_at >= self.min_shot_s
        )
        if self.last_score < self.threshold or not long_enough:
            return False
        if self.light_tolerant and light_compensated_change(previous, hsv) < self.threshold:
            self.light_changes += 1
            self.light_changed = True
            return False
        self._since_cut = 0
        self._cut_at = timestamp
        return True


def hsv_change(previous: np.ndarray, current: np.ndarray) -> float:
    """PySceneDetect's content score: the mean absolute change of hue, saturation and value."""
    delta = np.abs(current - previous)
    # Hue is circular (OpenCV's 8-bit hue spans 0-179): take the shorter way round.
    delta[..., 0] = np.minimum(delta[..., 0], 180 - delta[..., 0])
    return float(delta.mean())  # the mean of the three channel means: every channel has as many values


def light_compensated_change(previous: np.ndarray, current: np.ndarray) -> float:
    """``hsv_change`` once either frame's saturation and value are matched to the other's (the smaller of the two:
    a dark frame's saturation spreads wide, as its near-black pixels take any, so one direction can overstate it)."""
    return min(hsv_change(previous, light_matched(current, previous)), hsv_change(light_matched(previous, current), current))


def light_matched(hsv: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``hsv`` with its saturation and value shifted and scaled to ``reference``'s mean and spread."""
    matched = hsv.astype(np.float32)
    for channel in (1, 2):
        values, wanted = matched[..., channel], reference[..., channel]
        matched[..., channel] = (values - values.mean()) * (wanted.std() / max(float(values.std()), 1.0)) + wanted.mean()
    return matched
