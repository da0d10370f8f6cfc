"""One face per image file: MTCNN detection, embeddings and quality scores, all cached by file content.

Benchmark images (LFW, CelebA) hold one subject each, so each file yields the
face that davidsandberg/facenet's aligner would pick: the largest, penalised by
its distance from the image centre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from sealshot.detect import Detections, MTCNNConfig, MTCNNDetector
from sealshot.detect.align import COLOR_SIZE, GRAY_SIZE, align_face, to_gray
from sealshot.evaluate.cache import file_hashes, open_store
from sealshot.evaluate import comparators as _comparators
from sealshot.evaluate.comparators import get_comparator
from sealshot.quality import FaceBatch, assess, get_quality

logger = logging.getLogger(__name__)

DETECTOR_KEY = "mtcnn-min20-t0.6-0.7-0.7-central-v1"
CHUNK = 32

ProgressCallback = Callable[[int, int], None]


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def central_face(detections: Detections, height: int, width: int) -> int | None:
    """Index of the face davidsandberg/facenet's aligner keeps: box area minus twice the squared centre offset."""
    if len(detections) == 0:
        return None
    boxes = detections.boxes
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    centre = np.array([width / 2, height / 2])
    offsets = (boxes[:, :2] + boxes[:, 2:4]) / 2 - centre
    return int(np.argmax(areas - 2.0 * (offsets**2).sum(axis=1)))


@dataclass(frozen=True)
class FileFaces:
    """The chosen face of each of N files; rows where ``found`` is False hold zeros."""

    paths: tuple[Path, ...]
    hashes: tuple[str, ...]
    found: np.ndarray  # (N,) bool
    boxes: np.ndarray  # (N, 4) float32
    scores: np.ndarray  # (N,) float32
    landmarks: np.ndarray  # (N, 5, 2) float32

    def __len__(self) -> int:
        return len(self.paths)


_DETECTOR: MTCNNDetector | None = None


def _detector() -> MTCNNDetector:
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = MTCNNDetector(MTCNNConfig())
    return _DETECTOR


def _encode(detections: Detections, index: int | None) -> np.ndarray:
    if index is None:
        return np.zeros(16, np.float32)
    return np.concatenate(
        [[1.0], detections.boxes[index], [detections.scores[index]], detections.landmarks[index].reshape(-1)]
    ).astype(np.float32)


def detect_files(
    paths: Sequence[Path], cache_dir: Path | None = None, hashes: Sequence[str] | None = None, progress: ProgressCallback | None = None
) -> FileFaces:
    """Detect the central face of every file, reusing cached detections."""
    paths = [Path(p) for p in paths]
    hashes = list(hashes) if hashes is not None else file_hashes(paths)
    with open_store("detections", cache_dir) as store:
        cached = store.get_many(DETECTOR_KEY, hashes)
        todo = [i for i, sha in enumerate(hashes) if sha not in cached]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            images = [load_rgb(paths[i]) for i in chunk]
            results = _detector().detect(images)
            new = [(hashes[i], _encode(d, central_face(d, *img.shape[:2]))) for i, img, d in zip(chunk, images, results)]
            store.put_many(DETECTOR_KEY, new)
            cached.update(new)
            if progress:
                progress(start + len(chunk), len(todo))
    rows = np.stack([cached[sha] for sha in hashes]) if hashes else np.zeros((0, 16), np.float32)
    return FileFaces(
        paths=tuple(paths),
        hashes=tuple(hashes),
        found=rows[:, 0] > 0.5,
        boxes=rows[:, 1:5].copy(),
        scores=rows[:, 5].copy(),
        landmarks=rows[:, 6:16].reshape(-1, 5, 2).copy(),
    )


