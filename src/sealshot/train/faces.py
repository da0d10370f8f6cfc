"""Aligned 64×64 greyscale face crops from still images, for training the VAE.

Each image is run through our own MTCNN; the largest face
(``FacePolicy.LARGEST``, as ``sealshot score`` takes) is aligned to the ArcFace
template at 64×64 and converted to grey, exactly as the pipeline does at run
time, so that training and scoring see the same crops.

Crops can be cached as one ``.npz`` under a cache folder (by default the
git-ignored ``.cache/`` of the working directory). Only do that for data that
is already public (the CelebA subset); the cache key covers the file list,
sizes, modification times and detector settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sealshot.detect import FaceBatch, MTCNNConfig
from sealshot.detect.align import GRAY_SIZE
from sealshot.detect.mtcnn import MTCNNDetector
from sealshot.detect.stills import FacePolicy, chosen_face, read_rgb
from sealshot.train.config import VAE_CROPS_CACHE_DIR



@dataclass(frozen=True)
class FaceCrops:
    """``gray``: ``(N, 64, 64)`` uint8 crops; ``paths``: the image each crop came from."""

    gray: np.ndarray
    paths: tuple[str, ...]
    skipped: int

    def __len__(self) -> int:
        return int(self.gray.shape[0])


def largest_face_gray(detector: MTCNNDetector, image_rgb: np.ndarray) -> np.ndarray | None:
    """The aligned 64×64 grey crop of the largest detected face, or None."""
    face = chosen_face(detector.detect([image_rgb])[0], image_rgb.shape, FacePolicy.LARGEST)
    return FaceBatch.from_detections(image_rgb, face).gray[0] if len(face) else None


def _cache_key(paths: Sequence[Path], config: MTCNNConfig) -> str:
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def build_face_crops(
    paths: Sequence[Path],
    config: MTCNNConfig | None = None,
    cache_dir: Path | None = VAE_CROPS_CACHE_DIR,
    progress: Callable[[int], None] | None = None,
) -> FaceCrops:
    """Detect, align and crop the largest face of every image; images without a face are skipped.

    ``progress`` is called with the number of images just processed (for a progress bar).
    """
    config = config or MTCNNConfig()
    cache_file = Path(cache_dir) / f"{_cache_key(paths, config)}.npz" if cache_dir is not None else None
    if cache_file is not None and cache_file.exists():
        with np.load(cache_file) as cached:
            crops = FaceCrops(cached["gray"], tuple(str(p) for p in cached["paths"]), int(cached["skipped"]))
        if progress:
            progress(len(paths))
        return crops

    detector = MTCNNDetector(config)
    grays: list[np.ndarray] = []
    kept: list[str] = []
    skipped = 0
    for path in paths:
        image = read_rgb(path)
        gray = largest_face_gray(detector, image) if image is not None else None
        if gray is None:
            skipped += 1
        else:
            grays.append(gray)
            kept.append(str(path))
        if progress:
            progress(1)
    stacked = np.stack(grays) if grays else np.zeros((0, GRAY_SIZE, GRAY_SIZE), np.uint8)
    crops = FaceCrops(stacked, tuple(kept), skipped)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(".tmp.npz")
        np.savez_compressed(temporary, gray=crops.gray, paths=np.array(kept), skipped=skipped)
        temporary.replace(cache_file)
    return crops
