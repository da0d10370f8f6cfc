"""An in-memory memo of embeddings, owned by whoever wants faces embedded once.

Recognition-based quality methods embed the same faces the benchmark already
embedded; the benchmark fills a memo from its disk cache and lends it to them,
so that the network does not run twice. Nothing here is global: a memo lives as
long as its owner keeps it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Sequence

import numpy as np

from sealshot.recognize.base import Comparator
from sealshot.recognize.registry import cache_key

MemoKey = tuple[str, str, tuple[int, ...]]


class EmbeddingMemo:
    """Embeddings by (comparator, image content, face box), the least recently used dropped beyond ``max_entries``."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[MemoKey, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(comparator: Comparator, image: np.ndarray, box: np.ndarray) -> MemoKey:
        digest = hashlib.sha1(np.ascontiguousarray(image).data).hexdigest() + str(image.shape)
        return cache_key(comparator), digest, tuple(int(round(float(v) * 8)) for v in np.asarray(box)[:4])

    def remember(self, comparator: Comparator, image: np.ndarray, box: np.ndarray, embedding: np.ndarray) -> None:
        self._store(self.key(comparator, image, box), np.asarray(embedding, np.float32))

    def embed(self, comparator: Comparator, images: Sequence[np.ndarray], boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """``comparator.embed``, running the network only for faces not remembered yet."""
        boxes, landmarks = np.asarray(boxes), np.asarray(landmarks)
        keys = [self.key(comparator, image, box) for image, box in zip(images, boxes)]
        out = np.zeros((len(keys), comparator.dim), np.float32)
        todo = []
        for row, key in enumerate(keys):
            if key in self._entries:
                self._entries.move_to_end(key)
                out[row] = self._entries[key]
            else:
                todo.append(row)
        if todo:
            fresh = comparator.embed([images[i] for i in todo], boxes[todo], landmarks[todo])
            for row, vector in zip(todo, fresh):
                out[row] = vector
                self._store(keys[row], vector)
        return out

    def clear(self) -> None:
        self._entries.clear()

    def _store(self, key: MemoKey, embedding: np.ndarray) -> None:
        self._entries[key] = embedding
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
