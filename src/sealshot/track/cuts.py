"""Shot boundaries from a small copy of each frame: hard cuts, cross-fades and fades through black.

The hard-cut test is PySceneDetect's ``ContentDetector``: the mean absolute change of hue, saturation and
value between consecutive frames, on a frame shrunk to a few thousand pixels (so it costs about a
millisecond at 1080p). A cut above ``threshold`` ends every track: boxes that overlap across a cut
belong to different shots and usually to different people.

A change of light is not a cut: a lamp switched on, a flickering tube or the camera's exposure stepping
moves every pixel's saturation and value at once, and PySceneDetect's test alone would end every track
and seal each person again at every such step. A frame over the threshold is therefore compared once
more with the saturation and value of one frame matched to the other's mean and spread; the same scene
under other light then differs little (under 20 on the talking-head clips: lights on, a 3x exposure
step), another shot still differs as much (35 and more on the composite cut clips).

A gradual transition changes little from one frame to the next, and the tracker would follow a box from one
person into the next. Two more tests find it:

* A cross-fade (dissolve): the change between a frame and the one ``gradual_window_s`` (0.5 s) before it, over
  ``gradual_threshold`` before and after light compensation, where the frames between are blends of those two
  (``blend_residual`` under ``max_blend_residual``). The windowed change alone cannot tell a cross-fade from
  movement (``bench/gradual_cuts.py``, window 0.5 s): it reaches 9.6-20.2 on the talking-head clips (a head
  turning, filling the frame), 19.1 on the arcade clip and the bundled sample (walkers), 28.2 and 31.7 on the
  two-people-crossing composites, and 21-39 under changes of light (0.35x to 2.5x in 0.5-1 s on the sample;
  19.2-27.7 compensated), while cross-fades of 0.3-1 s between the talking heads pass 15 only by about their
  midpoint (their peaks: 22.8-25.9 compensated). The blend test tells them apart: wherever the compensated
  change passes 15, movement's residual is 0.26 or more (talking heads 0.26 and 0.28, walkers 0.38, the
  crossing 0.53, the light ramps 0.28-0.40), and the cross-fades were found at 0.07-0.20, each once, inside
  its middle half (both people showing through at least a quarter). The windowed change must fall back under
  the threshold before another is found, and a window never reaches back across a cut. For
  ``gradual_window_s`` after the boundary the detector is ``blending``: the pipeline follows the faces there
  but does not score them, as every face is a ghost of two people.
* A fade through black: black frames (mean value under ``black_level``, as PySceneDetect's
  ``ThresholdDetector``) are a shot of their own, so that the faint last faces of one shot and the faint
  first of the next are never one track. A quicker fade that never gets that dark is a cross-fade through a
  dim picture, found by the first test.

A wipe (the next shot sliding over the last) looks like movement to both, and is found only by chance, often a
few frames early or late. The two tests add 0.03-0.08 ms a frame to the hard-cut test's 0.04-0.08 on the talking
heads, the arcade clip and the sample, and up to 0.18 where the windowed change passes the threshold on most
frames (the crossing composites, the light ramps): the blend test runs only there, on a copy half as wide.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import cv2
import numpy as np

from sealshot.errors import InputError

SMALL_WIDTH = 96
"""Width of the frame the test runs on; the height keeps the aspect ratio."""
SAMPLE_FACTOR = 4
"""Pixels sampled per output pixel along each side before averaging."""
UNTIMED_FPS = 25.0
"""Frames given without a timestamp are taken to come this many a second (for the gradual test's window)."""
MAX_WINDOW_FRAMES = 128
"""The gradual test keeps at most this many frames (a source whose timestamps stall cannot grow it further)."""
BLEND_WIDTH = SMALL_WIDTH // 2
"""Width of the copy the cross-fade test fits blends to (as good as the small frame's, at a quarter of the cost)."""
LIT_FACTOR = 2.0
"""After a stretch of black frames the picture is lit again once this many times ``black_level`` bright: only then
may another stretch start a new shot (a dark scene hovering about the level is one fade, not many), and the
gradual test compare frames again."""
TIME_TOLERANCE_S = 1e-6
"""Timestamps that differ by less than this are the same (``index / fps`` rounding)."""


Boundary = Literal["cut", "gradual", "black"]


@dataclass
class _WindowFrame:
    time: float
    hsv: np.ndarray
    small: np.ndarray

    @cached_property
    def brightness(self) -> float:
        """Mean value, 0-255."""
        return float(self.hsv[..., 2].mean())

    @cached_property
    def blend_view(self) -> np.ndarray:
        """Made when the cross-fade test first needs it (most frames never get that far)."""
        return blend_view(self.small)


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
    gradual_threshold: float | None = 15.0
    """Mean HSV change (as ``threshold``, and light-compensated alike) between a frame and the one
    ``gradual_window_s`` before it over which a cross-fade may be under way; None: no cross-fade test."""
    gradual_window_s: float = 0.5
    """Length of that window: half of a cross-fade of up to a second, so that it is found before its midpoint
    is far behind. The pipeline scores no face for this long after a cross-fade's boundary."""
    max_blend_residual: float = 0.2
    """How closely the frames inside the window must be blends of its two ends (``blend_residual``): a cross-fade
    was found at 0.07-0.20, movement that changed the picture as much at 0.26 or more."""
    black_level: float | None = 12.0
    """Mean value (0-255) under which a frame is black (PySceneDetect's ``ThresholdDetector`` default): black
    frames are a shot of their own, from the first after a lit picture to the first over the level after them
    (a fade through black); None: no such test."""

    def __post_init__(self) -> None:
        for name, value in (("threshold", self.threshold), ("gradual_window_s", self.gradual_window_s), ("max_blend_residual", self.max_blend_residual)):
            if not value > 0:
                raise InputError(f"{name} must be more than 0, not {value!r}")
        if self.gradual_threshold is not None and not self.gradual_threshold > 0:
            raise InputError(f"gradual_threshold must be more than 0 (None: no gradual test), not {self.gradual_threshold!r}")
        if self.black_level is not None and not 0 < self.black_level < 255:
            raise InputError(f"black_level must be between 0 and 255 (None: no fade-to-black test), not {self.black_level!r}")
        self._previous: np.ndarray | None = None
        self._since_cut = 0
        self._cut_at: float | None = None
        self._frames_seen = 0
        self._window: deque[_WindowFrame] = deque(maxlen=MAX_WINDOW_FRAMES)
        """Recent lit frames of the current shot, the oldest at least ``gradual_window_s`` old once it is full."""
        self._gradual_armed = True
        """False from a gradual boundary until the windowed change falls back under the threshold (one boundary
        per cross-fade)."""
        self._black = False
        """Whether the last frame was black (mean value under ``black_level``)."""
        self._lit_since_black = True
        """Whether the picture was lit (over ``LIT_FACTOR`` times the level) since the last stretch of black frames."""
        self._black_stretch_open = False
        """Whether the current stretch of black frames started a shot, and the first lit frame after it starts another."""
        self._blending_until: float | None = None
        self.last_score = 0.0
        self.last_window_score = 0.0
        """The windowed change (before light compensation) of the last frame; 0 when there was no window."""
        self.boundary: Boundary | None = None
        """Which test found the last frame's new shot: ``"cut"``, ``"gradual"`` or ``"black"``; None: none did."""
        self.light_changes = 0
        """Frames over the threshold that were a change of light, not a cut."""
        self.light_changed = False
        """Whether the last frame given to ``update`` was such a change of light (colours seen before it are stale)."""
        self.blending = False
        """Whether the last frame is within ``gradual_window_s`` after a cross-fade's boundary, which is found near
        its midpoint: the rest of the cross-fade still mixes two people's pictures."""

    def update(self, image: np.ndarray, timestamp: float | None = None) -> bool:
        """``image``: the RGB frame, or its ``small_frame``; ``timestamp``: its time in seconds, if known."""
        small = small_frame(image)
        if small is image:
            small = image.copy()  # kept for the gradual test: the caller may reuse its buffer
        hsv = small_hsv(small)
        self._frames_seen += 1
        frame = _WindowFrame(timestamp if timestamp is not None else self._frames_seen / UNTIMED_FPS, hsv, small)
        previous, self._previous = self._previous, hsv
        self.light_changed = False
        self.boundary = None
        self.last_window_score = 0.0
        self.blending = self._blending_until is not None and frame.time < self._blending_until
        self._since_cut += 1
        long_enough = self._since_cut >= self.min_shot_frames or (
            timestamp is not None and self._cut_at is not None and timestamp - self._cut_at >= self.min_shot_s
        )
        black_boundary = self._black_boundary(frame.brightness, long_enough)
        if previous is None:
            self.last_score, self._cut_at = 0.0, timestamp  # the first shot starts here
            self._remember(frame)
            return False
        if previous.shape != hsv.shape:
            # Another shape of picture (a folder of photos, a stream re-configured): a new shot, whose boxes
            # cannot be compared with the last one's.
            self.last_score = 255.0
            return self._new_shot("cut", frame, timestamp)
        self.last_score = hsv_change(previous, hsv)
        if self.last_score >= self.threshold and long_enough:
            if not self.light_tolerant or light_compensated_change(previous, hsv) >= self.threshold:
                return self._new_shot("cut", frame, timestamp)
            self.light_changes += 1
            self.light_changed = True
            self._window.clear()  # frames under the old light would look like a change of scene to the gradual test
        if black_boundary:
            return self._new_shot("black", frame, timestamp)
        self._remember(frame)
        if self._gradual_change() and long_enough:
            return self._new_shot("gradual", frame, timestamp)
        return False

    def _new_shot(self, boundary: Boundary, frame: _WindowFrame, timestamp: float | None) -> bool:
        self.boundary = boundary
        self._since_cut = 0
        self._cut_at = timestamp
        if boundary == "gradual":
            self._gradual_armed = False
            self._blending_until = frame.time + self.gradual_window_s
            self.blending = True
        else:
            # The gradual test compares frames of one shot only; a cross-fade keeps its window (see _gradual_armed).
            self._window.clear()
            self._gradual_armed = True
            self._blending_until = None
            self.blending = False
            self._remember(frame)
        return True

    def _black_boundary(self, brightness: float, may_start: bool) -> bool:
        """Whether this frame starts a stretch of black frames (if it ``may_start`` a shot: not a flickering light
        going out within ``min_shot_frames`` of the last boundary), or is the first lit one after a stretch that
        did: the black frames are a shot of their own, so that no track runs from the faint faces before them to
        those after."""
        if self.black_level is None:
            return False
        was_black, self._black = self._black, brightness < self.black_level
        if brightness >= LIT_FACTOR * self.black_level:
            self._lit_since_black = True
        if self._black and not was_black and self._lit_since_black:
            self._lit_since_black = False
            self._black_stretch_open = may_start
            return may_start
        if was_black and not self._black and self._black_stretch_open:
            self._black_stretch_open = False
            return True
        return False

    def _remember(self, frame: _WindowFrame) -> None:
        if self.gradual_threshold is None:
            return
        if not self._lit_since_black:
            # Coming out of the dark is a change of light, but a dark frame's hue and saturation are noise: a window
            # starting there would take the picture coming back for a cross-fade.
            self._window.clear()
            return
        self._window.append(frame)
        while len(self._window) >= 2 and self._window[1].time <= frame.time - self.gradual_window_s + TIME_TOLERANCE_S:
            self._window.popleft()

    def _gradual_change(self) -> bool:
        """Whether the frames of the window are a cross-fade from its first to its last (the current frame)."""
        window = self._window
        if self.gradual_threshold is None or len(window) < 3:
            return False  # a change between consecutive frames is the hard-cut test's business
        first, last = window[0], window[-1]
        if first.time > last.time - self.gradual_window_s + TIME_TOLERANCE_S:
            return False  # not yet a full window since the shot began
        self.last_window_score = hsv_change(first.hsv, last.hsv)
        if self.last_window_score < self.gradual_threshold:
            self._gradual_armed = True
            return False
        if not self._gradual_armed:
            return False
        between = np.stack([window[index].blend_view for index in range(1, len(window) - 1)])
        if blend_residual(first.blend_view, between, last.blend_view) > self.max_blend_residual:
            return False  # movement (the cheaper test first: it rules out most frames that get this far)
        return light_compensated_change(first.hsv, last.hsv) >= self.gradual_threshold


def small_hsv(small: np.ndarray) -> np.ndarray:
    """The HSV copy the change scores compare (int16: differences go negative)."""
    return cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.int16)


