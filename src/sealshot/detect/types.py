"""Typed detection results, in the spirit of supervision's ``Detections``. Plain data only (no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
