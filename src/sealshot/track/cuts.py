"""Shot boundaries from a small copy of each frame: hard cuts, cross-fades, wipes and fades through black.

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
person into the next. Three more tests find it:

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
* A wipe (the next shot sliding over the last behind a moving edge), on the same window wherever its change passes
  ``gradual_threshold``: each pixel that changed from the window's first frame to its last went over from one value
  to the other once and at once as the edge passed it, where movement shows other content at intermediate places
  and a cross-fade mixtures. ``switch_residual`` is the share of the changed pixels that did not (``bench/
  gradual_cuts.py``): on wipes of 0.3-1 s from a side, the top or a corner between the talking heads 0.09-0.44
  where they were found (and as low as 0.01 inside them), on cross-fades 0.85-1.00 where they were found; wherever
  the windowed change passes 15 on anything else 0.59 or more: the talking heads 0.61 and 0.75 (two never pass 15),
  with noise (sigma 10) 0.59 and 0.68, shaken by hand (random shifts of up to 8 pixels at 640) 0.77-0.94, both
  0.68-0.93, the arcade clip 0.88, the sample 0.89, the light ramps 0.84-0.89, a camera panning 2-8 pixels a frame
  or zooming 1.1-1.5x a second over the sample 0.88-0.99, the crossing composites 0.61 and 0.76. Under ``max_switch_residual`` (0.5) the window is a wipe, never a
  cross-fade: its start would pass the blend test (the frames between are still the first picture), long before
  the edge reaches the faces in the middle. Its boundary comes once the switched pixels cover ``min_wipe_area``
  (0.25) of the picture, about when the edge crosses the middle half (0.25-0.38 where found), which nothing else
  came near (at most 0.20, the crossing), and if they went over as an edge moved, not all in one frame: a step of
  light under ``threshold`` (0.6x-1.5x) switches every pixel at once (``max_switched_at_once``); then the detector
  is ``blending`` for ``gradual_window_s`` as after a cross-fade, as a face the edge is crossing is half one
  person, half the other. One boundary for the picture: a
  face the edge crosses well before its middle (one high in a picture wiped from the top) may still start a track
  in the old shot, and wipes longer than a second may be found late, twice or not at all (1.2-2 s measured): the
  switched band of a half-second window no longer covers a quarter of the picture.
* A fade through black: black frames (mean value under ``black_level``, as PySceneDetect's
  ``ThresholdDetector``) are a shot of their own, so that the faint last faces of one shot and the faint
  first of the next are never one track. The black frames themselves may still show both faintly (YuNet finds
  faces at a mean value of 6): for up to ``max_black_fade_s`` they are ``in_black_fade``, where the pipeline
  follows nobody. A quicker fade that never gets that dark is a cross-fade through a dim picture, found by the
  first test.

The three tests add 0.03-0.09 ms a frame to the hard-cut test's 0.06-0.08 on the talking heads, the arcade clip and
the sample, and up to 0.32 where the windowed change passes the threshold on most frames (the crossing composites,
the light ramps, a moving camera): the blend and wipe tests run only there, on a copy half as wide, at about 0.12 ms
each. The wipe test's share is 0-0.03 ms a frame on the talking heads, the arcade clip and the sample.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, NamedTuple

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
SWITCH_MIN_CHANGE = 60.0
"""Change of a pixel of the blend view (summed over R, G and B, 0-765) from the window's first frame to its last over
which the wipe test asks how it got there: well over noise and compression, under the change from one face or
background to another."""
SWITCH_MIXED_SHARE = 0.25
"""A pixel of a frame between is mixed when it lies further than this share of its change from both ends."""


Boundary = Literal["cut", "gradual", "wipe", "black"]


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
    is far behind. The pipeline scores no face for this long after a cross-fade's or a wipe's boundary."""
    max_blend_residual: float = 0.2
    """How closely the frames inside the window must be blends of its two ends (``blend_residual``): a cross-fade
    was found at 0.07-0.20, movement that changed the picture as much at 0.26 or more."""
    max_switch_residual: float = 0.5
    """Under this ``switch_residual`` (the share of the window's changed pixels that did not switch once and at once
    from the first frame's value to the last's) the window is a wipe, which the cross-fade test must not take: a wipe
    measured 0.09-0.44 at its boundary, movement, changes of light, pans and zooms 0.59 or more."""
    min_wipe_area: float = 0.25
    """A wipe's boundary comes once its hard switches cover this share of the picture (until then it is a wipe under
    way, and no boundary): about when the edge crosses the picture's middle half on wipes of 0.3-1 s."""
    max_switched_at_once: float = 0.8
    """...and while no more than this share of them went over in one frame: 0.12-0.43 on wipes of 8-25 frames where
    they were found (the more, the shorter the wipe), 0.94-0.98 on a step of light under ``threshold`` (0.6x-1.5x
    on the sample), which switches every pixel at once."""
    gradual_min_frames: int = 6
    """The cross-fade and wipe tests need at least this many frames in their window (its two ends included): at a
    few frames a second (a camera idling at a low rate, a busy host dropping frames) a window of two or three frames
    makes any movement between them look like a wipe (the arcade sample at 4 and 2 frames a second: false wipes), so
    below about 10 frames a second only hard cuts and fades through black are found."""
    fading_shift: float = 0.05
    """A frame whose mean value moved by more than this share of the last one's is ``fading``: 10-67 % a frame in the
    fades through black of 0.5-0.8 s between the talking heads, at most 1.9 % anywhere on the arcade clip and the
    talking heads, 2-3 % a frame in the cross-fades."""
    black_level: float | None = 12.0
    """Mean value (0-255) under which a frame is black (PySceneDetect's ``ThresholdDetector`` default): black
    frames are a shot of their own, from the first after a lit picture to the first over the level after them
    (a fade through black); None: no such test."""
    max_black_fade_s: float = 1.0
    """For this long from its start, a stretch of black frames that started a shot is a fade's black middle
    (``in_black_fade``); a picture that stays darker than ``black_level`` for longer is a dark scene."""

    def __post_init__(self) -> None:
        for name, value in (
            ("threshold", self.threshold),
            ("gradual_window_s", self.gradual_window_s),
            ("max_blend_residual", self.max_blend_residual),
            ("max_black_fade_s", self.max_black_fade_s),
        ):
            if not value > 0:
                raise InputError(f"{name} must be more than 0, not {value!r}")
        for name, value in (
            ("max_switch_residual", self.max_switch_residual),
            ("min_wipe_area", self.min_wipe_area),
            ("max_switched_at_once", self.max_switched_at_once),
            ("fading_shift", self.fading_shift),
        ):
            if not 0 < value <= 1:
                raise InputError(f"{name} must be more than 0 and at most 1 (a share), not {value!r}")
        if self.gradual_min_frames < 3:
            raise InputError(f"gradual_min_frames must be at least 3 (two ends and a frame between), not {self.gradual_min_frames!r}")
        if self.gradual_threshold is not None and not self.gradual_threshold > 0:
            raise InputError(f"gradual_threshold must be more than 0 (None: no gradual test), not {self.gradual_threshold!r}")
        if self.black_level is not None and not 0 < self.black_level < 255:
            raise InputError(f"black_level must be between 0 and 255 (None: no fade-to-black test), not {self.black_level!r}")
        self._previous: _WindowFrame | None = None
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
        self._black_stretch_began = 0.0
        """The time of the first frame of the last stretch of black frames that started a shot."""
        self._blending_until: float | None = None
        """``gradual_window_s`` after the last cross-fade's or wipe's boundary; None after any other boundary."""
        self.last_score = 0.0
        self.last_window_score = 0.0
        """The windowed change (before light compensation) of the last frame; 0 when there was no window."""
        self.last_switches: Switches | None = None
        """The wipe test's measure of the last frame's window (``switch_residual``); None where it did not run."""
        self.boundary: Boundary | None = None
        """Which test found the last frame's new shot: ``"cut"``, ``"gradual"`` (a cross-fade), ``"wipe"`` or
        ``"black"``; None: none did."""
        self.transition_began: float | None = None
        """At a cross-fade's or a wipe's boundary (``boundary`` ``"gradual"`` or ``"wipe"``), the time of its window's
        first frame, the last the test compared as the old picture: the transition's first half lies after it.
        None at any other frame."""
        self.light_changes = 0
        """Frames over the threshold that were a change of light, not a cut."""
        self.light_changed = False
        """Whether the last frame given to ``update`` was such a change of light (colours seen before it are stale)."""
        self.fading = False
        """Whether the picture's mean value moved by more than ``fading_shift`` since the frame before (a fade into or
        out of black, a light dimmed fast): a face's colours and quality then fall or rise with the picture, not
        because it is someone else."""
        self.blending = False
        """Whether the last frame is within ``gradual_window_s`` after a cross-fade's or a wipe's boundary, which is
        found near its midpoint: the rest of the transition still mixes two people's pictures (a ghost of both, or
        a face half one person, half the other)."""
        self.in_black_fade = False
        """Whether the last frame is one of a fade's black frames: black, in a stretch that started a shot at most
        ``max_black_fade_s`` before. The faint faces there are the last of one shot's people fading out and the first
        of the next one's fading in, too dark to tell apart: a track over them would join two people."""

    def update(self, image: np.ndarray, timestamp: float | None = None) -> bool:
        """``image``: the RGB frame, or its ``small_frame``; ``timestamp``: its time in seconds, if known."""
        small = small_frame(image)
        if small is image:
            small = image.copy()  # kept for the gradual test: the caller may reuse its buffer
        hsv = small_hsv(small)
        self._frames_seen += 1
        frame = _WindowFrame(timestamp if timestamp is not None else self._frames_seen / UNTIMED_FPS, hsv, small)
        previous, self._previous = self._previous, frame
        self.light_changed = False
        self.boundary = None
        self.transition_began = None
        self.last_window_score = 0.0
        self.last_switches = None
        self.blending = self._blending_until is not None and frame.time < self._blending_until
        self._since_cut += 1
        long_enough = self._since_cut >= self.min_shot_frames or (
            timestamp is not None and self._cut_at is not None and timestamp - self._cut_at >= self.min_shot_s
        )
        black_boundary = self._black_boundary(frame, long_enough)
        self.in_black_fade = self._black and self._black_stretch_open and frame.time - self._black_stretch_began <= self.max_black_fade_s + TIME_TOLERANCE_S
        self.fading = previous is not None and abs(frame.brightness - previous.brightness) > self.fading_shift * max(previous.brightness, 1.0)
        if previous is None:
            self.last_score, self._cut_at = 0.0, timestamp  # the first shot starts here
            self._remember(frame)
            return False
        if previous.hsv.shape != hsv.shape:
            # Another shape of picture (a folder of photos, a stream re-configured): a new shot, whose boxes
            # cannot be compared with the last one's.
            self.last_score = 255.0
            return self._new_shot("cut", frame, timestamp)
        self.last_score = hsv_change(previous.hsv, hsv)
        if self.last_score >= self.threshold and long_enough:
            if not self.light_tolerant or light_compensated_change(previous.hsv, hsv) >= self.threshold:
                return self._new_shot("cut", frame, timestamp)
            self.light_changes += 1
            self.light_changed = True
            self._window.clear()  # frames under the old light would look like a change of scene to the gradual test
        if black_boundary:
            return self._new_shot("black", frame, timestamp)
        self._remember(frame)
        gradual = self._gradual_change()
        if gradual is not None and long_enough:
            return self._new_shot(gradual, frame, timestamp)
        return False

    @property
    def transition_under_way(self) -> bool:
        """Whether the last frame may still be inside a cross-fade or a wipe whose boundary was found (by about its
        middle): the windowed change has not fallen back under ``gradual_threshold`` since, for at most twice
        ``gradual_window_s`` (a cross-fade of a second ends half a second after its boundary, and leaves the window
        half a second later; movement after a boundary found where there was none keeps the change up)."""
        if self._gradual_armed or self._blending_until is None or self._previous is None:
            return False
        return self._previous.time < self._blending_until + self.gradual_window_s

    def _new_shot(self, boundary: Boundary, frame: _WindowFrame, timestamp: float | None) -> bool:
        self.boundary = boundary
        self._since_cut = 0
        self._cut_at = timestamp
        if boundary in ("gradual", "wipe"):
            self.transition_began = self._window[0].time
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

    def _black_boundary(self, frame: _WindowFrame, may_start: bool) -> bool:
        """Whether this frame starts a stretch of black frames (if it ``may_start`` a shot: not a flickering light
        going out within ``min_shot_frames`` of the last boundary), or is the first lit one after a stretch that
        did: the black frames are a shot of their own, so that no track runs from the faint faces before them to
        those after."""
        if self.black_level is None:
            return False
        brightness = frame.brightness
        was_black, self._black = self._black, brightness < self.black_level
        if brightness >= LIT_FACTOR * self.black_level:
            self._lit_since_black = True
        if self._black and not was_black and self._lit_since_black:
            self._lit_since_black = False
            self._black_stretch_open = may_start
            self._black_stretch_began = frame.time
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

    def _gradual_change(self) -> Boundary | None:
        """Which gradual transition from the window's first frame to its last (the current one) the frames between
        show: a cross-fade (``"gradual"``) or a wipe; None: neither, or a wipe not yet far enough."""
        window = self._window
        if self.gradual_threshold is None or len(window) < self.gradual_min_frames:
            return None  # a change between a few frames is the hard-cut test's business
        first, last = window[0], window[-1]
        if first.time > last.time - self.gradual_window_s + TIME_TOLERANCE_S:
            return None  # not yet a full window since the shot began
        self.last_window_score = hsv_change(first.hsv, last.hsv)
        if self.last_window_score < self.gradual_threshold:
            self._gradual_armed = True
            return None
        if not self._gradual_armed:
            return None
        between = np.stack([window[index].blend_view for index in range(1, len(window) - 1)])
        switches = self.last_switches = switch_residual(first.blend_view, between, last.blend_view)
        if switches.residual <= self.max_switch_residual:
            # Pixels went over from the first picture to the last: never a cross-fade, whose test a wipe's start would
            # pass (the frames between are still the first picture) long before the edge reaches the middle. A wipe
            # once it covers enough of the picture, and if its edge moved (a step of light switches all at once).
            if switches.area < self.min_wipe_area or switches.at_once > self.max_switched_at_once:
                return None
            boundary: Boundary = "wipe"
        elif blend_residual(first.blend_view, between, last.blend_view) <= self.max_blend_residual:
            boundary = "gradual"
        else:
            return None  # movement
        return boundary if light_compensated_change(first.hsv, last.hsv) >= self.gradual_threshold else None


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


