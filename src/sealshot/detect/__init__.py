"""Face detection (MTCNN) and 5-point alignment."""

from sealshot.detect.align import AlignedFaces, align_detections, align_face, crop_box
from sealshot.detect.mtcnn import MTCNNConfig, MTCNNDetector
from sealshot.detect.types import Detections

__all__ = ["AlignedFaces", "Detections", "MTCNNConfig", "MTCNNDetector", "align_detections", "align_face", "crop_box"]
