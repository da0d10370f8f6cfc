from __future__ import annotations

from typing import Iterator

import pytest

from sealshot.video.prefetch import prefetch


def test_order_is_kept() -> None:
    assert list(prefetch(range(100), depth=3)) == list(range(100))


def test_errors_reach_the_consumer_after_the_good_items() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken at 3")

    seen = []
    with pytest.raises(ValueError, match="broken at 3"):
        for item in prefetch(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_releases_the_producer() -> None:
    for item in prefetch(iter(range(10_000)), depth=2):
        if item == 5:
            break
