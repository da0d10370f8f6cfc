"""Tracking quality against ground truth: MOTA, IDF1 and identity switches (``motmetrics``), snapshots per real
person and people without a snapshot.

* The arcade clip (``../shared/data/video/arcade-walkers-1080p.mp4``) against our annotation
  ``bench/data/arcade-walkers-1080p.gt.txt`` (MOT format: ``frame,id,x,y,w,h,1,-1,-1,-1``, frames 1-based, every
  5th frame, boxes from every-frame MTCNN with identities checked and corrected by eye).
  Only the annotated frames are scored; a tracked face matches a person at IoU >= 0.3.
* The composite clips of ``sealshot.evaluate.composites`` (hard cuts, cross-fades, fades through black and wipes
  between people; two people crossing), every frame, where a tracked face belongs to the person whose tile holds its
  centre (in a cross-fade, the one with the larger weight; the frames where both show through at least a quarter are
  not scored: either person is a fair answer there).
* The hard cuts, cross-fades, fades through black and wipes (0.48 s; and wipes of 0.76 s from the top) in 8 orders of
  the four people (rotations, both ways), totals.
* Two people crossing, swept: every ordered pair of the four talking heads at 40, 50 and 64 frames (36 clips), totals.
  The two crossing cases above are two draws of it; a tracked face counts as on the second person when its centre
  lies in that person's tile (the one in front), which a face half hidden at the front tile's edge does by a few pixels.

Each is run with the pipeline's defaults and, for comparison, with the previous tracker's behaviour (no cut
detection, no appearance gate, no re-attachment); the arcade clip and the single composites also with
``--detector yunet`` (``PipelineConfig.using_yunet``) and ``--detector yunet --mtcnn-points``, and the sweeps with the
defaults and both YuNet settings (the crossings also with the previous tracker). Run: ``python bench/tracking.py`` (``--cases`` and ``--configs`` pick a part).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import motmetrics as mm
import numpy as np
import torch

from sealshot.config import PipelineConfig
from sealshot.detect import MTCNNConfig, YuNetConfig
from sealshot.evaluate.composites import CompositeClip, crossing_clip, cut_clip, dissolve_clip, fade_clip, wipe_clip
from sealshot.pipeline import CameraPipeline
from sealshot.quality import DEFAULT_METHOD, get_quality
from sealshot.track.config import TrackerConfig
from sealshot.track.tracker import iou_matrix
from sealshot.video import Frame, open_source

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "video"
GROUND_TRUTH = REPO / "bench" / "data" / "arcade-walkers-1080p.gt.txt"
RESULTS = REPO / "bench" / "results"

PREVIOUS_TRACKER = TrackerConfig(
    max_unseen_s=1.0, cut_threshold=None, max_appearance_distance=1.0, reattach_max_appearance_distance=1.0, reattach_speed=0.0,
    quality_collapse_sigmas=float("inf"),
)
"""What the tracker did before issue 12: motion and size gates only, no cuts, no re-attachment."""


class MetadataSink:
    def __init__(self) -> None:
        self.sealed: list[Mapping[str, Any]] = []

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any]) -> str:
        self.sealed.append(dict(metadata))
        return f"s{len(self.sealed)}"

    def retention_ended(self, seen_at_utc: float) -> float | None:
        return None

    def close(self) -> None:
        pass


def load_mot(path: Path) -> dict[int, list[tuple[int, np.ndarray]]]:
    """0-based frame index → [(person id, x1 y1 x2 y2)]."""
    truth: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        frame, person, x, y, w, h = (float(v) for v in line.split(",")[:6])
        truth[int(frame) - 1].append((int(person), np.array([x, y, x + w, y + h])))
    return dict(truth)


def track(frames: Iterable[Frame], config: PipelineConfig, quality: str) -> tuple[dict[int, list[tuple[int, np.ndarray]]], list[Mapping[str, Any]]]:
    """Frame index → [(track id, box)] of every tracked face, and the sealed snapshots' metadata."""
    sink = MetadataSink()
    pipeline = CameraPipeline(config, get_quality(quality), sink, 0.0, detector=config.create_detector())
    hypotheses: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for frame in frames:
        for face in pipeline.process(frame).faces:
            hypotheses[face.frame_index].append((face.track_id, np.asarray(face.box)))
    pipeline.finish()
    return dict(hypotheses), sink.sealed


