"""Chunks as Ray tasks: one task per chunk, retried when its worker process or node dies.

A task receives a ``ChunkSpec`` (file name and frame numbers) and the ``BatchJob`` settings, decodes its
frames itself from the file (which every node must see at the same path) and returns a ``ChunkResult``:
no frame ever enters Ray's object store. Its snapshots are keyed by source, chunk and track, so a
retried task seals nothing twice. Every node needs sealshot installed (``pip install 'sealshot[scale]'``)
and must reach the vault and the key files.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import Any, Iterator, Sequence

from sealshot.batch.attempts import AttemptLedger
from sealshot.batch.config import BatchConfig
from sealshot.batch.plan import ChunkSpec
from sealshot.batch.work import BatchJob, ChunkResult, process_chunk
from sealshot.errors import InputError, ModelError
from sealshot.runner import StopRequest

TASK_NAME = "sealshot_batch_chunk"
"""Ray names a worker process after the task it runs (``ray::sealshot_batch_chunk``)."""
WAIT_S = 0.5
"""How often the driver looks at a stop request and the progress while no task finishes."""


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as error:
        raise ModelError("--ray needs the 'ray' package (pip install 'sealshot[scale]'); --ray none runs in this process") from error
    return ray


def sealshot_batch_chunk(chunk: ChunkSpec, job: BatchJob, ledger: Any) -> ChunkResult:
    """The Ray task: count this attempt, then do the chunk's work."""
    import ray

    try:
        attempt: int | None = ray.get(ledger.begin.remote(chunk.key))
    except ray.exceptions.RayError:
        attempt = None  # the count is a report, not a condition of the work
    result = process_chunk(chunk, job)
    result.attempts = attempt
    return result


def connect(ray: ModuleType, address: str, threads: int) -> bool:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to) unless this process already
    has; True when it joined here (and so leaves it afterwards)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address,
            logging_level=logging.WARNING,
            log_to_driver=False,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": str(threads)}},
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise InputError(f"--ray {address}: cannot join a Ray cluster there ({error})") from error
    return True


def run_on_ray(chunks: Sequence[ChunkSpec], job: BatchJob, config: BatchConfig, stop: StopRequest) -> Iterator[ChunkResult]:
    """Submit every chunk at once and yield each result as it comes. A chunk whose task failed for good (its
    worker died more than ``max_retries`` times, or it raised) comes back as a failed result; on a stop
    request the tasks not finished are cancelled (what they sealed is kept)."""
    ray = import_ray()
    joined_here = connect(ray, config.ray, job.threads)
    pending: dict[Any, ChunkSpec] = {}
    try:
        ledger = ray.remote(num_cpus=0)(AttemptLedger).remote()
        task = ray.remote(sealshot_batch_chunk).options(num_cpus=job.threads, max_retries=config.max_retries, retry_exceptions=False)
        shared_job = ray.put(job)
        pending = {task.remote(chunk, shared_job, ledger): chunk for chunk in chunks}
        while pending and not stop:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
            for ref in done:
                yield collect(ray, ref, pending.pop(ref), ledger)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if joined_here:
            ray.shutdown()


def collect(ray: ModuleType, ref: Any, chunk: ChunkSpec, ledger: Any) -> ChunkResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:
        try:
            attempts: int | None = ray.get(ledger.attempts_of.remote(chunk.key))
        except ray.exceptions.RayError:
            attempts = None
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return ChunkResult.for_chunk(
            chunk, error=f"failed after {attempts or '?'} attempt(s): {type(error).__name__}: {cause}", error_kind=type(error).__name__, attempts=attempts
        )
