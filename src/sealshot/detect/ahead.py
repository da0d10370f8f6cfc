"""Full detections of frames not processed yet, on a thread of their own.

A full detection depends on nothing but its frame's pixels, so it can start as soon as the frame is decoded,
while the frames before it are still being refined, aligned and scored on the caller's thread: the second core
then works on the next full detection instead of waiting for a frame's few small jobs. The results are the same
as a detection run at the moment it is needed.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from sealshot.detect.lanes import Lanes
from sealshot.detect.types import Detections, FaceDetector

THREAD_NAME = "sealshot-detect-ahead"


class DetectionsAhead:
    """Full detections started ahead of time, keyed by a number the caller chooses (the frame's position).

    One thread runs them in the order they were started, each on one lane (PyTorch single-threaded there).
    """

    def __init__(self, detector: FaceDetector) -> None:
        self._detector = detector.on_lanes(Lanes(1))
        self._executor: ThreadPoolExecutor | None = None
        self._started: dict[int, Future[Detections]] = {}

    def start(self, key: int, image: np.ndarray) -> None:
        """Begin the full detection of ``image`` (once per key)."""
        if key in self._started:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME)
        self._started[key] = self._executor.submit(lambda: self._detector.detect([image])[0])

    def is_started(self, key: int) -> bool:
        return key in self._started

    def take(self, key: int) -> Detections | None:
        """The detections started under ``key`` (waiting for them if need be), or None if none were; every
        detection started under an earlier key is dropped (its frame was passed without needing it)."""
        for earlier in [k for k in self._started if k < key]:
            self._started.pop(earlier).cancel()
        started = self._started.pop(key, None)
        return None if started is None else started.result()

    def close(self) -> None:
        """Drop what was started and stop the thread (a running detection finishes in the background)."""
        for started in self._started.values():
            started.cancel()
        self._started.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
