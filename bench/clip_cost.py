"""What the optional clip (``clip_seconds``) costs: bytes per sealed snapshot, CPU per frame, memory of the buffers.

Runs the camera pipeline as ``serve`` configures it (1280 px detection, ``vae-ratio``) on the 1080p arcade
clip (105 frames, about 4 people at a time) twice, into real vaults: without a clip and with ``--clip-seconds`` (default 2). Reports the sealed
files' sizes, the ``clip`` stage's time per processed frame, the CPU time of encoding one clip frame
(``encode_clip_frame`` alone, thread CPU time), and the largest amount of encoded frames the buffers held.
Results: ``bench/results/clip_cost.json`` and ``.md``.

    PYTHONPATH=src python bench/clip_cost.py [--frames 250] [--clip-seconds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIP = REPO.parent / "shared" / "data" / "video" / "arcade-walkers-1080p.mp4"
BUNDLED_CLIP = REPO / "src" / "sealshot" / "video" / "samples" / "arcade-walkers-1080p-crf29.mp4"


def run_once(clip: Path, frames: int, clip_seconds: float, work: Path) -> dict[str, float]:
    from sealshot.detect import MTCNNDetector
    from sealshot.pipeline import CameraPipeline
    from sealshot.quality import get_quality
    from sealshot.serve.config import CameraSettings
    from sealshot.vault import CameraSealer
    from sealshot.video import open_source

    settings = CameraSettings(
        camera_id="cost", source=str(clip), vault=str(work / f"vault-{clip_seconds:g}"), recipient=work / "keys" / "authority.pub",
        report_dir=work / "reports", clip_seconds=clip_seconds,
    )  # fmt: skip
    config = settings.pipeline()
    sink = CameraSealer.open(settings.vault, settings.recipient, settings.camera_id)
    # Frame 0 now: people "seen" in 1970 would be past the vault's retention, and not sealed.
    pipeline = CameraPipeline(config, get_quality(settings.quality), sink, time.time(), detector=MTCNNDetector(config.detector))
    held_bytes, held_frames, faces = 0, 0, 0
    cpu_start = time.process_time()
    for frame in open_source(str(clip)):
        if frame.index >= frames:
            break
        faces += len(pipeline.process(frame).faces)
        sizes = pipeline.clip_buffer_sizes().values()
        held_bytes = max(held_bytes, sum(size for _, size in sizes))
        held_frames = max(held_frames, sum(count for count, _ in sizes))
    pipeline.finish()
    sink.close()
    cpu_ms = 1000 * (time.process_time() - cpu_start) / max(pipeline.frames_processed, 1)
    sealed = sorted(path.stat().st_size for path in (Path(settings.vault) / "snapshots").glob("*.seal"))
    timings = pipeline.stage_timings()
    return {
        "clip_seconds": clip_seconds,
        "frames": pipeline.frames_processed,
        "faces": faces,
        "snapshots": len(sealed),
        "sealed_bytes_mean": round(statistics.mean(sealed)) if sealed else 0,
        "sealed_bytes_median": round(statistics.median(sealed)) if sealed else 0,
        "sealed_bytes_max": max(sealed, default=0),
        "cpu_ms_per_frame": round(cpu_ms, 1),
        "clip_stage_ms_per_frame": round(timings.get("clip", 0.0), 2),
        "seal_stage_ms_per_frame": round(timings.get("seal", 0.0), 2),
        "buffers_max_bytes": held_bytes,
        "buffers_max_frames": held_frames,
    }


def encode_cost(clip: Path, repeats: int = 300) -> dict[str, float]:
    """Thread CPU time of cutting, scaling and JPEG-encoding one clip frame of a 1080p frame, per face side."""
    import numpy as np

    from sealshot.select import clip_side, encode_clip_frame
    from sealshot.video import open_source

    image = next(iter(open_source(str(clip)))).image
    costs: dict[str, float] = {}
    for face in (48, 96, 160):
        box = (900.0, 400.0, 900.0 + face, 400.0 + face * 1.2)
        side = clip_side(box, 64, 256)
        start = time.thread_time()
        sizes = [len(encode_clip_frame(image, box, side, 0, 0.0, 80).data) for _ in range(repeats)]
        costs[f"face_{face}px_side_{side}px_cpu_ms"] = round(1000 * (time.thread_time() - start) / repeats, 3)
        costs[f"face_{face}px_side_{side}px_jpeg_bytes"] = int(np.mean(sizes))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=SHARED_CLIP if SHARED_CLIP.exists() else BUNDLED_CLIP)
    parser.add_argument("--frames", type=int, default=250)
    parser.add_argument("--clip-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="sealshot-clip-cost-"))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    subprocess.run([sys.executable, "-m", "sealshot.cli", "keygen", "--out", str(work / "keys")], check=True, env=env, stdout=subprocess.DEVNULL)
    runs = [run_once(args.clip, args.frames, seconds, work) for seconds in (0.0, args.clip_seconds)]
    result = {"clip": str(args.clip), "runs": runs, "encode_one_frame": encode_cost(args.clip), "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "clip_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    keys = list(runs[0])
    lines = ["# Cost of the optional clip", "", f"`{Path(args.clip).name}`, {runs[0]['frames']} frames (at most {args.frames}), as `serve` runs a camera (1280 px detection, vae-ratio, one thread); {result['machine']}.", ""]
    lines += ["| measure | " + " | ".join(f"clip_seconds = {r['clip_seconds']:g}" for r in runs) + " |", "|---|" + "---|" * len(runs)]
    lines += [f"| {key} | " + " | ".join(str(r[key]) for r in runs) + " |" for key in keys if key != "clip_seconds"]
    lines += ["", "Encoding one clip frame (cut, scale, JPEG quality 80), thread CPU time:", "", "| measure | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in result["encode_one_frame"].items()]
    (args.out / "clip_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
