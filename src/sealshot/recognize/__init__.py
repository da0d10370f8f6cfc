"""Face recognition models (comparators) behind one ``Comparator`` protocol, and a caller-owned embedding memo.

Production code (recognition-based quality) and the benchmark both use them;
this package sits above ``detect`` and below ``quality``. Importing it needs no
optional dependency; asking for a comparator whose packages are missing raises
``ComparatorUnavailable`` naming ``pip install -e .[evaluate]``.
"""

from sealshot.recognize.base import Comparator
from sealshot.recognize.memo import EmbeddingMemo
from sealshot.recognize.registry import (
    COMPARATOR_SPECS,
    DEFAULT_COMPARATORS,
    INSTALL_HINT,
    ComparatorSpec,
    ComparatorUnavailable,
    UnknownComparator,
    available_comparators,
    cache_key,
    get_comparator,
    installed_comparators,
)

__all__ = [
    "COMPARATOR_SPECS",
    "DEFAULT_COMPARATORS",
    "INSTALL_HINT",
    "Comparator",
    "ComparatorSpec",
    "ComparatorUnavailable",
    "EmbeddingMemo",
    "UnknownComparator",
    "available_comparators",
    "cache_key",
    "get_comparator",
    "installed_comparators",
]
