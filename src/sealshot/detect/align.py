"""Five-point similarity alignment to canonical face crops.

The canonical landmark template is the widely used 112×112 ArcFace one;
other crop sizes scale it. The paper's VAE input is the 64×64 greyscale crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sealshot.detect.types import Detections

ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

COLOR_SIZE = 112
GRAY_SIZE = 64


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``source`` onto ``target``.

    Umeyama (1991); returns a 2×3 matrix usable by ``cv2.warpAffine``.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    src_mean, dst_mean = source.mean(0), target.mean(0)
    src_c, dst_c = source - src_mean, target - dst_mean
    covariance = dst_c.T @ src_c / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(source)
    scale = (singular * np.diag(sign)).sum() / variance if variance > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def template(size: int) -> np.ndarray:
    return ARCFACE_TEMPLATE_112 * (size / COLOR_SIZE)


def align_face(image_rgb: np.ndarray, landmarks: np.ndarray, size: int = COLOR_SIZE) -> np.ndarray:
    """Warp one face to a ``size``×``size`` canonical RGB crop."""
    matrix = similarity_transform(landmarks, template(size))
    return cv2.warpAffine(image_rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def to_gray(crops_rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of ``(N, H, W, 3)`` RGB crops, as uint8 ``(N, H, W)``."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(crops_rgb.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)


def crop_box(image_rgb: np.ndarray, box: np.ndarray, margin: float = 0.3) -> np.ndarray:
    """The face box enlarged by ``margin`` on each side, clipped to the frame: the snapshot crop."""
    x1, y1, x2, y2 = [float(v) for v in box[:4]]
    w, h = x2 - x1, y2 - y1
    height, width = image_rgb.shape[:2]
    left = int(max(0, np.floor(x1 - margin * w)))
    top = int(max(0, np.floor(y1 - margin * h)))
    right = int(min(width, np.ceil(x2 + margin * w)))
    bottom = int(min(height, np.ceil(y2 + margin * h)))
    return np.ascontiguousarray(image_rgb[top:bottom, left:right])


@dataclass(frozen=True)
class AlignedFaces:
    """Aligned crops of N faces: ``color`` ``(N, 112, 112, 3)`` RGB and ``gray`` ``(N, 64, 64)``, uint8."""

    color: np.ndarray
    gray: np.ndarray

    def __len__(self) -> int:
        return int(self.color.shape[0])


def align_detections(image_rgb: np.ndarray, detections: Detections) -> AlignedFaces:
    color = np.stack([align_face(image_rgb, lm, COLOR_SIZE) for lm in detections.landmarks]) if len(detections) else np.zeros((0, COLOR_SIZE, COLOR_SIZE, 3), np.uint8)
    gray_color = np.stack([align_face(image_rgb, lm, GRAY_SIZE) for lm in detections.landmarks]) if len(detections) else np.zeros((0, GRAY_SIZE, GRAY_SIZE, 3), np.uint8)
    return AlignedFaces(color=color, gray=to_gray(gray_color))
