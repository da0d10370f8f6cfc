"""The one interface every quality method implements.

A method takes a batch of aligned face crops (``FaceBatch``, defined with the
detector in ``sealshot.detect.batch`` and re-exported here) and returns one float per crop,
higher meaning better. Failures never crash the pipeline: ``assess`` turns
them into NaN with a ``FailureReason`` ("failure to assess" and why), as OFIQ's
executor does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

import numpy as np

from sealshot.detect.batch import FaceBatch
from sealshot.errors import ModelError

logger = logging.getLogger(__name__)


@runtime_checkable
class QualityMethod(Protocol):
    """A face image quality assessment method."""

    name: str

    def score(self, faces: FaceBatch) -> np.ndarray:
        """One float per face, higher is better; shape ``(len(faces),)``."""
        ...


class FailureReason(str, Enum):
    """Why a face got no quality score (OFIQ's "failure to assess", with its reason)."""

    UNREADABLE = "unreadable"
    """The image could not be read or decoded."""
    NO_FACE = "no_face"
    """No face was found to assess."""
    MODEL_UNAVAILABLE = "model_unavailable"
    """The method's weights or optional dependency (extra) are missing."""
    METHOD_FAILED = "method_failed"
    """The method raised an error on this batch."""
    NOT_FINITE = "not_finite"
    """The method returned NaN or an infinite value for this face."""
    MID_TRANSITION = "mid_transition"
    """The frame lies inside a cross-fade or a wipe between two shots: its picture mixes two, so a face there may not be one."""


@dataclass(frozen=True)
class Assessment:
    """The scores of a batch and, for each face without one (NaN), the reason."""

    scores: np.ndarray
    reasons: tuple[FailureReason | None, ...]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def failed(cls, count: int, reason: FailureReason) -> "Assessment":
        return cls(np.full(count, np.nan), (reason,) * count)


def assess(method: QualityMethod, faces: FaceBatch) -> Assessment:
    """Score a batch; any failure becomes NaN with its reason instead of an exception."""
    if len(faces) == 0:
        return Assessment(np.zeros(0, np.float64), ())
    try:
        scores = np.asarray(method.score(faces), dtype=np.float64).reshape(-1)
        if scores.shape != (len(faces),):
            raise ValueError(f"{method.name} returned {scores.shape} scores for {len(faces)} faces")
    except (ModelError, ModuleNotFoundError, FileNotFoundError) as error:
        logger.warning("quality method %s is unavailable: %s", method.name, error)
        return Assessment.failed(len(faces), FailureReason.MODEL_UNAVAILABLE)
    except Exception:  # noqa: BLE001 - the executor's whole point is to contain failures
        logger.exception("quality method %s failed to assess %d faces", method.name, len(faces))
        return Assessment.failed(len(faces), FailureReason.METHOD_FAILED)
    reasons = tuple(None if np.isfinite(value) else FailureReason.NOT_FINITE for value in scores)
    return Assessment(scores, reasons)
