"""Clips with a known answer, composed from the one-person talking-head clips.

* ``cut_clip``: shots of different people (and the first person again) joined by hard cuts, each
  person filling the frame at the same place, so that boxes overlap across every cut.
* ``crossing_clip``: two people side by side on one wider frame, walking towards each other and
  crossing paths (the one in front hides part of the other), in one shot.
* ``dissolve_clip``, ``fade_clip``, ``wipe_clip``: shots of different people at the same place joined by
  gradual transitions (a cross-fade, a fade through black, a wipe), where no two consecutive frames
  differ much and only a window of frames shows that the scene changed.

Each frame comes with the truth: which person's face region is where, and which shot it belongs to.
``person_at`` tells which person a tracked box shows, so a test or benchmark can check that no track
mixes two people and that each person got exactly one snapshot per shot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from sealshot.video import Frame, open_source

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PersonInView:
    person: str
    region: Box
    """Where this person's tile lies in the frame (x1, y1, x2, y2); the face is inside it."""
    front: int
    """Drawing order: a larger value hides a smaller one where they overlap."""


@dataclass
class CompositeClip:
    frames: list[Frame]
    truth: list[list[PersonInView]]
    """Per frame, who is in view and where."""
    shots: list[int]
    """Per frame, the index of its shot (a hard cut separates consecutive shots)."""
    people: list[str] = field(default_factory=list)
    ambiguous: list[bool] = field(default_factory=list)
    """Per frame, whether two people's pictures are mixed in it (the middle of a cross-fade or a wipe, where each
    shows through at least a quarter): either of them is a fair answer there. Empty: no such frame."""

    def is_ambiguous(self, frame_index: int) -> bool:
        return bool(self.ambiguous) and self.ambiguous[frame_index]

    def person_at(self, frame_index: int, box: Box) -> str | None:
        """The person whose visible tile holds the centre of ``box`` in that frame, if any."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for view in sorted(self.truth[frame_index], key=lambda v: -v.front):
            x1, y1, x2, y2 = view.region
            if x1 <= cx < x2 and y1 <= cy < y2:
                return view.person
        return None

    def expected_snapshots(self) -> set[tuple[int, str]]:
        """(shot, person) pairs: one snapshot each is the right answer."""
        return {(shot, view.person) for shot, views in zip(self.shots, self.truth) for view in views}


def _square_frames(path: Path, count: int, side: int, skip: int = 0) -> list[np.ndarray]:
    """``count`` frames of a clip, centre-cropped to a square and resized to ``side`` pixels."""
    images: list[np.ndarray] = []
    for frame in open_source(path):
        if frame.index < skip:
            continue
        height, width = frame.image.shape[:2]
        edge = min(height, width)
        top, left = (height - edge) // 2, (width - edge) // 2
        images.append(cv2.resize(frame.image[top : top + edge, left : left + edge], (side, side), interpolation=cv2.INTER_AREA))
        if len(images) == count:
            break
    return images


def cut_clip(clips: list[Path], frames_per_shot: int = 30, side: int = 256, fps: float = 25.0, revisit_first: bool = True) -> CompositeClip:
    """One shot per clip, in order, then (``revisit_first``) a second shot of the first clip's person."""
    shots_sources = list(clips) + ([clips[0]] if revisit_first else [])
    frames: list[Frame] = []
    truth: list[list[PersonInView]] = []
    shots: list[int] = []
    for shot, path in enumerate(shots_sources):
        # The revisit starts later in its clip: the same person, another moment (as a camera switching back).
        skip = frames_per_shot if shot == len(clips) else 0
        for image in _square_frames(path, frames_per_shot, side, skip):
            index = len(frames)
            frames.append(Frame(index, index / fps, image))
            truth.append([PersonInView(path.stem, (0.0, 0.0, float(side), float(side)), 0)])
            shots.append(shot)
    return CompositeClip(frames, truth, shots, [p.stem for p in clips])


def crossing_clip(
    left: Path, right: Path, frame_count: int = 60, tile: int = 160, width: int = 640, fps: float = 25.0, vertical_offset: int = 40
) -> CompositeClip:
    """``left`` walks right in front, ``right`` walks left behind, on a plain grey wall; they cross half way."""
    height = tile + vertical_offset + 20
    left_frames = _square_frames(left, frame_count, tile)
    right_frames = _square_frames(right, frame_count, tile)
    count = min(len(left_frames), len(right_frames))
    frames: list[Frame] = []
    truth: list[list[PersonInView]] = []
    travel = width - tile
    for index in range(count):
        progress = index / max(count - 1, 1)
        left_x = round(travel * progress)
        right_x = round(travel * (1 - progress))
        canvas = np.full((height, width, 3), 118, np.uint8)
        # Behind first, then the one in front.
        canvas[vertical_offset : vertical_offset + tile, right_x : right_x + tile] = right_frames[index]
        canvas[10 : 10 + tile, left_x : left_x + tile] = left_frames[index]
        frames.append(Frame(index, index / fps, canvas))
        truth.append(
            [
                PersonInView(left.stem, (left_x, 10, left_x + tile, 10 + tile), 1),
                PersonInView(right.stem, (right_x, vertical_offset, right_x + tile, vertical_offset + tile), 0),
            ]
        )
    return CompositeClip(frames, truth, [0] * count, [left.stem, right.stem])


