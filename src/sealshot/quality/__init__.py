"""Face image quality assessment: one module per method, one protocol, one registry, and scoring of still images."""

from sealshot.quality.base import Assessment, FaceBatch, FailureReason, QualityMethod, assess
from sealshot.quality.registry import DEFAULT_METHOD, UnknownQualityMethod, available, get_quality, register
from sealshot.quality.stills import StillScore, StillStatus, score_still, score_stills

__all__ = [
    "DEFAULT_METHOD",
    "Assessment",
    "FaceBatch",
    "FailureReason",
    "QualityMethod",
    "StillScore",
    "StillStatus",
    "UnknownQualityMethod",
    "assess",
    "available",
    "get_quality",
    "register",
    "score_still",
    "score_stills",
]