class Switches(NamedTuple):
    residual: float
    """The share of the changed pixels that are no hard switch (1.0 where no pixel changed)."""
    area: float
    """The share of the picture that switched."""
    at_once: float
    """The largest share of the switched pixels that went over in the same frame (0.0 where none switched)."""


def switch_residual(first: np.ndarray, between: np.ndarray, last: np.ndarray) -> Switches:
    """How far the frames ``between`` are from a wipe from ``first`` to ``last`` (``blend_view``s; ``between``
    stacked): of the pixels that changed from ``first`` to ``last`` (by ``SWITCH_MIN_CHANGE`` or more), the share
    that are no hard switch, the share of the picture that is one, and how many of them went over together.

    A pixel is a hard switch when it goes over from its first value to its last once and at once: in each frame
    between it is nearer one of them than ``SWITCH_MIXED_SHARE`` of the change, except in at most one frame (where
    the edge crossed it), and once nearer the last it stays so. In a wipe nearly every changed pixel is one; in a
    cross-fade or a change of light they are mixtures all through its middle half (one of three frames or fewer is a
    switch, and a boundary either way); moving things and a moving camera show other content at intermediate places,
    except along the edges of flat colours."""
    change = _channel_sum(np.abs(last - first))
    changed = change >= SWITCH_MIN_CHANGE
    changed_count = int(np.count_nonzero(changed))
    if changed_count == 0:
        return Switches(1.0, 0.0, 0.0)
    # Every pixel, changed or not, and the mask last: indexing the changed ones out first costs more than it saves.
    to_start = _channel_sum(np.abs(between - first))
    to_end = _channel_sum(np.abs(between - last))
    mixed = np.minimum(to_start, to_end) > SWITCH_MIXED_SHARE * change
    at_end = to_end < to_start
    switched_back = (at_end[:-1] & ~at_end[1:]).any(axis=0)
    hard = changed & (np.count_nonzero(mixed, axis=0) <= 1) & ~switched_back
    switched = int(np.count_nonzero(hard))
    if switched == 0:
        return Switches(1.0, 0.0, 0.0)
    frames_before_switch = np.count_nonzero(~at_end[:, hard], axis=0)
    at_once = int(np.bincount(frames_before_switch).max()) / switched
    return Switches(1.0 - switched / changed_count, switched / change.size, at_once)


def _channel_sum(picture: np.ndarray) -> np.ndarray:
    """R + G + B (ten times faster than ``sum(axis=-1)`` over an axis of three)."""
    return picture[..., 0] + picture[..., 1] + picture[..., 2]


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
