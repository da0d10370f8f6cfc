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


_JPEG_MAGIC = b"\xff\xd8"


def read_rgb(path: Path) -> np.ndarray | None:
    """An RGB uint8 image, or None when the file cannot be decoded (any format OpenCV decodes).

    Grey images become three equal channels; 16-bit and floating-point images are scaled to 8 bits
    (floats are taken on [0, 1] when they fit there, else on [0, 255]); an alpha channel is composited
    over white, so a transparent background reads as a plain one instead of whatever colour it hides.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    if not data.size:
        return None
    if data[:2].tobytes() == _JPEG_MAGIC:
        # The common case: 8-bit colour, decoded as before (IMREAD_COLOR also applies EXIF orientation).
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if raw is None:
        return None
    if raw.dtype == np.uint8 and raw.ndim == 3 and raw.shape[2] == 3:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)  # keeps EXIF orientation handling
        return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return _to_rgb8(raw)


def _to_8bit(values: np.ndarray) -> np.ndarray:
    if values.dtype == np.uint8:
        return values
    if values.dtype == np.uint16:
        return (values.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    as_float = values.astype(np.float64)
    finite = as_float[np.isfinite(as_float)]
    scale = 255.0 if finite.size and finite.max() <= 1.0 and finite.min() >= 0.0 else 1.0
    return np.clip(np.nan_to_num(as_float * scale), 0, 255).round().astype(np.uint8)


def _to_rgb8(raw: np.ndarray) -> np.ndarray:
    """BGR(A)/grey(+alpha) of any depth, as OpenCV decodes it unchanged, to RGB uint8."""
    if raw.ndim == 2:
        raw = raw[:, :, None]
    channels = raw.shape[2]
    colour = raw[:, :, :3] if channels >= 3 else np.repeat(raw[:, :, :1], 3, axis=2)
    rgb = cv2.cvtColor(np.ascontiguousarray(_to_8bit(colour)), cv2.COLOR_BGR2RGB) if channels >= 3 else _to_8bit(colour)
    if channels in (2, 4):
        alpha = _to_8bit(raw[:, :, channels - 1]).astype(np.float32)[:, :, None] / 255.0
        rgb = (rgb.astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(rgb)


def load_rgb(path: Path) -> np.ndarray:
    """``read_rgb`` for files that must be images: raises ``UnreadableImage`` instead of returning None."""
    image = read_rgb(path)
    if image is None:
        raise UnreadableImage(f"cannot read image {path}")
    return image