Transition = Literal["dissolve", "fade", "wipe"]
WipeDirection = Literal["left", "top", "diagonal"]
"""Where a wipe's edge starts: the left side, the top, or the top-left corner (an edge at 45° to the tile)."""

AMBIGUOUS_SHARE = 0.25
"""In a cross-fade or a wipe, a frame where each person makes up at least this share of the picture is ambiguous."""


def dissolve_clip(clips: list[Path], frames_per_shot: int = 30, transition_frames: int = 19, side: int = 256, fps: float = 25.0) -> CompositeClip:
    """One shot per clip, in order, each cross-fading into the next over ``transition_frames`` frames (both people
    keep moving through it). A blended frame belongs to the person with the larger weight: the shot changes at the
    cross-fade's midpoint, and its middle half (each person at least a quarter) is ``ambiguous``."""
    return _transition_clip(clips, "dissolve", frames_per_shot, transition_frames, side, fps)


def fade_clip(clips: list[Path], frames_per_shot: int = 30, transition_frames: int = 19, side: int = 256, fps: float = 25.0) -> CompositeClip:
    """As ``dissolve_clip``, but each shot fades to black and the next fades in from it (half the transition each
    way; with an odd ``transition_frames`` its middle frame is black and shows nobody). No frame is ambiguous."""
    return _transition_clip(clips, "fade", frames_per_shot, transition_frames, side, fps)


def wipe_clip(
    clips: list[Path], frames_per_shot: int = 30, transition_frames: int = 19, side: int = 256, fps: float = 25.0, direction: WipeDirection = "left"
) -> CompositeClip:
    """As ``dissolve_clip``, but the next shot's picture slides over the last one's behind an edge moving at a
    steady pace from ``direction``. A frame belongs to the person whose picture covers the tile's centre (where the
    face is), which the edge crosses half way in every direction; ambiguous while the edge crosses the tile's
    middle half."""
    return _transition_clip(clips, "wipe", frames_per_shot, transition_frames, side, fps, direction)


def _transition_clip(
    clips: list[Path], transition: Transition, frames_per_shot: int, transition_frames: int, side: int, fps: float, direction: WipeDirection = "left"
) -> CompositeClip:
    tile = (0.0, 0.0, float(side), float(side))
    last = len(clips) - 1
    sources: list[list[np.ndarray]] = []
    for shot, path in enumerate(clips):
        # Each person's frames run on through the transitions on either side of their own shot.
        wanted = frames_per_shot + transition_frames * ((shot > 0) + (shot < last))
        images = _square_frames(path, wanted, side)
        if len(images) < wanted:
            raise ValueError(f"{path} has {len(images)} frames, fewer than the {wanted} its shot needs")
        sources.append(images)
    clip = CompositeClip([], [], [], [path.stem for path in clips], [])

    def add(image: np.ndarray, person: str | None, shot: int, ambiguous: bool) -> None:
        index = len(clip.frames)
        clip.frames.append(Frame(index, index / fps, image))
        clip.truth.append([PersonInView(person, tile, 0)] if person is not None else [])
        clip.shots.append(shot)
        clip.ambiguous.append(ambiguous)

    for shot, path in enumerate(clips):
        start = transition_frames if shot > 0 else 0
        for image in sources[shot][start : start + frames_per_shot]:
            add(image, path.stem, shot, False)
        if shot == last:
            break
        outgoing, incoming = sources[shot][start + frames_per_shot :], sources[shot + 1][:transition_frames]
        for step in range(transition_frames):
            progress = (step + 1) / (transition_frames + 1)  # the incoming person's share, never 0 nor 1
            image = _blend(outgoing[step], incoming[step], progress, transition, direction)
            arrived = progress >= 0.5
            person: str | None = clips[shot + 1].stem if arrived else path.stem
            if transition == "fade" and progress == 0.5:
                person = None  # the black frame
            ambiguous = transition != "fade" and AMBIGUOUS_SHARE <= progress <= 1 - AMBIGUOUS_SHARE
            add(image, person, shot + arrived, ambiguous)
    return clip


def _blend(outgoing: np.ndarray, incoming: np.ndarray, progress: float, transition: Transition, direction: WipeDirection) -> np.ndarray:
    """One frame of ``transition`` from ``outgoing`` to ``incoming``, ``progress`` (0 to 1) of the way through."""
    if transition == "dissolve":
        mixed = outgoing.astype(np.float32) * (1 - progress) + incoming.astype(np.float32) * progress
    elif transition == "fade":
        brightness = abs(1 - 2 * progress)
        mixed = (outgoing if progress < 0.5 else incoming).astype(np.float32) * brightness
    else:
        return np.where(_wiped(outgoing.shape[:2], progress, direction)[..., None], incoming, outgoing)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _wiped(shape: tuple[int, ...], progress: float, direction: WipeDirection) -> np.ndarray:
    """Which pixels of a ``shape`` (height, width) picture the incoming shot covers ``progress`` of the way through."""
    height, width = shape
    rows, columns = np.mgrid[0:height, 0:width]
    if direction == "left":
        return columns < round(progress * width)
    if direction == "top":
        return rows < round(progress * height)
    # The edge runs from corner to corner of the part covered: half way through, it is the tile's other diagonal.
    return columns / width + rows / height < 2 * progress
