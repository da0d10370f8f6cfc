"""One face per image file: MTCNN detection, embeddings and quality scores, all cached by file content.

Benchmark images (LFW, CelebA) hold one subject each, so each file yields the
face ``FacePolicy.CENTRAL`` picks (davidsandberg/facenet's aligner's choice).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Sequence

import numpy as np

from sealshot.detect import Detections, FaceBatch, MTCNNConfig
from sealshot.detect.mtcnn import MTCNNDetector
from sealshot.detect.stills import FacePolicy, choose_face, faces_of_images, load_rgb
from sealshot.errors import ModelError
from sealshot.evaluate.cache import file_hashes, open_store
from sealshot.quality import Assessment, FailureReason, QualityMethod, assess, get_quality
from sealshot.quality.recognition import RecognitionQuality
from sealshot.recognize import EmbeddingMemo, cache_key, get_comparator

DETECTOR = MTCNNConfig()


def detector_key(config: MTCNNConfig) -> str:
    """The cache key of detections made with ``config``: every setting that changes what is found is in it,
    so that a change of default (``detect_max_side`` became 960) never reuses detections made otherwise."""
    thresholds = "-".join(f"{t:g}" for t in config.thresholds)
    return (
        f"mtcnn-min{config.min_face_size:g}-t{thresholds}-s{config.scale_factor:g}"
        f"-max{config.detect_max_side}-cap{config.largest_side}-central-v1"
    )


DETECTOR_KEY = detector_key(DETECTOR)
CHUNK = 32

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class FileFaces:
    """The chosen face of each of N files; rows where ``found`` is False hold zeros."""

    paths: tuple[Path, ...]
    hashes: tuple[str, ...]
    found: np.ndarray  # (N,) bool
    chosen: Detections  # one row per file

    def __len__(self) -> int:
        return len(self.paths)

    def batch(self, rows: Sequence[int], images: Sequence[np.ndarray]) -> FaceBatch:
        """What a quality method sees of the chosen faces of ``rows``, whose images are ``images``."""
        return faces_of_images(images, [self.chosen[int(i)] for i in rows])


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
        detector: MTCNNDetector | None = None  # loaded only when something is left to detect
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            images = [load_rgb(paths[i]) for i in chunk]
            detector = detector or MTCNNDetector(DETECTOR)
            results = detector.detect(images)
            new = [(hashes[i], _encode(d, choose_face(d, img.shape, FacePolicy.CENTRAL))) for i, img, d in zip(chunk, images, results)]
            store.put_many(DETECTOR_KEY, new)
            cached.update(new)
            if progress:
                progress(start + len(chunk), len(todo))
    rows = np.stack([cached[sha] for sha in hashes]) if hashes else np.zeros((0, 16), np.float32)
    return FileFaces(
        paths=tuple(paths),
        hashes=tuple(hashes),
        found=rows[:, 0] > 0.5,
        chosen=Detections(rows[:, 1:5].copy(), rows[:, 5].copy(), rows[:, 6:16].reshape(-1, 5, 2).copy()),
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
    key = cache_key(comparator)
    faces = detect_files(paths, cache_dir)
    embeddings = np.zeros((len(faces), comparator.dim), np.float32)
    with open_store("embeddings", cache_dir) as store:
        cached = store.get_many(key, [h for h, f in zip(faces.hashes, faces.found) if f])
        todo = [i for i in range(len(faces)) if faces.found[i] and faces.hashes[i] not in cached]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            images = [load_rgb(faces.paths[i]) for i in chunk]
            vectors = comparator.embed(images, faces.chosen.boxes[chunk], faces.chosen.landmarks[chunk])
            new = list(zip([faces.hashes[i] for i in chunk], vectors))
            store.put_many(key, new)
            cached.update(new)
            if progress:
                progress(start + len(chunk), len(todo))
    for i in np.flatnonzero(faces.found):
        embeddings[i] = cached[faces.hashes[i]]
    return embeddings, faces.found.copy()


def _cached_embeddings(
    comparator_name: str, store_dir: Path | None, faces: FileFaces, rows: Sequence[int], images: Sequence[np.ndarray]
) -> EmbeddingMemo:
    """A memo holding the embeddings cached on disk for these files, so that a recognition-based
    quality method reuses them instead of running the network again (empty if the comparator is unavailable)."""
    memo = EmbeddingMemo()
    try:
        comparator = get_comparator(comparator_name)
    except ModelError:
        return memo  # the method will report it as a failure to assess
    hashes = [faces.hashes[i] for i in rows]
    with open_store("embeddings", store_dir) as store:
        cached = store.get_many(cache_key(comparator), hashes)
    for sha, image, row in zip(hashes, images, rows):
        if sha in cached:
            memo.remember(comparator, image, faces.chosen.boxes[row], cached[sha])
    return memo


def probe_method(method_name: str, paths: Sequence[Path], faces: FileFaces) -> str | None:
    """Why ``method_name`` cannot score these faces at all (e.g. an untrained head), or None if it can."""
    sample = [i for i in np.flatnonzero(faces.found)[:2]]
    if not sample:
        return None
    try:
        batch = faces.batch(sample, [load_rgb(faces.paths[i]) for i in sample])
        values = np.asarray(get_quality(method_name).score(batch), np.float64)
    except Exception as error:  # noqa: BLE001 - reported, and the method is left out
        return f"{type(error).__name__}: {error}"
    return None if np.isfinite(values).any() else "returned no finite score"


def quality_cache_key(method_name: str) -> str:
    method = get_quality(method_name)
    version = getattr(method, "version", None) or getattr(method, "cache_key", None)
    return f"quality:{method_name}" + (f":{version}" if version else "")


def assess_sharing(method: QualityMethod, batch: FaceBatch, memo_for: Callable[[str], EmbeddingMemo | None]) -> Assessment:
    """``assess``, letting a recognition-based method reuse the embeddings its caller already has:
    ``memo_for(comparator name)`` gives them (or None, when it has none for that comparator)."""
    memo = memo_for(method.comparator_name) if isinstance(method, RecognitionQuality) else None
    sharing: ContextManager[object] = method.sharing_embeddings(memo) if memo is not None else nullcontext()  # type: ignore[union-attr]
    with sharing:
        return assess(method, batch)


def score_image_files(
    method_name: str,
    paths: Sequence[Path],
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    faces: FileFaces | None = None,
) -> Assessment:
    """Quality of the central face of every file, cached by method and file content.

    A file without a score (NaN) has its reason: ``no_face`` where none was found, else why the
    method failed to assess it. Failures are not cached: a fixed or newly trained method gets another chance.
    """
    faces = faces or detect_files(paths, cache_dir)
    method = get_quality(method_name)
    key = quality_cache_key(method_name)
    scores = np.full(len(faces), np.nan)
    reasons: list[FailureReason | None] = [None if found else FailureReason.NO_FACE for found in faces.found]
    with open_store("quality", cache_dir) as store:
        cached = store.get_many(key, [h for h, f in zip(faces.hashes, faces.found) if f])
        todo = [i for i in range(len(faces)) if faces.found[i] and faces.hashes[i] not in cached]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            images = [load_rgb(faces.paths[i]) for i in chunk]
            batch = faces.batch(chunk, images)
            assessment = assess_sharing(method, batch, lambda name: _cached_embeddings(name, cache_dir, faces, chunk, images))
            for i, value, reason in zip(chunk, assessment.scores, assessment.reasons):
                # Scores are stored as float32; a fresh one is rounded alike so that a re-run gives the same result.
                scores[i], reasons[i] = float(np.float32(value)), reason
            store.put_many(key, [(faces.hashes[i], np.array([v], np.float32)) for i, v in zip(chunk, assessment.scores) if np.isfinite(v)])
            if progress:
                progress(start + len(chunk), len(todo))
    for i in np.flatnonzero(faces.found):
        if faces.hashes[i] in cached:
            scores[i] = float(cached[faces.hashes[i]][0])
    return Assessment(scores, tuple(reasons))
