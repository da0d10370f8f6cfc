"""Coarse data parallelism for one frame's work: a few threads, each taking whole parts of it.

PyTorch's own intra-op threads split every small convolution of MTCNN and of the quality models; at these
sizes most of that time goes to synchronisation (and the waiting threads spin). Splitting at a coarser
grain instead (P-Net's pyramid levels, R- and O-Net's candidates, the faces to score) lets each lane run
single-threaded kernels on its own part while the others do the same: PyTorch, OpenCV and NumPy release the
GIL in their kernels. Each part is computed exactly as it would be alone, so a split changes no result
where the computation of one item does not depend on the others in its batch (true of MTCNN's networks).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")


class _Worker(threading.Thread):
    """One daemon thread running the calls handed to it, one at a time."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._ready = threading.Condition()
        self._jobs: list[tuple[Callable[[], object], Future[object]]] = []
        self._closed = False

    def submit(self, call: Callable[[], R]) -> Future[R]:
        future: Future[R] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("lanes closed")
            self._jobs.append((call, future))  # type: ignore[arg-type]
            self._ready.notify()
        return future

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()

    def run(self) -> None:
        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if not self._jobs:
                    return
                call, future = self._jobs.pop(0)
            try:
                future.set_result(call())
            except BaseException as error:  # noqa: BLE001 - raised again by the caller's ``result``
                future.set_exception(error)
            # An idle worker holds no job: its tensors are freed now, on a live interpreter, not when the thread ends.
            del call, future


class Lanes:
    """``count`` lanes: the caller's thread and ``count - 1`` worker threads (daemons, started on first use)."""

    def __init__(self, count: int = 1, name: str = "sealshot-lane") -> None:
        if count < 1:
            raise ValueError("lanes: count must be at least 1")
        self.count = count
        self._name = name
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def map(self, function: Callable[[T], R], parts: Sequence[T]) -> list[R]:
        """``[function(p) for p in parts]``, the first part on this thread and the others on the workers."""
        if self.count == 1 or len(parts) < 2:
            return [function(part) for part in parts]
        workers = self._started()
        futures = [workers[k % len(workers)].submit(lambda part=part: function(part)) for k, part in enumerate(parts[1:])]
        first = function(parts[0])
        return [first] + [future.result() for future in futures]

    def close(self) -> None:
        """Stop the worker threads and wait for them to end (they are idle between ``map`` calls). A worker still
        ending when the interpreter shuts down would free its last objects after the GIL is gone for good: with a
        PyTorch tensor among them, the process aborts ("terminate called without an active exception", exit 134)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
        for worker in workers:
            worker.join()

    def _started(self) -> list[_Worker]:
        with self._lock:
            if not self._workers:
                self._workers = [_Worker(f"{self._name}-{k + 1}") for k in range(self.count - 1)]
                for worker in self._workers:
                    worker.start()
            return self._workers


def split_evenly(count: int, parts: int) -> list[np.ndarray]:
    """Indices ``0 .. count-1`` in at most ``parts`` contiguous, nearly equal, non-empty chunks."""
    if count == 0:
        return []
    return [chunk for chunk in np.array_split(np.arange(count), min(parts, count)) if len(chunk)]


def split_by_weight(weights: Sequence[float], parts: int) -> list[list[int]]:
    """Indices of ``weights`` in at most ``parts`` groups of nearly equal total weight (largest first, each to
    the lightest group), each group in ascending order; the heaviest group comes first."""
    groups: list[list[int]] = [[] for _ in range(min(parts, len(weights)))]
    totals = [0.0] * len(groups)
    for index in sorted(range(len(weights)), key=lambda i: -weights[i]):
        lightest = totals.index(min(totals))
        groups[lightest].append(index)
        totals[lightest] += weights[index]
    order = sorted(range(len(groups)), key=lambda g: -totals[g])
    return [sorted(groups[g]) for g in order if groups[g]]
