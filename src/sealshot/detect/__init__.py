"""Face detection (MTCNN), 5-point alignment, the aligned-faces bundle and still images.

``MTCNNDetector`` is imported on first use (PEP 562), so that importing this
package, as every command module does, does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealshot.detect.align import AlignedFaces, align_detections, align_face, crop_box
from sealshot.detect.batch import FaceBatch
from sealshot.detect.types import Detections, MTCNNConfig

if TYPE_CHECKING:
    from sealshot.detect.mtcnn import MTCNNDetector

__all__ = ["AlignedFaces", "Detections", "FaceBatch", "MTCNNConfig", "MTCNNDetector", "align_detections", "align_face", "crop_box"]


def __getattr__(name: str) -> Any:
    if name == "MTCNNDetector":
        from sealshot.detect.mtcnn import MTCNNDetector

        return MTCNNDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
