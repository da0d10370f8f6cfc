"""``sealshot batch --ray`` on a real local Ray cluster (a head and a worker node, separate processes): a worker
process is killed with SIGKILL mid-job, Ray runs its chunk again, and every person is still sealed exactly once."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from sealshot.batch.cluster import TASK_NAME
from sealshot.batch.config import BatchConfig
from sealshot.batch.execute import run_batch
from sealshot.batch.plan import plan_archive
from sealshot.batch.work import BatchJob
from sealshot.vault.store import Vault
from sealshot.vault.verify import verify_vault
from tests.batch.conftest import PIPELINE, QUALITY

RUNNING_BEFORE_KILL_S = 2.0
"""How long a task has run (its models loaded, frames processed, perhaps some sealed) when it is killed."""


class WorkerKiller(threading.Thread):
    """Kills the first worker process seen running a chunk for ``RUNNING_BEFORE_KILL_S`` seconds, once."""

    def __init__(self, cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.killed: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        first_seen: dict[int, float] = {}
        while not self.done.is_set() and self.killed is None:
            now = time.monotonic()
            for pid in self.cluster.task_processes(TASK_NAME):
                if now - first_seen.setdefault(pid, now) >= RUNNING_BEFORE_KILL_S:
                    os.kill(pid, signal.SIGKILL)
                    self.killed = pid
                    break
            time.sleep(0.1)


@pytest.fixture(params=["folder", "postgresql+s3"])
def shared_vault(request, tmp_path: Path) -> str:
    """Where the cluster seals: a folder (one machine) or PostgreSQL + S3 (what a real cluster shares)."""
    if request.param == "folder":
        return str(tmp_path / "ray")
    return request.getfixturevalue("remote_vault")


def _rows(vault: Path | str) -> list[tuple[str, str, int]]:
    with Vault.open(vault) as opened:
        return [(row.snapshot_id, row.camera_id, row.frame_index) for row in opened.rows()]


def test_a_killed_worker_is_retried_and_everyone_is_sealed_once(
    ray_cluster, archive: list[Path], recipient: Path, tmp_path: Path, shared_vault: str
) -> None:
    config = BatchConfig(chunk_seconds=2.2, overlap_seconds=0.8, ray=ray_cluster.address, max_retries=3)
    plan = plan_archive([str(path) for path in archive], config, align=PIPELINE.detect_every)
    assert len(plan.chunks) >= 4
    here = BatchJob(vault=str(tmp_path / "in-process"), recipient=str(recipient), pipeline=PIPELINE, quality=QUALITY)
    expected = run_batch(plan, here, dataclasses.replace(config, ray="none"), show_progress=False)

    killer = WorkerKiller(ray_cluster)
    killer.start()
    try:
        on_ray = run_batch(plan, dataclasses.replace(here, vault=shared_vault), config, show_progress=False)
    finally:
        killer.done.set()
        killer.join()

    assert killer.killed is not None, "no chunk ran long enough to be killed"
    assert on_ray.failure() is None, on_ray.problems()
    retried = [r for r in on_ray.results if (r.attempts or 1) > 1]
    assert retried and all(r.pid != killer.killed for r in retried)  # finished by another worker process
    # Every person exactly once: the same snapshots as in this process (ids are keyed by source, chunk and track),
    # and the vault holds each once however many attempts sealed into it.
    def people(report) -> list[tuple[str, int, str]]:
        return sorted((r.camera_id, s["first_frame"], s["snapshot_id"]) for r in report.results for s in r.snapshots)

    assert people(on_ray) == people(expected) and len(people(on_ray)) >= 10
    rows = _rows(shared_vault)
    assert sorted(row[0] for row in rows) == sorted(p[2] for p in people(on_ray))
    assert sorted(rows) == sorted(_rows(tmp_path / "in-process"))
    verified = verify_vault(shared_vault)
    assert verified.ok, verified.problems