def score(
    truth_frames: Mapping[int, list[tuple[Any, np.ndarray]]],
    hypotheses: Mapping[int, list[tuple[int, np.ndarray]]],
    sealed: list[Mapping[str, Any]],
    distance: Any,
    people: Iterable[Any],
) -> dict[str, Any]:
    """motmetrics over ``truth_frames``; ``distance(truth_boxes, hyp_boxes, frame)`` gives the cost matrix (NaN: no match)."""
    accumulator = mm.MOTAccumulator(auto_id=False)
    owner_votes: dict[int, Counter[Any]] = defaultdict(Counter)
    for frame in sorted(truth_frames):
        truth = truth_frames[frame]
        hyp = hypotheses.get(frame, [])
        cost = distance(np.array([b for _, b in truth]).reshape(-1, 4), np.array([b for _, b in hyp]).reshape(-1, 4), frame)
        accumulator.update([p for p, _ in truth], [t for t, _ in hyp], cost, frameid=frame)
        for r, (person, _) in enumerate(truth):
            for c, (track_id, _) in enumerate(hyp):
                if np.isfinite(cost[r, c]):
                    owner_votes[track_id][person] += 1
    metrics = mm.metrics.create().compute(
        accumulator, metrics=["mota", "idf1", "num_switches", "num_false_positives", "num_misses", "num_unique_objects"], name="run"
    )
    snapshot_owner = [owner_votes[s["track_id"]].most_common(1)[0][0] if owner_votes.get(s["track_id"]) else None for s in sealed]
    per_person = Counter(o for o in snapshot_owner if o is not None)
    people = list(people)
    mixed_votes = [votes for votes in owner_votes.values() if len(votes) > 1]
    return {
        "mota": round(float(metrics["mota"].iloc[0]), 4),
        "idf1": round(float(metrics["idf1"].iloc[0]), 4),
        "id_switches": int(metrics["num_switches"].iloc[0]),
        "false_positives": int(metrics["num_false_positives"].iloc[0]),
        "misses": int(metrics["num_misses"].iloc[0]),
        "people": len(people),
        "snapshots": len(sealed),
        "snapshots_of_no_annotated_person": sum(o is None for o in snapshot_owner),
        "snapshots_per_person": round(sum(per_person.values()) / max(len(people), 1), 3),
        "people_without_snapshot": sorted(str(p) for p in people if per_person[p] == 0),
        "people_with_several_snapshots": {str(p): n for p, n in sorted(per_person.items(), key=lambda item: str(item[0])) if n > 1},
        "tracks_over_two_people": len(mixed_votes),
        "frames_on_a_second_person": sum(sum(votes.values()) - votes.most_common(1)[0][1] for votes in mixed_votes),
    }


CROSSING_LENGTHS = (40, 50, 64)


