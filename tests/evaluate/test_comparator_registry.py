"""The comparator registry: unknown names and missing optional packages fail with a clear message."""

from __future__ import annotations

import numpy as np
import pytest

from sealshot import recognize
from sealshot.errors import InputError, ModelError


def test_unknown_comparator_lists_the_known_ones() -> None:
    with pytest.raises(recognize.UnknownComparator, match="facenet, dlib") as raised:
        recognize.get_comparator("arcface")
    assert isinstance(raised.value, InputError)


def test_missing_package_names_the_evaluate_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A registry entry whose package is not installed behaves like FaceNet/dlib without the extra.
    spec = recognize.ComparatorSpec("sealshot.nowhere", "Nothing", ("sealshot_no_such_package",))
    monkeypatch.setitem(recognize.COMPARATOR_SPECS, "absent", spec)
    assert "absent" not in recognize.installed_comparators()
    with pytest.raises(recognize.ComparatorUnavailable, match=r"pip install -e \.\[evaluate\]") as raised:
        recognize.get_comparator("absent")
    assert isinstance(raised.value, ModelError)


class _CountingComparator:
    name = "counting"
    dim = 2

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, images, boxes, landmarks):  # noqa: ANN001 - a minimal Comparator
        self.calls += len(images)
        return np.array([[float(image[0, 0, 0]), 1.0] for image in images], np.float32)


def test_memo_is_bounded_and_reuses_recent_embeddings() -> None:
    comparator = _CountingComparator()
    memo = recognize.EmbeddingMemo(max_entries=3)
    images = [np.full((4, 4, 3), k, np.uint8) for k in range(5)]
    boxes, landmarks = np.zeros((1, 4)), np.zeros((1, 5, 2))
    for image in images:
        memo.embed(comparator, [image], boxes, landmarks)
    assert comparator.calls == 5 and len(memo) == 3
    assert memo.embed(comparator, [images[4]], boxes, landmarks)[0, 0] == 4.0 and comparator.calls == 5  # still remembered
    memo.embed(comparator, [images[0]], boxes, landmarks)  # evicted earlier: embedded again
    assert comparator.calls == 6


def test_memo_returns_what_it_was_given_without_running_the_network() -> None:
    comparator = _CountingComparator()
    memo = recognize.EmbeddingMemo()
    image, box = np.full((4, 4, 3), 7, np.uint8), np.array([0.0, 0.0, 4.0, 4.0])
    memo.remember(comparator, image, box, np.array([0.6, 0.8], np.float32))
    assert memo.embed(comparator, [image], box[None], np.zeros((1, 5, 2))).tolist() == [[np.float32(0.6), np.float32(0.8)]]
    assert comparator.calls == 0
