"""Scaling out: sealing rates per vault backend, the audit chain's costs, and archives on a local Ray cluster.

``--part vault``: seals per second into the folder vault and into PostgreSQL + S3 (a throw-away PostgreSQL
cluster and moto's S3 server on loopback, ``tests/servers.py``) with 1, 4 and 16 concurrent writer processes.

``--part chain``: full verification rate of the audit log, and a camera's start with and without its checkpoint.

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

Run: ``python bench/scale.py [--part ray|vault|chain|all] [--files 3 --seconds 20 --height 540 --chunk-seconds 10]``.
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


# -- the vault: seals per second into each backend -----------------------------------------------------------------
CROP_SIDE = 160  # a typical sealed face crop (the sample's crops are 90-220 px)


def _crop(seed: int) -> Any:
    """A smooth, face-sized test image (compresses like a real crop, unlike noise)."""
    import cv2
    import numpy as np

    small = np.random.default_rng(seed).integers(0, 256, (10, 10, 3), dtype=np.uint8)
    return cv2.resize(small, (CROP_SIDE, CROP_SIDE), interpolation=cv2.INTER_CUBIC)


def _metadata(camera: str, track: int) -> dict[str, Any]:
    return {"camera_id": camera, "track_id": track, "seen_at_utc": 1.7e9 + track, "quality": 0.5, "quality_method": "bench", "frame_index": track}


def _writer(location: str, public: str, camera: str, count: int, ready: Any, go: Any, results: Any, environment: dict[str, str]) -> None:
    os.environ.update(environment)
    from sealshot.vault import CameraSealer

    with CameraSealer.open(location, Path(public), camera) as sealer:
        crops = [_crop(i) for i in range(count)]
        ready.put(camera)
        go.wait()
        for track, crop in enumerate(crops):
            sealer.seal(crop, _metadata(camera, track))
        results.put((camera, time.time()))


def _seal_rate(location: str, public: Path, writers: int, per_writer: int, environment: dict[str, str]) -> dict[str, Any]:
    """``writers`` camera processes sealing at once into one vault, released together once all have opened it."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_writer, args=(location, str(public), f"w{writers}-{i}", per_writer, ready, go, results, environment))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=900)
    start = time.time()
    go.set()
    ends = [results.get(timeout=900)[1] for _ in processes]
    for process in processes:
        process.join()
    wall = max(ends) - start
    return {"writers": writers, "seals": writers * per_writer, "wall_s": round(wall, 3), "seals_per_s": round(writers * per_writer / wall, 1)}


