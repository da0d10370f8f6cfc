"""Scoring still images: detect, choose the largest face, align it and assess it with a quality method."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from sealshot.detect import Detections, FaceBatch, MTCNNConfig
from sealshot.detect.stills import FacePolicy, find_face, read_rgb
from sealshot.quality.base import FailureReason, QualityMethod, assess
from sealshot.quality.registry import get_quality

if TYPE_CHECKING:
    from sealshot.detect.mtcnn import MTCNNDetector


class StillStatus(str, Enum):
    """What became of one image: scored, or why not."""

    OK = "ok"
    NO_FACE = "no_face"
    UNREADABLE = "unreadable"
    FAILED = "failed"
    """A face was found but the method could not assess it; ``reason`` says why."""


_STATUS_OF_REASON = {None: StillStatus.OK, FailureReason.NO_FACE: StillStatus.NO_FACE, FailureReason.UNREADABLE: StillStatus.UNREADABLE}


@dataclass(frozen=True)
class StillScore:
    """The quality of one image's largest face, or the reason it has none (``quality`` is then None)."""

    path: Path
    method: str
    faces: int
    """How many faces were detected."""
    face: Detections
    """The face that was assessed (length 1), or empty."""
    quality: float | None
    reason: FailureReason | None

    @property
    def status(self) -> StillStatus:
        return _STATUS_OF_REASON.get(self.reason, StillStatus.FAILED)


def score_still(path: Path, method: QualityMethod, detector: MTCNNDetector) -> StillScore:
    """Score the largest face of one image file (``FacePolicy.LARGEST``); a tight face crop is padded first
    (``sealshot.detect.stills.find_face``), and its box is reported in the file's own pixels."""
    image = read_rgb(path)
    if image is None:
        return StillScore(path, method.name, 0, Detections.empty(), None, FailureReason.UNREADABLE)
    found = find_face(detector, image, FacePolicy.LARGEST)
    if len(found.face) == 0:
        return StillScore(path, method.name, 0, found.face, None, FailureReason.NO_FACE)
    assessment = assess(method, FaceBatch.from_detections(found.source, found.source_face))
    reason = assessment.reasons[0]
    quality = None if reason is not None else float(assessment.scores[0])
    return StillScore(path, method.name, found.faces, found.face, quality, reason)


def score_stills(
    paths: Sequence[Path],
    method_name: str,
    detector_config: MTCNNConfig | None = None,
    on_image: Callable[[StillScore], None] | None = None,
) -> list[StillScore]:
    """One ``StillScore`` per image, in order; ``on_image`` is called after each (a progress bar).

    Raises ``UnknownQualityMethod`` (an ``InputError``) before reading any image.
    """
    from sealshot.detect.mtcnn import MTCNNDetector  # torch loads here, not when the CLI starts

    method = get_quality(method_name)
    detector = MTCNNDetector(detector_config or MTCNNConfig())
    results: list[StillScore] = []
    for path in paths:
        results.append(score_still(path, method, detector))
        if on_image:
            on_image(results[-1])
    return results
