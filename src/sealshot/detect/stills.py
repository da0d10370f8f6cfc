"""Still images: choosing "the face" of an image and building its aligned batch.

Reading image files lives in ``sealshot.video.images`` (re-exported here for the callers below).

Every caller that turns an image file into a face goes through here:

* ``sealshot score`` (``sealshot.quality.stills``) and VAE training (``sealshot.train.faces``) take
  ``FacePolicy.LARGEST``: a user's photo or a training image may show several people, and the
  biggest face is the one with the most pixels to judge or learn from.
* The benchmark (``sealshot.evaluate.faces``, LFW and CelebA) takes ``FacePolicy.CENTRAL``: those
  images are crops centred on their one subject, and davidsandberg/facenet's aligner, whose choice
  the published LFW protocols assume, keeps the large face nearest the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np

from sealshot.detect.batch import FaceBatch
from sealshot.detect.types import Detections
if TYPE_CHECKING:
    from sealshot.detect.mtcnn import MTCNNDetector

from sealshot.video.images import (
    IMAGE_SUFFIXES,
    UnreadableImage,
    image_files,
    is_image_file,
    list_images,
    load_rgb,
    read_rgb,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "FacePolicy",
    "FoundFace",
    "TIGHT_CROP_MARGIN",
    "find_face",
    "UnreadableImage",
    "choose_face",
    "chosen_face",
    "faces_of_images",
    "image_files",
    "is_image_file",
    "list_images",
    "load_rgb",
    "read_rgb",
]


class FacePolicy(str, Enum):
    """Which detected face is "the face" of a still image."""

    LARGEST = "largest"
    """The largest box (area)."""
    CENTRAL = "central"
    """davidsandberg/facenet's choice: box area minus twice the squared offset of its centre from the image's."""


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


TIGHT_CROP_MARGIN = 0.4
"""Border added on each side, as a fraction of the image's longer side, when an image shows no face as
it is: a tight face crop (no margin around the face) gives MTCNN's sliding windows nothing to frame."""


@dataclass(frozen=True)
class FoundFace:
    """The face of a still image: where it is in the file's pixels, and what a quality method should see.

    ``source`` is the image the face is aligned from with ``source_face``: the image itself, or, for a
    tight face crop, the image padded with its own edge pixels (``offset`` is then the padding, in pixels).
    """

    face: Detections
    faces: int
    source: np.ndarray
    source_face: Detections
    offset: int = 0

    @property
    def padded(self) -> bool:
        return self.offset > 0


def _shifted(detections: Detections, offset: float) -> Detections:
    return Detections(detections.boxes - offset, detections.scores, detections.landmarks - offset)


def find_face(detector: "MTCNNDetector", image: np.ndarray, policy: FacePolicy) -> FoundFace:
    """Detect and choose the face of one RGB image; if there is none, retry once on the image padded by
    ``TIGHT_CROP_MARGIN`` (edge pixels replicated), so an image that is already a tight face crop still has its face."""
    detections = detector.detect([image])[0]
    face = chosen_face(detections, image.shape, policy)
    if len(face):
        return FoundFace(face, len(detections), image, face)
    offset = int(round(TIGHT_CROP_MARGIN * max(image.shape[:2])))
    padded = cv2.copyMakeBorder(image, offset, offset, offset, offset, cv2.BORDER_REPLICATE)
    detections = detector.detect([padded])[0]
    in_padded = chosen_face(detections, padded.shape, policy)
    if len(in_padded) == 0:
        return FoundFace(in_padded, 0, image, in_padded)
    return FoundFace(_shifted(in_padded, offset), len(detections), padded, in_padded, offset)
