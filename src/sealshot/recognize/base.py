"""The one interface of a face recognition model used as a comparator (and by recognition-based quality)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Comparator(Protocol):
    """A face recognition model that turns faces into L2-normalised embeddings.

    ``embed`` takes full RGB uint8 images with, per image, the MTCNN box ``(4,)``
    and five landmarks ``(5, 2)`` of the face to embed; each model does its own
    preprocessing (crop, margin, size, normalisation) from those.
    Returns ``(N, dim)`` float32 rows of unit norm. Similarity is the dot product.
    """

    name: str
    dim: int

    def embed(self, images: Sequence[np.ndarray], boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray: ...


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it (some model packages fail on import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(package, name=package)
    return Path(list(spec.submodule_search_locations)[0])
