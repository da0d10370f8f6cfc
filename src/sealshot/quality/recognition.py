"""Shared plumbing of the recognition-based quality methods (SER-FIQ, EQFace, PFE, DUL).

Each of them is a small head on top of a FROZEN comparator embedding
(``sealshot.recognize``: FaceNet 512-d or dlib 128-d). A method
embeds the faces with its comparator, then scores the embeddings with its head.

The comparator is loaded lazily, at the first ``score`` call, so that the
quality registry can list these methods without the ``evaluate`` extra;
without it, scoring raises ``ComparatorUnavailable`` and ``assess`` reports
"failure to assess" (``model_unavailable``).
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from sealshot.detect.align import template
from sealshot.errors import ModelError, loading_model
from sealshot.quality.base import FaceBatch
from sealshot.recognize import Comparator, EmbeddingMemo, UnknownComparator, get_comparator

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
COMPARATORS = ("facenet", "dlib")
"""The comparators the heads were trained on (one shipped weight file per method and comparator)."""


class HeadUnavailable(ModelError):
    """A recognition-based method's trained head (its weight file) is missing."""


def weights_path(method: str, comparator: str) -> Path:
    """Where the shipped head of ``method`` on ``comparator`` lives."""
    return WEIGHTS_DIR / f"{method}-{comparator}.pt"


def save_head(path: Path, config: dict[str, Any], state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write a head as plain tensors and primitives, loadable with ``weights_only=True``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().to(torch.float32).contiguous().clone() for key, value in state_dict.items()}
    torch.save({"config": config, "state_dict": state, "meta": meta}, path)


def load_head(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise HeadUnavailable(f"no trained head at {path}; run `sealshot train head` to create it")
    with loading_model("The head", path, "run `sealshot train head` to create it again"):
        return torch.load(path, map_location="cpu", weights_only=True)


def comparator_inputs(faces: FaceBatch) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Images, boxes and landmarks for ``Comparator.embed``.

    With ``faces.sources`` (the full frames), the comparator does its own
    preprocessing from the detector's box and landmarks. Without them, the
    aligned 112×112 colour crops stand in for the frames: their landmarks are
    the canonical template and their box covers the whole crop. That loses
    the context outside the crop (FaceNet's margin), so scores are close to,
    not identical with, the scores on full frames.
    """
    if len(faces.sources) == len(faces) and len(faces) > 0:
        return list(faces.sources), np.asarray(faces.boxes, np.float32), np.asarray(faces.landmarks, np.float32)
    size = faces.color.shape[1]
    landmarks = np.repeat(template(size)[None].astype(np.float32), len(faces), axis=0)
    boxes = np.tile(np.array([0, 0, size, size], np.float32), (len(faces), 1))
    return list(faces.color), boxes, landmarks


class RecognitionQuality:
    """A quality head on a frozen comparator embedding; subclasses implement ``score_embeddings``."""

    method: str = ""
    head_class: type[torch.nn.Module]  # built from the saved ``config`` keyword arguments

    def __init__(self, comparator: str, weights: Path | None = None) -> None:
        if comparator not in COMPARATORS:
            raise UnknownComparator(comparator)
        self.comparator_name = comparator
        self.name = f"{self.method}-{comparator}"
        self._weights = weights or weights_path(self.method, comparator)
        self._comparator: Comparator | None = None
        self._head: torch.nn.Module | None = None
        self._memo: EmbeddingMemo | None = None

    @property
    def version(self) -> str:
        """Short content hash of the head's weight file, so that caches of scores follow retraining."""
        return hashlib.sha256(self._weights.read_bytes()).hexdigest()[:12] if self._weights.is_file() else "untrained"

    @property
    def head(self) -> torch.nn.Module:
        if self._head is None:
            self._head = self.build_head(load_head(self._weights))
            self._head.eval()
        return self._head

    @property
    def comparator(self) -> Comparator:
        if self._comparator is None:
            self._comparator = get_comparator(self.comparator_name)
        return self._comparator

    @contextmanager
    def sharing_embeddings(self, memo: EmbeddingMemo) -> Iterator[None]:
        """Within the block, embed through ``memo`` (owned by the caller), which may already hold these faces."""
        previous, self._memo = self._memo, memo
        try:
            yield
        finally:
            self._memo = previous

    def build_head(self, saved: dict[str, Any]) -> torch.nn.Module:
        head = self.head_class(**saved["config"])
        head.load_state_dict(saved["state_dict"])
        return head

    def embed(self, faces: FaceBatch) -> np.ndarray:
        images, boxes, landmarks = comparator_inputs(faces)
        if self._memo is not None:
            return self._memo.embed(self.comparator, images, boxes, landmarks)
        return np.asarray(self.comparator.embed(images, boxes, landmarks), np.float32)

    def score(self, faces: FaceBatch) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros(0, np.float64)
        return self.score_embeddings(self.embed(faces))

    def score_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """One quality per row of ``(N, dim)`` L2-normalised comparator embeddings, higher is better."""
        raise NotImplementedError
