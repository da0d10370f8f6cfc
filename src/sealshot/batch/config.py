"""Settings of ``sealshot batch``: each default is stated here once and read by the command's options."""

from __future__ import annotations

from dataclasses import dataclass

RAY_NONE = "none"
"""``--ray none``: the chunks run one after the other in this process."""
RAY_AUTO = "auto"
"""``--ray auto``: the Ray cluster this machine belongs to (``RAY_ADDRESS``, else the one started here with ``ray start``)."""


@dataclass(frozen=True)
class BatchConfig:
    chunk_seconds: float = 300.0
    """Files longer than this are cut into chunks of at most this many seconds, processed as separate tasks."""
    overlap_seconds: float = 10.0
    """Each chunk also reads this much before its start (warm-up: people already there are recognised as
    another chunk's) and after its end (it follows its own people on, so a track crossing the edge is sealed
    once, by the chunk it started in). Should exceed the time a person takes to be detected and tracked."""
    ray: str = RAY_NONE
    """``none``, ``auto`` or a cluster address (``HOST:PORT`` or ``ray://HOST:PORT``)."""
    max_retries: int = 3
    """How often Ray reruns a chunk whose worker process or node died; a rerun seals nothing twice."""
    threads: int = 1
    """PyTorch and OpenCV threads per chunk task (a cluster gets its parallelism from many tasks)."""
