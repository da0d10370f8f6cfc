"""dlib's ResNet face recogniser (King 2017), 128-d, CC0 weights from ``face_recognition_models``.

dlib's recogniser expects a 150×150 chip made by ``dlib.get_face_chip`` with
padding 0.25 from its own 5-point shape predictor, so we run that predictor
inside the MTCNN box rather than using MTCNN's landmarks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import dlib
import numpy as np

from sealshot.recognize.base import package_dir

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def models_dir() -> Path:
    # ``import face_recognition_models`` needs pkg_resources (gone from new setuptools); only locate its files.
    return package_dir("face_recognition_models") / "models"


class DlibResNetComparator:
    name = "dlib"
    dim = 128
    cache_key = "dlib-resnet-v1-sp5-chip150"

    def __init__(self) -> None:
        self.shape_predictor = dlib.shape_predictor(str(models_dir() / "shape_predictor_5_face_landmarks.dat"))
        self.recogniser = dlib.face_recognition_model_v1(str(models_dir() / "dlib_face_recognition_resnet_model_v1.dat"))

    def chip(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        x1, y1, x2, y2 = (int(round(float(v))) for v in box[:4])
        shape = self.shape_predictor(np.ascontiguousarray(image), dlib.rectangle(x1, y1, x2, y2))
        return dlib.get_face_chip(np.ascontiguousarray(image), shape, size=CHIP_SIZE, padding=CHIP_PADDING)

    def embed(self, images: Sequence[np.ndarray], boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32)
        chips = [self.chip(image, box) for image, box in zip(images, np.asarray(boxes))]
        out = np.asarray([np.asarray(d) for d in self.recogniser.compute_face_descriptor(chips)], np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
