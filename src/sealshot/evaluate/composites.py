"""Clips with a known answer, composed from the one-person talking-head clips.

* ``cut_clip``: shots of different people (and the first person again) joined by hard cuts, each
  person filling the frame at the same place, so that boxes overlap across every cut.
* ``crossing_clip``: two people side by side on one wider frame, walking towards each other and
  crossing paths (the one in front hides part of the other), in one shot.

Each frame comes with the truth: which person's face region is where, and which shot it belongs to.
``person_at`` tells which person a tracked box shows, so a test or benchmark can check that no track
mixes two people and that each person got exactly one snapshot per shot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
