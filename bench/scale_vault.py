"""The vault part of ``bench/scale.py``: seals per second into each backend with 1, 4 and 16 writers.

Each writer is its own process (a camera), sealing crops of a realistic size into one shared vault,
started together; the rate is all seals over the wall time from the common start to the last seal.
Backends: the folder vault (SQLite + files, the embedded default) and PostgreSQL + S3 (a throw-away
PostgreSQL cluster and moto's S3 server on loopback, started here). moto is a Python test server, far
slower per request than AWS S3 or MinIO; the PostgreSQL+S3 figure is therefore a lower bound.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CROP_SIDE = 160  # a typical sealed face crop (the sample's crops are 90-220 px)


def _crop(seed: int) -> np.ndarray:
    """A smooth, face-sized test image (compresses like a real crop, unlike noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
    import cv2

    return cv2.resize(small, (CROP_SIDE, CROP_SIDE), interpolation=cv2.INTER_CUBIC)


def _writer(location: str, public: str, camera: str, count: int, start_at: float, results: "multiprocessing.Queue[Any]", environment: dict[str, str]) -> None:
    os.environ.update(environment)
    from sealshot.select.snapshot import Snapshot
    from sealshot.vault import CameraSealer

    with CameraSealer.open(location, Path(public), camera) as sealer:
        crops = [_crop(i) for i in range(count)]
        while time.time() < start_at:
            time.sleep(0.001)
        for track, crop in enumerate(crops):
            snapshot = Snapshot(
                camera_id=camera, track_id=track, crop=crop, quality=0.5, quality_method="bench", frame_index=track,
                timestamp=float(track), first_seen=0.0, last_seen=1.0, box=(0.0, 0.0, 1.0, 1.0), detections=3, started_at_utc=1.7e9,
            )  # fmt: skip
            sealer.seal(snapshot.crop, snapshot.metadata())
    results.put((camera, time.time()))


def seal_rate(location: str, public: Path, writers: int, seals_per_writer: int, environment: dict[str, str]) -> dict[str, Any]:
    """Seals per second with ``writers`` concurrent camera processes into the vault at ``location``."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[Any] = context.Queue()
    start_at = time.time() + 3.0 + 0.25 * writers  # every process opened its sealer before the start
    processes = [
        context.Process(target=_writer, args=(location, str(public), f"w{writers}-{i}", seals_per_writer, start_at, results, environment))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    ends = [results.get(timeout=600)[1] for _ in processes]
    for process in processes:
        process.join()
    seals = writers * seals_per_writer
    wall = max(ends) - start_at
    return {"writers": writers, "seals": seals, "wall_s": round(wall, 3), "seals_per_s": round(seals / wall, 1)}


def run_vault_part(writer_counts: tuple[int, ...] = (1, 4, 16), seals_per_writer: int = 20) -> dict[str, Any]:
    """Both backends, each writer count; rates and ratios to one writer on the folder vault."""
    from tests.servers import PostgresServer, S3Server, ServerUnavailable

    from sealshot.vault.keys import AuthorityPrivateKey
    from sealshot.vault.store import Vault

    work = Path(tempfile.mkdtemp(prefix="sealshot-scale-"))
    public = work / "authority.pub"
    AuthorityPrivateKey.generate().public().save(public)
    rows: list[dict[str, Any]] = []
    backends: list[tuple[str, Any]] = [("folder (SQLite + files)", None)]
    postgres = s3 = None
    try:
        postgres, s3 = PostgresServer().start(), S3Server().start()
        backends.append(("PostgreSQL + S3 (moto)", (postgres, s3)))
    except ServerUnavailable as error:
        print(f"PostgreSQL + S3 skipped: {error}")
    try:
        for name, servers in backends:
            for writers in writer_counts:
                if servers is None:
                    location, environment = str(work / f"vault-{writers}"), {}
                else:
                    pg, s3_server = servers
                    environment = s3_server.environment()
                    os.environ.update(environment)
                    location = f"{pg.create_database('scale')}?objects=s3://{s3_server.create_bucket('scale')}/v&keys={work / f'keys-{writers}'}"
                with Vault.create(location, _public(public), 30, "bench"):
                    pass
                row = {"backend": name} | seal_rate(location, public, writers, seals_per_writer, environment)
                print(f"{name:26s} {writers:3d} writer(s): {row['seals_per_s']:7.1f} seals/s ({row['seals']} in {row['wall_s']} s)", flush=True)
                rows.append(row)
    finally:
        if postgres is not None:
            postgres.stop()
        if s3 is not None:
            s3.stop()
    base = next(r["seals_per_s"] for r in rows if r["writers"] == writer_counts[0] and r["backend"].startswith("folder"))
    for row in rows:
        row["ratio_to_one_folder_writer"] = round(row["seals_per_s"] / base, 2)
    return {"crop_side": CROP_SIDE, "seals_per_writer": seals_per_writer, "rows": rows}


def _public(path: Path) -> Any:
    from sealshot.vault.keys import AuthorityPublicKey

    return AuthorityPublicKey.load(path)


def vault_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"### Seals per second into each backend ({result['crop_side']}×{result['crop_side']} crops, {result['seals_per_writer']} per writer)",
        "",
        "| backend | writers | seals/s | ratio to 1 folder writer |",
        "|---|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(f"| {row['backend']} | {row['writers']} | {row['seals_per_s']} | {row['ratio_to_one_folder_writer']} |")
    return "\n".join(lines) + "\n"
