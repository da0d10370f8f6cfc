"""Typed detection results, in the spirit of supervision's ``Detections``, and the detector's settings.

Plain data only (no torch), so that commands can name defaults without loading the detector."""

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


@dataclass
class MTCNNConfig:
    """Detector parameters a user may tune.

    ``detect_max_side`` downscales frames whose longer side exceeds it before
    detection (boxes are mapped back to full resolution); faces then need to be
    at least ``min_face_size`` pixels *at the detection scale*.
    """

    min_face_size: float = 20.0
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    scale_factor: float = 0.709
    detect_max_side: int | None = None
