"""Still images: which files are images, reading them, and choosing "the face" of an image.

Every caller that turns an image file into a face goes through here:

* ``sealshot score`` (``sealshot.quality.stills``) and VAE training (``sealshot.train.faces``) take
  ``FacePolicy.LARGEST``: a user's photo or a training image may show several people, and the
  biggest face is the one with the most pixels to judge or learn from.
* The benchmark (``sealshot.evaluate.faces``, LFW and CelebA) takes ``FacePolicy.CENTRAL``: those
  images are crops centred on their one subject, and davidsandberg/facenet's aligner, whose choice
  the published LFW protocols assume, keeps the large face nearest the centre.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from sealshot.detect.batch import FaceBatch
from sealshot.detect.types import Detections
from sealshot.errors import InputError, SourceError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
"""Suffixes (lower case) of the files taken from a folder of still images."""


class UnreadableImage(SourceError):
    """An image file could not be read or decoded."""


class FacePolicy(str, Enum):
    """Which detected face is "the face" of a still image."""

    LARGEST = "largest"
    """The largest box (area)."""
    CENTRAL = "central"
    """davidsandberg/facenet's choice: box area minus twice the squared offset of its centre from the image's."""


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def image_files(roots: Iterable[Path]) -> list[Path]:
    """Image files in the order given: a file is taken whatever its suffix, a folder gives its images
    (searched recursively, by ``IMAGE_SUFFIXES``) sorted by path."""
    found: list[Path] = []
    for root in map(Path, roots):
        if root.is_dir():
            found.extend(sorted(p for p in root.rglob("*") if is_image_file(p)))
        elif root.exists():
            found.append(root)
        else:
            raise InputError(f"no such image or folder: {root}")
    return found


def list_images(roots: Iterable[Path]) -> list[Path]:
    """``image_files``, without repeats and sorted (reproducible training sets)."""
    return sorted(set(image_files(roots)))


def read_rgb(path: Path) -> np.ndarray | None:
    """An RGB uint8 image, or None when the file cannot be decoded (any format OpenCV decodes)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def load_rgb(path: Path) -> np.ndarray:
    """``read_rgb`` for files that must be images: raises ``UnreadableImage`` instead of returning None."""
    image = read_rgb(path)
    if image is None:
        raise UnreadableImage(f"cannot read image {path}")
    return image


def choose_face(detections: Detections, image_shape: Sequence[int], policy: FacePolicy) -> int | None:
    """Index of the face ``policy`` keeps among ``detections`` of an image of ``image_shape`` (H, W, ...), or None."""
    if len(detections) == 0:
        return None
    areas = detections.widths * detections.heights
    if policy is FacePolicy.LARGEST:
        return int(np.argmax(areas))
    height, width = image_shape[:2]
    offsets = (detections.boxes[:, :2] + detections.boxes[:, 2:4]) / 2 - np.array([width / 2, height / 2])
    return int(np.argmax(areas - 2.0 * (offsets**2).sum(axis=1)))


def chosen_face(detections: Detections, image_shape: Sequence[int], policy: FacePolicy) -> Detections:
    """The one face ``policy`` keeps, as a ``Detections`` of length 1 (or 0 when there is none)."""
    index = choose_face(detections, image_shape, policy)
    return Detections.empty() if index is None else detections[index]


def faces_of_images(images: Sequence[np.ndarray], faces: Sequence[Detections]) -> FaceBatch:
    """One ``FaceBatch`` of the faces of several images (``faces[i]`` found in ``images[i]``), with the images as sources."""
    return FaceBatch.concatenate([FaceBatch.from_detections(image, found) for image, found in zip(images, faces)])
