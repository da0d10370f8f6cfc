"""``LiveStream`` on its own: a stream served faster than it is consumed keeps only the newest frame."""

from __future__ import annotations

import time
from typing import Callable

from sealshot.video.live import Backoff, LiveStream
from tests.serve.conftest import LiveServer, free_port


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4.0, factor=2.0, jitter=0.25)
    for attempt, base in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(0.75 * base <= d <= 1.25 * base for d in delays)
        assert len(set(delays)) > 1  # jittered: cameras do not retry in step


def test_a_fast_stream_is_consumed_newest_first_with_drops_counted(live_server: Callable[..., LiveServer]) -> None:
    server = live_server(rate=8.0)
    stream = LiveStream(server.url, backoff=Backoff(initial_s=0.1, max_s=0.5)).start()
    try:
        taken = []
        deadline = time.monotonic() + 20
        while len(taken) < 15 and time.monotonic() < deadline:
            frame = stream.next_frame(timeout_s=0.5)
            if frame is None:
                continue
            taken.append(frame)
            time.sleep(0.15)  # a slow pipeline
        assert len(taken) == 15
        behind = time.monotonic() - taken[-1].arrived_at  # type: ignore[operator]
        assert behind < 0.5
        assert stream.counters.frames_dropped > 3 * len(taken)
        assert [f.timestamp for f in taken] == sorted(f.timestamp for f in taken)
        assert taken[-1].index - taken[0].index > 3 * len(taken)
    finally:
        stream.stop()


def test_a_refused_connection_is_retried_and_counted() -> None:
    stream = LiveStream(f"tcp://127.0.0.1:{free_port()}", backoff=Backoff(initial_s=0.05, max_s=0.2)).start()
    try:
        assert stream.next_frame(timeout_s=1.5) is None
        assert stream.counters.failed_attempts >= 2 and "cannot connect" in (stream.counters.last_error or "")
        assert not stream.connected and stream.down_for() > 1.0
    finally:
        stream.stop()
