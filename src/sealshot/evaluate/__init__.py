"""Judging quality methods with real face recognition: comparators, LFW protocols, ERC and selection gain.

Importing this package needs no optional dependency; asking for a comparator
whose packages are missing raises ``ComparatorUnavailable`` naming
``pip install -e .[evaluate]``.
"""

from sealshot.evaluate.comparators import (
    Comparator,
    ComparatorUnavailable,
    available_comparators,
    get_comparator,
    installed_comparators,
)

__all__ = ["Comparator", "ComparatorUnavailable", "available_comparators", "get_comparator", "installed_comparators"]