def blend_view(small: np.ndarray) -> np.ndarray:
    """A ``BLEND_WIDTH``-wide float32 copy of a small RGB frame."""
    height = max(1, round(small.shape[0] * BLEND_WIDTH / small.shape[1]))
    return cv2.resize(small, (BLEND_WIDTH, height), interpolation=cv2.INTER_AREA).astype(np.float32)


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


def blend_residual(first: np.ndarray, between: np.ndarray, last: np.ndarray) -> float:
    """How far the frames ``between`` lie from blends of ``first`` and ``last`` (``blend_view``s; ``between``
    stacked): the mean absolute difference of each from the nearest blend (weight 0 to 1), over the mean absolute
    change from ``first`` to ``last`` once ``last``'s light is matched to ``first``'s.

    About 0 for the frames of a cross-fade; large for movement, whose middle frames show things where neither end
    has them. A change of light along the way is itself a blend, and is left out of the denominator: it would
    otherwise dilute the movement's residual."""
    change = (last - first).ravel()
    size = float(change @ change)
    if size == 0.0:
        return float("inf")
    offsets = (between - first).reshape(len(between), -1)
    weights = np.clip(offsets @ change / size, 0.0, 1.0)
    offsets -= weights[:, None] * change
    residual = float(np.abs(offsets, out=offsets).mean())
    return residual / max(float(np.abs(channels_matched(last, first) - first).mean()), 1e-6)


def channels_matched(picture: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """An RGB ``picture`` (float32) with each channel shifted and scaled to ``reference``'s mean and spread."""
    mean, spread = cv2.meanStdDev(picture)
    wanted_mean, wanted_spread = cv2.meanStdDev(reference)
    scale = wanted_spread / np.maximum(spread, 1.0)
    return picture * scale.astype(np.float32).ravel() + (wanted_mean - mean * scale).astype(np.float32).ravel()


def light_matched(hsv: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``hsv`` with its saturation and value shifted and scaled to ``reference``'s mean and spread."""
    matched = hsv.astype(np.float32)
    for channel in (1, 2):
        values, wanted = matched[..., channel], reference[..., channel]
        matched[..., channel] = (values - values.mean()) * (wanted.std() / max(float(values.std()), 1.0)) + wanted.mean()
    return matched
