"""Face detection (MTCNN, the paper's; YuNet, an optional faster one), 5-point alignment, the aligned-faces bundle and still images.

Names are loaded on first use (PEP 562), so that ``sealshot.detect.config`` and
``sealshot.detect.types`` can be imported (by the command line, the tracker)
without loading PyTorch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealshot.detect.align import AlignedFaces, align_detections, align_face, crop_box
    from sealshot.detect.batch import FaceBatch
    from sealshot.detect.config import MTCNNConfig, YuNetConfig
    from sealshot.detect.mtcnn import MTCNNDetector
    from sealshot.detect.registry import create_detector
    from sealshot.detect.types import Detections, FaceDetector
    from sealshot.detect.yunet import YuNetDetector

_HOMES = {
    "AlignedFaces": "align",
    "align_detections": "align",
    "align_face": "align",
    "crop_box": "align",
    "FaceBatch": "batch",
    "MTCNNConfig": "config",
    "YuNetConfig": "config",
    "MTCNNDetector": "mtcnn",
    "YuNetDetector": "yunet",
    "create_detector": "registry",
    "Detections": "types",
    "FaceDetector": "types",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
