"""Typed detection results, in the spirit of supervision's ``Detections``. Plain data only (no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

if TYPE_CHECKING:
    from sealshot.detect.lanes import Lanes


@dataclass(frozen=True)
class Detections:
    """Faces found in one frame.

    ``boxes`` are ``(N, 4)`` float32 ``x1, y1, x2, y2`` in frame pixels,
    ``scores`` the O-Net face probability, ``landmarks`` ``(N, 5, 2)`` as
    left eye, right eye, nose, left mouth corner, right mouth corner (image left/right).
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def __getitem__(self, index: int | slice | np.ndarray) -> "Detections":
        if isinstance(index, int):
            index = slice(index, index + 1)
        return Detections(self.boxes[index], self.scores[index], self.landmarks[index])

    @property
    def widths(self) -> np.ndarray:
        return self.boxes[:, 2] - self.boxes[:, 0]

    @property
    def heights(self) -> np.ndarray:
        return self.boxes[:, 3] - self.boxes[:, 1]

    @classmethod
    def empty(cls) -> "Detections":
        return cls()


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (rows) with every box of ``b`` (columns), ``x1, y1, x2, y2``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class FaceDetector(Protocol):
    """What the camera pipeline needs of a detector (``MTCNNDetector``, ``YuNetDetector``; ``create_detector``)."""

    shares_lanes: bool
    """Whether ``on_lanes`` shares one detection's work between the lanes (MTCNN: P-Net's levels, R/O-Net's
    candidates). One that cannot (YuNet, one network pass) is better started ahead, beside the frame before."""

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Every face of each RGB uint8 frame."""
        ...

    def refine(self, frame: np.ndarray, boxes: np.ndarray) -> Detections:
        """The faces at or near ``boxes`` (a tracker's predictions), between full detections."""
        ...

    def on_lanes(self, lanes: "Lanes") -> "FaceDetector":
        """The same detector, its work shared between ``lanes``."""
        ...