def _totals(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The sum of several clips' results (MOTA and IDF1: their means), the people and runs named by clip."""
    total: dict[str, Any] = {
        key: sum(r[key] for r in runs.values())
        for key in ("id_switches", "people", "snapshots", "tracks_over_two_people", "frames_on_a_second_person", "false_positives", "misses")
    }
    total.update(
        mota=round(float(np.mean([r["mota"] for r in runs.values()])), 4),
        idf1=round(float(np.mean([r["idf1"] for r in runs.values()])), 4),
        snapshots_per_person=round(total["snapshots"] / max(total["people"], 1), 3),
        people_without_snapshot=[f"{run}/{p}" for run, r in runs.items() for p in r["people_without_snapshot"]],
        people_with_several_snapshots={f"{run}/{p}": n for run, r in runs.items() for p, n in r["people_with_several_snapshots"].items()},
        runs_with_a_track_over_two_people=sorted(run for run, r in runs.items() if r["tracks_over_two_people"]),
        runs_with_an_id_switch=sorted(run for run, r in runs.items() if r["id_switches"]),
    )
    return total


def crossing_sweep(clips: list[Path], config: PipelineConfig, quality: str) -> dict[str, Any]:
    """Every ordered pair of ``clips`` crossing (the first in front), at each of ``CROSSING_LENGTHS`` frames: the
    two cases above are two draws of this, and a face half hidden at the tile's edge is decided by a few pixels."""
    runs = {
        f"{front.stem}+{behind.stem}/{frames}": composite_case(crossing_clip(front, behind, frame_count=frames), config, quality)
        for front, behind in itertools.permutations(clips, 2)
        for frames in CROSSING_LENGTHS
    }
    return _totals(runs)


def shot_orders(clips: list[Path]) -> list[list[Path]]:
    """Eight orders of ``clips``: each rotation, forwards and backwards (every person first, last and next to each other)."""
    rotations = [clips[k:] + clips[:k] for k in range(len(clips))]
    return rotations + [list(reversed(order)) for order in rotations]


def order_sweep(build: Any, clips: list[Path], config: PipelineConfig, quality: str) -> dict[str, Any]:
    """``build(clips in some order)`` for each of ``shot_orders``: the cases above in one order are one draw of these."""
    return _totals({"/".join(p.stem for p in order): composite_case(build(order), config, quality) for order in shot_orders(clips)})


def iou_distance(truth: np.ndarray, hyp: np.ndarray, _frame: int, min_iou: float = 0.3) -> np.ndarray:
    iou = iou_matrix(truth, hyp)
    return np.where(iou >= min_iou, 1.0 - iou, np.nan)


def composite_distance(clip: CompositeClip):
    def distance(truth: np.ndarray, hyp: np.ndarray, frame: int) -> np.ndarray:
        people = [view.person for view in clip.truth[frame]]
        owners = [clip.person_at(frame, tuple(box)) for box in hyp.tolist()]
        return np.array([[0.0 if owner == person else np.nan for owner in owners] for person in people]).reshape(len(people), len(hyp))

    return distance


def composite_case(clip: CompositeClip, config: PipelineConfig, quality: str) -> dict[str, Any]:
    hypotheses, sealed = track(clip.frames, config, quality)
    # A person in each shot is a separate object: the expected answer is one snapshot per (shot, person).
    # motmetrics takes numeric ids: number the (shot, person) pairs.
    names = sorted(f"shot{shot}/{person}" for shot, person in clip.expected_snapshots())
    truth = {
        f.index: [(names.index(f"shot{clip.shots[f.index]}/{v.person}") + 1, np.array(v.region)) for v in clip.truth[f.index]]
        for f in clip.frames
        if not clip.is_ambiguous(f.index)
    }
    result = score(truth, hypotheses, sealed, composite_distance(clip), range(1, len(names) + 1))
    result["people_without_snapshot"] = [names[int(i) - 1] for i in result["people_without_snapshot"]]
    result["people_with_several_snapshots"] = {names[int(i) - 1]: n for i, n in result["people_with_several_snapshots"].items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", default=DEFAULT_METHOD)
    parser.add_argument("--output", default="tracking")
    parser.add_argument("--cases", default="arcade,composites,orders,crossings", help="which of arcade, composites, orders, crossings to run")
    parser.add_argument(
        "--configs", default="defaults,previous,yunet,yunet-points",
        help="which of defaults, previous (tracker), yunet (--detector yunet), yunet-points (the same with --mtcnn-points) to run",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    all_configs = {
        "defaults": ("defaults", PipelineConfig(camera_id="bench")),
        "previous": ("previous tracker", PipelineConfig(camera_id="bench", tracker=PREVIOUS_TRACKER)),
        "yunet": ("--detector yunet", PipelineConfig(camera_id="bench").using_yunet()),
        "yunet-points": ("--detector yunet --mtcnn-points", PipelineConfig(camera_id="bench", yunet=YuNetConfig(mtcnn_points=True)).using_yunet()),
    }
    wanted = args.configs.split(",")
    configs = dict(all_configs[key] for key in all_configs if key in wanted)
    every_frame = PipelineConfig(camera_id="bench", detector=MTCNNConfig(detect_max_side=None, chained_pyramid=False), detect_every=1, motion_threshold=None)
    results: dict[str, dict[str, Any]] = {}
    arcade = DATA / "arcade-walkers-1080p.mp4"
    if "arcade" in args.cases and arcade.exists() and GROUND_TRUTH.exists():
        truth = load_mot(GROUND_TRUTH)
        people = {p for boxes in truth.values() for p, _ in boxes}
        reference = {"every-frame full-resolution MTCNN (throughput reference)": every_frame} if "defaults" in wanted else {}
        for name, config in {**configs, **reference}.items():
            hypotheses, sealed = track(open_source(arcade), config, args.quality)
            results[f"arcade 1080p, {name}"] = score(truth, hypotheses, sealed, iou_distance, people)
            print(f"arcade, {name}:", results[f"arcade 1080p, {name}"], flush=True)
    heads = DATA / "talking-heads"
    talking_heads = [heads / name for name in ("driving_d10.mp4", "driving_d11.mp4", "driving_d6.mp4", "source_s18.mp4")]
    # The composites' faces fill their tiles: detection from 40 pixels up.
    small_faces = {name: replace(config, detector=MTCNNConfig(min_face_size=40)) for name, config in configs.items()}
    if "composites" in args.cases and heads.exists():
        clips = {
            "hard cuts (4 people + a revisit)": cut_clip(talking_heads, frames_per_shot=25, side=192),
            "two people crossing": crossing_clip(heads / "driving_d11.mp4", heads / "driving_d6.mp4", frame_count=50),
            "two people crossing (other pair)": crossing_clip(heads / "driving_d10.mp4", heads / "source_s18.mp4", frame_count=50),
            "cross-fades of 0.76 s (4 people)": dissolve_clip(talking_heads, frames_per_shot=25, transition_frames=19, side=192),
            "cross-fades of 0.48 s (4 people)": dissolve_clip(talking_heads, frames_per_shot=25, transition_frames=12, side=192),
            "fades through black of 0.76 s (4 people)": fade_clip(talking_heads, frames_per_shot=25, transition_frames=19, side=192),
            "fades through black of 0.48 s (4 people)": fade_clip(talking_heads, frames_per_shot=25, transition_frames=12, side=192),
            "wipes of 0.76 s (4 people)": wipe_clip(talking_heads, frames_per_shot=25, transition_frames=19, side=192),
            "wipes of 0.48 s from the top (4 people)": wipe_clip(talking_heads, frames_per_shot=25, transition_frames=12, side=192, direction="top"),
            "wipes of 1 s from a corner (4 people)": wipe_clip(talking_heads, frames_per_shot=25, transition_frames=25, side=192, direction="diagonal"),
        }
        for clip_name, clip in clips.items():
            for name, config in small_faces.items():
                results[f"{clip_name}, {name}"] = composite_case(clip, config, args.quality)
                print(f"{clip_name}, {name}:", results[f"{clip_name}, {name}"], flush=True)
    if "orders" in args.cases and heads.exists():
        builds = {
            "hard cuts": lambda order: cut_clip(order, frames_per_shot=25, side=192),
            "cross-fades of 0.48 s": lambda order: dissolve_clip(order, frames_per_shot=25, transition_frames=12, side=192),
            "fades through black of 0.48 s": lambda order: fade_clip(order, frames_per_shot=25, transition_frames=12, side=192),
            "wipes of 0.48 s": lambda order: wipe_clip(order, frames_per_shot=25, transition_frames=12, side=192),
            "wipes of 0.76 s from the top": lambda order: wipe_clip(order, frames_per_shot=25, transition_frames=19, side=192, direction="top"),
        }
        for build_name, build in builds.items():
            for name, config in small_faces.items():
                if name == "previous tracker":
                    continue
                case = f"{build_name}, 8 orders of the 4 people (totals), {name}"
                results[case] = order_sweep(build, talking_heads, config, args.quality)
                print(f"{case}:", results[case], flush=True)
    if "crossings" in args.cases and heads.exists():
        for name, config in small_faces.items():
            case = f"two people crossing, all 12 ordered pairs x {'/'.join(map(str, CROSSING_LENGTHS))} frames (totals), {name}"
            results[case] = crossing_sweep(talking_heads, config, args.quality)
            print(f"{case}:", results[case], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"quality": args.quality, "load_average": [round(v, 2) for v in os.getloadavg()], "results": results}
    (RESULTS / f"{args.output}.json").write_text(json.dumps(payload, indent=2))
    lines = [
        f"# Tracking against ground truth (quality `{args.quality}`)",
        "",
        "| case | MOTA | IDF1 | ID switches | people | snapshots | snapshots per person | people without snapshot | people with 2+ snapshots | tracks over two people | their frames on the second |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case, r in results.items():
        lines.append(
            f"| {case} | {r['mota']} | {r['idf1']} | {r['id_switches']} | {r['people']} | {r['snapshots']} | {r['snapshots_per_person']} | "
            f"{len(r['people_without_snapshot'])} | {len(r['people_with_several_snapshots'])} | {r['tracks_over_two_people']} | "
            f"{r['frames_on_a_second_person']} |"
        )
    (RESULTS / f"{args.output}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