def vault_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Seals per second into the folder vault and into PostgreSQL + S3 (servers on loopback), 1/4/16 writers."""
    from sealshot.vault.store import Vault
    from tests.servers import PostgresServer, S3Server, ServerUnavailable

    authority = AuthorityPrivateKey.generate().public()
    public = work / "authority.pub"
    authority.save(public)
    writer_counts = [int(n) for n in args.writers.split(",")]
    rows: list[dict[str, Any]] = []
    postgres = s3 = None
    backends: list[str] = ["folder (SQLite + files)"]
    try:
        postgres, s3 = PostgresServer().start(), S3Server().start()
        backends.append("PostgreSQL + S3 (moto)")
    except ServerUnavailable as error:
        print(f"PostgreSQL + S3 not measured: {error}")
    try:
        for backend in backends:
            for writers in writer_counts:
                environment: dict[str, str] = {}
                location = str(work / f"vault-{writers}")
                if backend != backends[0]:
                    assert postgres is not None and s3 is not None
                    environment = s3.environment()
                    os.environ.update(environment)
                    location = f"{postgres.create_database('scale')}?objects=s3://{s3.create_bucket('scale')}/v&keys={work / f'keys-{writers}'}"
                Vault.create(location, authority, 30, "bench").close()
                row = {"backend": backend} | _seal_rate(location, public, writers, args.seals_per_writer, environment)
                print(f"{backend:26s} {writers:3d} writer(s): {row['seals_per_s']:7.1f} seals/s", flush=True)
                rows.append(row)
    finally:
        for server in (postgres, s3):
            if server is not None:
                server.stop()
    base = next(row["seals_per_s"] for row in rows if row["writers"] == writer_counts[0])
    for row in rows:
        row["ratio_to_one_folder_writer"] = round(row["seals_per_s"] / base, 2)
    return {"crop_side": CROP_SIDE, "seals_per_writer": args.seals_per_writer, "rows": rows}


def vault_markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "## Seals per second into each backend",
        "",
        f"Each writer is a camera process sealing {result['seals_per_writer']} crops of {result['crop_side']}×{result['crop_side']} px; "
        "all start together. The ratio is to one writer on the folder vault, what `run` uses. moto is a Python test "
        "server, far slower per request than S3 or MinIO: the PostgreSQL + S3 rows are a lower bound.",
        "",
        "| backend | writers | seals/s | ratio to 1 folder writer |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['backend']} | {r['writers']} | {r['seals_per_s']} | {r['ratio_to_one_folder_writer']} |" for r in result["rows"]]
    return lines


# -- the chain: verification rate and a camera's start with and without its checkpoint -----------------------------
def chain_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """A folder vault with ``--chain-entries`` sealed snapshots: full verification rate, and how long a camera
    takes to start with its checkpoint (verifying only what is new) and without it (the whole log)."""
    from sealshot.vault import CameraSealer
    from sealshot.vault.sealer import checkpoint_path
    from sealshot.vault.store import Vault

    public = work / "authority.pub"
    AuthorityPrivateKey.generate().public().save(public)
    vault = work / "vault"
    crop = _crop(0)
    with CameraSealer.open(vault, public, "writer") as sealer:
        for track in range(args.chain_entries):
            sealer.seal(crop, _metadata("writer", track))
    with Vault.open(vault) as opened:
        started = time.perf_counter()
        state, problem = opened.chain()
        verify_s = time.perf_counter() - started
    assert problem is None
    CameraSealer.open(vault, public, "reader").close()  # registers it and leaves its checkpoint
    timings = {}
    for label, keep_checkpoint in (("with checkpoint", True), ("without checkpoint", False)):
        if not keep_checkpoint:
            with Vault.open(vault) as opened:
                checkpoint_path(opened, "reader").unlink()
        started = time.perf_counter()
        CameraSealer.open(vault, public, "reader").close()
        timings[label] = round(time.perf_counter() - started, 3)
    return {"entries": state.count, "verify_s": round(verify_s, 3), "entries_per_s": round(state.count / verify_s), "camera_start_s": timings}


def chain_markdown(result: dict[str, Any]) -> list[str]:
    start = result["camera_start_s"]
    return [
        "## The chain: verification and a camera's start",
        "",
        f"A folder vault with {result['entries']} audit entries: full verification {result['verify_s']} s "
        f"({result['entries_per_s']} entries/s); a camera starts in {start['with checkpoint']} s with its checkpoint "
        f"and {start['without checkpoint']} s without it (the whole log verified).",
    ]


PARTS: dict[str, tuple[Callable[[argparse.Namespace, Path], dict[str, Any]], Callable[[dict[str, Any]], list[str]]]] = {
    "ray": (ray_part, ray_markdown),
    "vault": (vault_part, vault_markdown),
    "chain": (chain_part, chain_markdown),
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
    parser.add_argument("--writers", default="1,4,16", help="vault part: concurrent writer processes to measure")
    parser.add_argument("--seals-per-writer", type=int, default=20)
    parser.add_argument("--chain-entries", type=int, default=2000, help="chain part: sealed snapshots in the measured vault")
    args = parser.parse_args()
    parts = list(PARTS) if args.part == "all" else [args.part]
    # One results file for all parts: a part run alone replaces its own section and keeps the others'.
    previous = json.loads((RESULTS / "scale.json").read_text()) if (RESULTS / "scale.json").exists() else {}
    result: dict[str, Any] = {name: previous[name] for name in PARTS if name in previous and name not in parts}
    for part in parts:
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix=f"scale-{part}-") as folder:
            result[part] = PARTS[part][0](args, Path(folder))
        result[part]["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "load_before": load_before, "load_after": os.getloadavg()}
    markdown = ["# Scaling out", ""]
    for part, (_, describe) in PARTS.items():
        if part in result:
            machine = result[part].get("machine", {})
            markdown += describe(result[part])
            if machine:
                markdown.append(f"\n{machine['cpus']} CPUs; load average {machine['load_before'][0]:.1f} before, {machine['load_after'][0]:.1f} after.")
            markdown.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "scale.md").write_text("\n".join(markdown) + "\n")
    print("\n".join(markdown))


if __name__ == "__main__":
    main()
