"""End-to-end throughput of the camera pipeline on the shared 1080p arcade clip.

Prints and saves frames per second, per-stage milliseconds per frame, and the number of tracks,
for a few detector settings. Run: `python bench/throughput.py [--quality vae] [--threads 2]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from sealshot.detect import MTCNNConfig, MTCNNDetector
from sealshot.pipeline import CameraPipeline, PipelineConfig
from sealshot.quality import DEFAULT_METHOD, get_quality
from sealshot.vault import CameraSealer

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / ".." / "shared" / "data" / "video" / "arcade-walkers-1080p.mp4"
RESULTS = REPO / "bench" / "results"

SETTINGS = {
    "full detection every frame": dict(detect_every=1, detector=MTCNNConfig()),
    "detect every 3": dict(detect_every=3, detector=MTCNNConfig()),
    "detect every 5 (default)": dict(detect_every=5, detector=MTCNNConfig()),
    "detect every 5, 1280 px, min face 14": dict(detect_every=5, detector=MTCNNConfig(min_face_size=14, detect_max_side=1280)),
}


class NullSink:
    """Keeps nothing: measures the pipeline without the vault."""

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any]) -> str:
        return str(metadata["track_id"])

    def close(self) -> None:
        pass


def measure(name: str, frames: list, quality: str, sink_factory) -> dict[str, object]:
    settings = SETTINGS[name]
    config = PipelineConfig(camera_id="bench", detector=settings["detector"], detect_every=settings["detect_every"])
    detector = MTCNNDetector(config.detector)
    pipeline = CameraPipeline(config, get_quality(quality), sink_factory(), 0.0, detector=detector)
    start = time.perf_counter()
    for frame in frames:
        pipeline.process(frame)
    pipeline.finish()
    seconds = time.perf_counter() - start
    return {
        "setting": name,
        "frames": len(frames),
        "fps": round(len(frames) / seconds, 2),
        "stage_ms_per_frame": {k: round(v, 2) for k, v in pipeline.stage_timings().items()},
        "tracks": len(pipeline.track_summaries()),
        "sealed": pipeline.sealed_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quality", default=DEFAULT_METHOD)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--seal", action="store_true", help="seal into a real vault in a temporary folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.clip.exists():
        raise SystemExit(f"clip not found: {args.clip} (the shared data belongs beside the repository)")

    from sealshot.video import open_source

    decode_start = time.perf_counter()
    frames = list(open_source(args.clip))
    decode_ms = 1000 * (time.perf_counter() - decode_start) / len(frames)

    if args.seal:
        folder = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "sealshot.cli", "keygen", "--out", str(folder / "keys")], check=True, capture_output=True)
        sink_factory = lambda: CameraSealer.open(folder / "vault", folder / "keys" / "authority.pub", "bench")  # noqa: E731
    else:
        sink_factory = NullSink

    rows = [measure(name, frames, args.quality, sink_factory) for name in SETTINGS]
    for row in rows:
        row["stage_ms_per_frame"]["decode"] = round(decode_ms, 2)
        row["fps_with_decode"] = round(1000 / (1000 / row["fps"] + decode_ms), 2)
    result = {
        "clip": str(args.clip.name),
        "quality": args.quality,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "results": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"throughput-{args.quality}.json").write_text(json.dumps(result, indent=2))
    stages = ["decode", "detect", "align", "quality", "track", "select", "seal"]
    lines = [
        f"# Throughput on {args.clip.name} (1920×1080, {len(frames)} frames), quality `{args.quality}`, {args.threads} threads",
        "",
        "| setting | fps (with decode) | " + " | ".join(f"{s} ms" for s in stages) + " | tracks | sealed |",
        "|---|---|" + "---|" * len(stages) + "---|---|",
    ]
    for row in rows:
        ms = row["stage_ms_per_frame"]
        lines.append(
            f"| {row['setting']} | {row['fps_with_decode']} | "
            + " | ".join(str(ms.get(s, 0)) for s in stages)
            + f" | {row['tracks']} | {row['sealed']} |"
        )
    (RESULTS / f"throughput-{args.quality}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
