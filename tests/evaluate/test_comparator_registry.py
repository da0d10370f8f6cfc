"""The comparator registry: unknown names and missing optional packages fail with a clear message."""

from __future__ import annotations

import numpy as np
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


class _CountingComparator:
    name = "counting"
    dim = 2

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, images, boxes, landmarks):  # noqa: ANN001 - a minimal Comparator
        self.calls += len(images)
        return np.array([[float(image[0, 0, 0]), 1.0] for image in images], np.float32)


def test_memo_is_bounded_and_reuses_recent_embeddings() -> None:
    from sealshot.evaluate.comparators import MemoisedComparator

    inner = _CountingComparator()
    memo = MemoisedComparator(inner, max_entries=3)
    images = [np.full((4, 4, 3), k, np.uint8) for k in range(5)]
    boxes, landmarks = np.zeros((1, 4)), np.zeros((1, 5, 2))
    for image in images:
        memo.embed([image], boxes, landmarks)
    assert inner.calls == 5 and len(memo._memo) == 3
    assert memo.embed([images[4]], boxes, landmarks)[0, 0] == 4.0 and inner.calls == 5  # still remembered
    memo.embed([images[0]], boxes, landmarks)  # evicted earlier: embedded again
    assert inner.calls == 6
