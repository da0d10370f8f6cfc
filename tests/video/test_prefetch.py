from __future__ import annotations

import threading
from typing import Iterator

import pytest

from sealshot.video.prefetch import prefetch


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sealshot-decode" and t.is_alive()]


def test_order_is_kept() -> None:
    assert list(prefetch(range(100), depth=3)) == list(range(100))
    assert _decode_threads() == []


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
    produced: list[int] = []

    def items() -> Iterator[int]:
        for k in range(10_000):
            produced.append(k)
            yield k

    depth = 2
    for item in prefetch(items(), depth=depth):
        if item == 5:
            break
    # Closing the generator stops and joins the thread, which had read at most ``depth`` (+ one in hand) ahead.
    assert _decode_threads() == []
    assert 6 <= len(produced) <= 6 + depth + 2
