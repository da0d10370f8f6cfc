"""Still image files: which files are images, and reading them (any format OpenCV decodes).

The one place that knows image files: the image-folder video source, ``sealshot score``, training
and the benchmark all read through here; ``sealshot.detect.stills`` then chooses the face of an image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from sealshot.errors import InputError, SourceError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm"})
"""Suffixes (lower case) of the files taken from a folder of still images."""


class UnreadableImage(SourceError):
    """An image file could not be read or decoded."""


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
