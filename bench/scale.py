"""Scaling out: how fast an archive is processed on a local Ray cluster, against the single-process ``run``.

``--part ray``: in one run, on the same archive (``--files`` clips of ``--seconds`` seconds, made with ffmpeg
by looping the bundled sample clip, scaled to ``--height`` lines), each sealing into a real folder vault:

* **run**: ``sealshot.runner.run_sources`` over the files, one after the other, in this process (the reference);
* **batch, in-process**: ``sealshot batch --ray none``: the same chunks as on Ray, one after the other here;
* **Ray, 1 worker** and **Ray, 2 workers**: a local cluster (``tests/ray_cluster.py``: a head without CPUs and
  1 or 2 worker nodes of 1 CPU each, separate processes), one task per chunk.

Each row gives archive seconds processed per wall-clock second (job time: from submitting to the last
result, worker start-up and model loading included, cluster start-up not) and its ratio to ``run`` in the
same run. Every configuration runs with one PyTorch thread per process. On a 2-core machine two workers
cannot be faster than about 2x, and the driver and Ray's own processes share those cores.

Run: ``python bench/scale.py --part ray [--files 3 --seconds 20 --height 540 --chunk-seconds 10]``.
Results: ``bench/results/scale.json`` and ``bench/results/scale.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch  # noqa: E402

from sealshot.batch.config import RAY_NONE, BatchConfig  # noqa: E402
from sealshot.batch.execute import run_batch  # noqa: E402
from sealshot.batch.plan import plan_archive  # noqa: E402
from sealshot.batch.work import BatchJob  # noqa: E402
from sealshot.config import PipelineConfig, RunConfig  # noqa: E402
from sealshot.quality import DEFAULT_METHOD, get_quality  # noqa: E402
from sealshot.runner import run_sources, vault_sinks  # noqa: E402
from sealshot.vault.keys import AuthorityPrivateKey  # noqa: E402
from sealshot.video.samples import sample_clip  # noqa: E402
from tests.ray_cluster import RayCluster  # noqa: E402

RESULTS = REPO / "bench" / "results"


def make_archive(folder: Path, files: int, seconds: float, height: int) -> list[Path]:
    """``files`` clips of ``seconds`` s: the sample looped, each starting at another point of it (distinct files)."""
    made = []
    for index in range(files):
        out = folder / f"archive-{index + 1}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-ss", f"{index * 1.3:.1f}", "-i", str(sample_clip()), "-t", f"{seconds}",
             "-an", "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "50",
             "-metadata", f"creation_time=2026-01-15T{10 + index:02d}:00:00Z", str(out)],
            check=True,
        )  # fmt: skip
        made.append(out)
    return made


def measure(name: str, archive_s: float, work: Callable[[], int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    sealed = work()
    wall = time.perf_counter() - started
    row = {"name": name, "archive_s": round(archive_s, 2), "wall_s": round(wall, 2), "archive_s_per_s": round(archive_s / wall, 3), "sealed": sealed}
    print(f"{name}: {archive_s:.1f} s of video in {wall:.1f} s ({archive_s / wall:.2f} s/s), {sealed} sealed", flush=True)
    return row | (extra or {})


def ray_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    torch.set_num_threads(1)
    recipient = work / "authority.pub"
    AuthorityPrivateKey.generate().public().save(recipient)
    files = make_archive(work, args.files, args.seconds, args.height)
    pipeline = PipelineConfig()
    config = BatchConfig(chunk_seconds=args.chunk_seconds, overlap_seconds=args.overlap_seconds)
    plan = plan_archive([str(f) for f in files], config, align=pipeline.detect_every)
    archive_s = plan.duration_s

    def job(vault: str) -> BatchJob:
        return BatchJob(vault=str(work / vault), recipient=str(recipient), pipeline=pipeline, quality=args.quality)

    def single_process() -> int:
        reports = run_sources([str(f) for f in files], RunConfig(pipeline=pipeline, show_progress=False), get_quality(args.quality), vault_sinks(work / "run", recipient))
        return sum(r.sealed_count for r in reports)

    rows = [measure("run (single process)", archive_s, single_process)]
    rows.append(measure("batch, in-process", archive_s, lambda: run_batch(plan, job("in-process"), dataclasses.replace(config, ray=RAY_NONE), show_progress=False).sealed))
    for workers in (1, 2):
        started = time.perf_counter()
        cluster = RayCluster(workers=workers, cpus_per_worker=1).start()
        startup = round(time.perf_counter() - started, 1)
        try:
            on_ray = dataclasses.replace(config, ray=cluster.address)
            rows.append(
                measure(
                    f"Ray, {workers} worker{'s' if workers > 1 else ''}",
                    archive_s,
                    lambda: run_batch(plan, job(f"ray-{workers}"), on_ray, show_progress=False).sealed,
                    {"cluster_start_s": startup},
                )
            )
        finally:
            cluster.stop()
    reference = rows[0]["archive_s_per_s"]
    for row in rows:
        row["ratio_to_run"] = round(row["archive_s_per_s"] / reference, 2)
    return {
        "archive": {"files": args.files, "seconds_each": args.seconds, "height": args.height, "chunks": len(plan.chunks)},
        "chunk_seconds": args.chunk_seconds,
        "overlap_seconds": args.overlap_seconds,
        "quality": args.quality,
        "rows": rows,
    }


def ray_markdown(result: dict[str, Any]) -> list[str]:
    archive = result["archive"]
    lines = [
        "## Archive processing on Ray",
        "",
        f"{archive['files']} files of {archive['seconds_each']:g} s ({archive['height']}p, the bundled sample looped), "
        f"{archive['chunks']} chunks of at most {result['chunk_seconds']:g} s with {result['overlap_seconds']:g} s overlap, "
        f"quality `{result['quality']}`, one thread per process.",
        "",
        "| configuration | archive s | wall s | archive s per s | ratio to `run` | sealed | cluster start s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['name']} | {row['archive_s']} | {row['wall_s']} | {row['archive_s_per_s']} | {row['ratio_to_run']} | {row['sealed']} | "
            f"{row.get('cluster_start_s', '-')} |"
        )
    return lines


PARTS: dict[str, tuple[Callable[[argparse.Namespace, Path], dict[str, Any]], Callable[[dict[str, Any]], list[str]]]] = {
    "ray": (ray_part, ray_markdown),
}
"""Each part: what it measures, and its Markdown section."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--height", type=int, default=540)
    parser.add_argument("--chunk-seconds", type=float, default=10.0)
    parser.add_argument("--overlap-seconds", type=float, default=2.0)
    parser.add_argument("--quality", default=DEFAULT_METHOD)
    args = parser.parse_args()
    parts = list(PARTS) if args.part == "all" else [args.part]
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_before": os.getloadavg()}}
    markdown = ["# Scaling out", ""]
    for part in parts:
        measure_part, describe = PARTS[part]
        with tempfile.TemporaryDirectory(prefix=f"scale-{part}-") as folder:
            result[part] = measure_part(args, Path(folder))
        markdown += describe(result[part]) + [""]
    result["machine"]["load_after"] = os.getloadavg()
    markdown.append(f"Machine: {os.cpu_count()} CPUs; load average before {result['machine']['load_before'][0]:.1f}, after {result['machine']['load_after'][0]:.1f}.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "scale.md").write_text("\n".join(markdown) + "\n")
    print("\n".join(markdown))


if __name__ == "__main__":
    main()
