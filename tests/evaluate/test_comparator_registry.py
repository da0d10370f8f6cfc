"""The comparator registry: unknown names and missing optional packages fail with a clear message."""

from __future__ import annotations

import pytest

from sealshot.evaluate import comparators


def test_unknown_comparator_lists_the_known_ones() -> None:
    with pytest.raises(comparators.UnknownComparator, match="facenet, dlib"):
        comparators.get_comparator("arcface")


def test_missing_package_names_the_evaluate_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A registry entry whose package is not installed behaves like FaceNet/dlib without the extra.
    monkeypatch.setitem(comparators._REGISTRY, "absent", ("sealshot.nowhere", "Nothing", ("sealshot_no_such_package",)))
    assert "absent" not in comparators.installed_comparators()
    with pytest.raises(comparators.ComparatorUnavailable, match=r"pip install -e \.\[evaluate\]"):
        comparators.get_comparator("absent")
