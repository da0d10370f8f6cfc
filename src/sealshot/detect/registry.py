"""Each detector name (``sealshot.detect.config.DETECTORS``) maps to its class, as insightface's model zoo does."""

from __future__ import annotations

from sealshot.detect.config import DETECTORS, MTCNNConfig, YuNetConfig
from sealshot.detect.types import FaceDetector
from sealshot.errors import InputError


def create_detector(name: str, mtcnn: MTCNNConfig | None = None, yunet: YuNetConfig | None = None) -> FaceDetector:
    """The detector called ``name``, with its settings (the other's are ignored)."""
    if name == "mtcnn":
        from sealshot.detect.mtcnn import MTCNNDetector

        return MTCNNDetector(mtcnn)
    if name == "yunet":
        from sealshot.detect.yunet import YuNetDetector

        return YuNetDetector(yunet)
    raise InputError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