def embed_image_files(
    comparator_name: str,
    paths: Sequence[Path],
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Embed the central face of every file with one comparator, cached by model and file content.

    Returns ``(embeddings (N, dim) float32, found (N,) bool)``; rows without a
    detected face are zeros and ``found`` is False there.
    """
    comparator = get_comparator(comparator_name)
    key = getattr(comparator, "cache_key", comparator.name)
    faces = detect_files(paths, cache_dir)
    embeddings = np.zeros((len(faces), comparator.dim), np.float32)
    with open_store("embeddings", cache_dir) as store:
        cached = store.get_many(key, [h for h, f in zip(faces.hashes, faces.found) if f])
        todo = [i for i in range(len(faces)) if faces.found[i] and faces.hashes[i] not in cached]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            images = [load_rgb(faces.paths[i]) for i in chunk]
            vectors = comparator.embed(images, faces.boxes[chunk], faces.landmarks[chunk])
            new = list(zip([faces.hashes[i] for i in chunk], vectors))
            store.put_many(key, new)
            cached.update(new)
            if progress:
                progress(start + len(chunk), len(todo))
    for i in np.flatnonzero(faces.found):
        embeddings[i] = cached[faces.hashes[i]]
    return embeddings, faces.found.copy()


def face_batch(images: Sequence[np.ndarray], boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray) -> FaceBatch:
    """What a quality method sees for one face per image: aligned crops plus the detector's view and the source image."""
    color = np.stack([align_face(img, lm, COLOR_SIZE) for img, lm in zip(images, landmarks)])
    gray = to_gray(np.stack([align_face(img, lm, GRAY_SIZE) for img, lm in zip(images, landmarks)]))
    return FaceBatch(
        color=color,
        gray=gray,
        boxes=np.asarray(boxes, np.float32),
        detector_scores=np.asarray(scores, np.float32),
        landmarks=np.asarray(landmarks, np.float32),
        sources=tuple(images),
    )


def _prime_comparators(store_dir: Path | None, hashes: Sequence[str], images: Sequence[np.ndarray], boxes: np.ndarray) -> None:
    """Hand the comparators already loaded here the embeddings cached for these files, so that
    recognition-based quality methods reuse them instead of running the network again."""
    loaded = list(_comparators._INSTANCES.values())
    if not loaded:
        return
    with open_store("embeddings", store_dir) as store:
        for comparator in loaded:
            cached = store.get_many(comparator.cache_key, hashes)
            for sha, image, box in zip(hashes, images, boxes):
                if sha in cached:
                    comparator.remember(image, box, cached[sha])


def probe_method(method_name: str, paths: Sequence[Path], faces: FileFaces) -> str | None:
    """Why ``method_name`` cannot score these faces at all (e.g. an untrained head), or None if it can."""
    sample = [i for i in np.flatnonzero(faces.found)[:2]]
    if not sample:
        return None
    try:
        images = [load_rgb(faces.paths[i]) for i in sample]
        batch = face_batch(images, faces.boxes[sample], faces.scores[sample], faces.landmarks[sample])
        values = np.asarray(get_quality(method_name).score(batch), np.float64)
    except Exception as error:  # noqa: BLE001 - reported, and the method is left out
        return f"{type(error).__name__}: {error}"
    return None if np.isfinite(values).any() else "returned no finite score"


def quality_cache_key(method_name: str) -> str:
    method = get_quality(method_name)
    version = getattr(method, "version", None) or getattr(method, "cache_key", None)
    return f"quality:{method_name}" + (f":{version}" if version else "")


def score_image_files(
    method_name: str,
    paths: Sequence[Path],
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    faces: FileFaces | None = None,
) -> np.ndarray:
    """Quality of the central face of every file, cached by method and file content; NaN where no face was found
    or the method failed to assess."""
    faces = faces or detect_files(paths, cache_dir)
    method = get_quality(method_name)
    key = quality_cache_key(method_name)
    out = np.full(len(faces), np.nan)
    with open_store("quality", cache_dir) as store:
        cached = store.get_many(key, [h for h, f in zip(faces.hashes, faces.found) if f])
        todo = [i for i in range(len(faces)) if faces.found[i] and faces.hashes[i] not in cached]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            images = [load_rgb(faces.paths[i]) for i in chunk]
            _prime_comparators(store_dir=cache_dir, hashes=[faces.hashes[i] for i in chunk], images=images, boxes=faces.boxes[chunk])
            batch = face_batch(images, faces.boxes[chunk], faces.scores[chunk], faces.landmarks[chunk])
            values = assess(method, batch).scores
            new = [(faces.hashes[i], np.array([v], np.float32)) for i, v in zip(chunk, values)]
            # Failures to assess are not cached: a fixed or newly trained method gets another chance.
            store.put_many(key, [(sha, value) for sha, value in new if np.isfinite(value).all()])
            cached.update(new)
            if progress:
                progress(start + len(chunk), len(todo))
    for i in np.flatnonzero(faces.found):
        out[i] = float(cached[faces.hashes[i]][0])
    return out
