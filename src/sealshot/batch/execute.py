"""Running a planned archive: every chunk in this process one after the other, or as Ray tasks, with one
progress bar on the driver (chunks done, seconds of video done, people sealed) and one report."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sealshot.batch.config import RAY_NONE, BatchConfig
from sealshot.batch.plan import ArchivePlan, ChunkSpec
from sealshot.batch.work import BatchJob, ChunkResult, process_chunk
from sealshot.errors import EXIT_PARTIAL, SealshotError, VaultError
from sealshot.report import retention_ended_warning
from sealshot.runner import StopRequest


STOPPED = "not run to its end (stopped)"


class BatchIncomplete(SealshotError):
    """Some chunks or files failed for good while the others finished; what was sealed is kept."""

    exit_code = EXIT_PARTIAL


class BatchProgress:
    """The driver's progress bar: the bar advances by seconds of video; chunks, people sealed and retries beside it."""

    def __init__(self, plan: ArchivePlan, console: Console, enabled: bool) -> None:
        self.chunks_total = len(plan.chunks)
        self.chunks_done = 0
        self.sealed = 0
        self.retried = 0
        self._progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s of video"),
            TextColumn("· {task.fields[chunks]} chunks · {task.fields[sealed]} sealed · {task.fields[retried]} retried"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._task: TaskID | None = None
        self._total_s = plan.duration_s

    def __enter__(self) -> "BatchProgress":
        self._progress.__enter__()
        self._task = self._progress.add_task("batch", total=max(self._total_s, 1e-9), chunks=self._chunks_text(), sealed=0, retried=0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def _chunks_text(self) -> str:
        return f"{self.chunks_done}/{self.chunks_total}"

    def chunk_done(self, result: ChunkResult) -> None:
        self.chunks_done += 1
        self.sealed += result.sealed
        self.retried += 1 if (result.attempts or 1) > 1 else 0
        if self._task is not None:
            self._progress.update(
                self._task, advance=result.video_seconds, chunks=self._chunks_text(), sealed=self.sealed, retried=self.retried
            )


Executor = Callable[[Sequence[ChunkSpec], BatchJob, BatchConfig, StopRequest], Iterator[ChunkResult]]
"""Runs chunks and yields each one's result as it finishes (any order)."""


def run_in_process(chunks: Sequence[ChunkSpec], job: BatchJob, config: BatchConfig, stop: StopRequest) -> Iterator[ChunkResult]:
    """One chunk after the other in this process; a signal ends the current chunk (its open tracks sealed)
    and starts no other."""
    for chunk in chunks:
        if stop:
            return
        result = process_chunk(chunk, job, stop)
        result.attempts = 1
        yield result


@dataclass
class BatchReport:
    plan: ArchivePlan
    config: BatchConfig
    results: list[ChunkResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def video_seconds(self) -> float:
        return sum(result.video_seconds for result in self.results)

    @property
    def sealed(self) -> int:
        return sum(result.sealed for result in self.results)

    @property
    def retention_ended(self) -> int:
        """People seen but not kept because their retention had already ended (not a failure)."""
        return sum(result.retention_ended for result in self.results)

    def retention_warnings(self) -> list[str]:
        """One line per file some of whose people were seen but not kept because their retention had already ended."""
        lines = []
        for plan in self.plan.files:
            results = self.results_of(plan.path)
            ended = sum(r.retention_ended for r in results)
            if ended:
                periods = [r.retention_days for r in results if r.retention_days is not None]
                lines.append(retention_ended_warning(plan.path, ended, periods, plan.started_at_utc, plan.started_at_source))
        return lines

    def results_of(self, path: str) -> list[ChunkResult]:
        return sorted((r for r in self.results if r.path == path), key=lambda r: r.chunk_index)

    def problems(self) -> list[str]:
        """One line per file that could not be planned, chunk that failed or did not run."""
        lines = [plan.error or plan.path for plan in self.plan.files if plan.error]
        done = {(result.path, result.chunk_index) for result in self.results}
        for result in sorted(self.results, key=lambda r: (r.path, r.chunk_index)):
            label = f"{Path(result.path).name} chunk {result.chunk_index + 1}/{result.chunk_count}"
            if result.error:
                lines.append(f"{label}: {result.error}")
            elif result.interrupted:
                lines.append(f"{label}: {STOPPED}")
            lines += [f"{label}: {unsealed}" for unsealed in result.unsealed]
        lines += [f"{chunk.label}: {STOPPED}" for chunk in self.plan.chunks if (chunk.path, chunk.index) not in done]
        return lines

    def failure(self) -> SealshotError | None:
        """What the command exits with: a vault failure as such (exit 4), any other problem as a partial batch
        (exit 1), naming each; None when every chunk of every file finished."""
        problems = self.problems()
        if not problems or (self.interrupted and all(line.endswith(STOPPED) for line in problems)):
            return None
        if any(result.error_kind == VaultError.__name__ for result in self.results):
            return VaultError(f"the vault failed: {'; '.join(problems)}")
        return BatchIncomplete(
            f"{len(problems)} problem(s); what was sealed is kept and running the same batch again redoes only what is missing "
            f"(sealing is idempotent): {'; '.join(problems)}"
        )

    def to_json(self) -> dict[str, Any]:
        files = []
        for plan in self.plan.files:
            results = self.results_of(plan.path)
            files.append(plan.to_json() | {"sealed": sum(r.sealed for r in results), "chunk_results": [r.to_json() for r in results]})
        return {
            "config": {
                "chunk_seconds": self.config.chunk_seconds,
                "overlap_seconds": self.config.overlap_seconds,
                "ray": self.config.ray,
                "max_retries": self.config.max_retries,
                "threads": self.config.threads,
            },
            "files": files,
            "totals": {
                "files": len(self.plan.files),
                "chunks": len(self.plan.chunks),
                "chunks_done": len(self.results),
                "chunks_failed": sum(1 for r in self.results if r.failed),
                "chunks_retried": sum(1 for r in self.results if (r.attempts or 1) > 1),
                "frames": sum(r.frames for r in self.results),
                "video_seconds": round(self.video_seconds, 3),
                "seconds": round(self.seconds, 3),
                "video_seconds_per_second": round(self.video_seconds / self.seconds, 3) if self.seconds > 0 else None,
                "sealed": self.sealed,
                "retention_ended": self.retention_ended,
                "interrupted": self.interrupted,
                "problems": self.problems(),
            },
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2))


def executor_for(config: BatchConfig) -> Executor:
    if config.ray == RAY_NONE:
        return run_in_process
    from sealshot.batch.cluster import run_on_ray

    return run_on_ray


def run_batch(
    plan: ArchivePlan,
    job: BatchJob,
    config: BatchConfig,
    *,
    console: Console | None = None,
    show_progress: bool = True,
    stop: StopRequest | None = None,
) -> BatchReport:
    """Run every chunk of ``plan`` (in this process, or on the Ray cluster ``config.ray`` names) and collect
    what each did. Failures of files and chunks are in the report (``problems``, ``failure``), not raised;
    a Ray cluster that cannot be reached or a missing ``ray`` package raise before any chunk runs."""
    console = console if console is not None else Console(stderr=True)
    stop = stop if stop is not None else StopRequest()
    report = BatchReport(plan, config)
    executor = executor_for(config)
    started = time.perf_counter()
    with BatchProgress(plan, console, show_progress) as progress:
        for result in executor(plan.chunks, job, config, stop):
            report.results.append(result)
            progress.chunk_done(result)
    report.seconds = time.perf_counter() - started
    report.interrupted = bool(stop)
    return report
