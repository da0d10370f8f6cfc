"""The aligned-faces bundle: what a quality method sees of N faces.

A ``FaceBatch`` views the ``Detections`` it was built from (boxes, scores,
landmarks are theirs, not copies) next to the aligned crops and, optionally,
the full image each face came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from sealshot.detect.align import AlignedFaces, align_detections
from sealshot.detect.types import Detections


@dataclass(frozen=True)
class FaceBatch:
    """N aligned faces and what the detector knew about them.

    ``detections``: the N faces as detected (boxes, O-Net probabilities, landmarks in frame pixels).
    ``aligned``: their crops aligned to the ArcFace template, ``color`` ``(N, 112, 112, 3)`` RGB
    and ``gray`` ``(N, 64, 64)`` (the paper's VAE input), uint8.
    ``sources``: optional full images (one per face) for methods that need their own crop
    (recognition models with their own preprocessing); may be empty.
    """

    detections: Detections
    aligned: AlignedFaces
    sources: tuple[np.ndarray, ...] = ()

    def __post_init__(self) -> None:
        if len(self.detections) != len(self.aligned):
            raise ValueError(f"{len(self.detections)} detections but {len(self.aligned)} aligned crops")
        if self.sources and len(self.sources) != len(self.detections):
            raise ValueError(f"{len(self.detections)} faces but {len(self.sources)} source images")

    def __len__(self) -> int:
        return len(self.detections)

    def __getitem__(self, index: int | slice | np.ndarray | Sequence[int]) -> "FaceBatch":
        rows = np.atleast_1d(np.arange(len(self))[index])
        return FaceBatch(
            self.detections[rows],
            AlignedFaces(self.aligned.color[rows], self.aligned.gray[rows]),
            tuple(self.sources[i] for i in rows) if self.sources else (),
        )

    @property
    def color(self) -> np.ndarray:
        return self.aligned.color

    @property
    def gray(self) -> np.ndarray:
        return self.aligned.gray

    @property
    def boxes(self) -> np.ndarray:
        return self.detections.boxes

    @property
    def detector_scores(self) -> np.ndarray:
        return self.detections.scores

    @property
    def landmarks(self) -> np.ndarray:
        return self.detections.landmarks

    def with_sources(self, sources: Sequence[np.ndarray]) -> "FaceBatch":
        """The same faces with other source images (e.g. degraded copies of the frames)."""
        return FaceBatch(self.detections, self.aligned, tuple(sources))

    @classmethod
    def from_detections(cls, image_rgb: np.ndarray, detections: Detections) -> "FaceBatch":
        """Align every detected face of one image and bundle it with what the detector saw."""
        return cls(detections, align_detections(image_rgb, detections), tuple(image_rgb for _ in range(len(detections))))

    @classmethod
    def from_crops(cls, color: np.ndarray, gray: np.ndarray, detections: Detections | None = None) -> "FaceBatch":
        """Faces that are already aligned crops, without source images (tests, benchmarks of crop-only methods).

        Without ``detections``, each face gets a box covering its grey crop and a detector score of 1.
        """
        if detections is None:
            count = len(gray)
            size = float(gray.shape[1]) if gray.ndim == 3 else 0.0
            detections = Detections(
                boxes=np.tile(np.array([0, 0, size, size], np.float32), (count, 1)),
                scores=np.ones(count, np.float32),
                landmarks=np.zeros((count, 5, 2), np.float32),
            )
        return cls(detections, AlignedFaces(np.asarray(color), np.asarray(gray)))

    @classmethod
    def concatenate(cls, batches: Sequence["FaceBatch"]) -> "FaceBatch":
        """One batch of the faces of several (e.g. one chosen face per image); sources only if every batch has them."""
        if not batches:
            return cls.from_crops(np.zeros((0, 112, 112, 3), np.uint8), np.zeros((0, 64, 64), np.uint8))
        detections = Detections(
            np.concatenate([b.boxes for b in batches]).astype(np.float32, copy=False),
            np.concatenate([b.detector_scores for b in batches]).astype(np.float32, copy=False),
            np.concatenate([b.landmarks for b in batches]).astype(np.float32, copy=False),
        )
        aligned = AlignedFaces(np.concatenate([b.color for b in batches]), np.concatenate([b.gray for b in batches]))
        with_sources = all(len(b.sources) == len(b) for b in batches)
        sources = tuple(image for b in batches for image in b.sources) if with_sources else ()
        return cls(detections, aligned, sources)
