"""What the gradual-transition tests of ``sealshot.track.cuts`` see, clip by clip, and what they cost.

For every frame with a full window (``gradual_window_s`` back, same shot): the windowed HSV change before and
after light compensation, and the blend residual of the frames between. Reported per clip: the largest
windowed change, the smallest residual among frames whose compensated change passes ``gradual_threshold``
(movement must stay over ``max_blend_residual`` there), the boundaries ``ShotCutDetector`` found (and, for the
composites, where the shots really change: a cross-fade's midpoint), and the detector's time per frame with
and without the two gradual tests (best of 5 runs on the small frames).

Clips: the four talking heads and the arcade clip (``../shared/data/video``), the bundled sample, each under a
light ramp, and the composites of ``sealshot.evaluate.composites`` (cuts, two people crossing, cross-fades,
fades through black and wipes of 0.3-1 s). Results: ``bench/results/gradual_cuts.json`` and ``.md``.

    PYTHONPATH=src python bench/gradual_cuts.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sealshot.evaluate.composites import CompositeClip, crossing_clip, cut_clip, dissolve_clip, fade_clip, wipe_clip
from sealshot.track.cuts import ShotCutDetector, blend_residual, blend_view, hsv_change, light_compensated_change, small_frame, small_hsv
from sealshot.video import open_source
from sealshot.video.samples import sample_clip

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "video"
HEADS = ["driving_d10.mp4", "driving_d11.mp4", "driving_d6.mp4", "source_s18.mp4"]
RESULTS = REPO / "bench" / "results"
RAMPS = [(0.35, 1.0), (0.35, 0.5), (1.4, 0.5), (2.5, 1.0)]
"""(gain reached, seconds taken) of the light ramps laid over the sample clip from its second 1 on."""


def windowed_scores(smalls: list[np.ndarray], times: list[float], shots: list[int], detector: ShotCutDetector) -> list[tuple[float, float, float]]:
    """(change, light-compensated change, blend residual) for every frame with a full window in its shot."""
    hsvs = [small_hsv(small) for small in smalls]
    views = [blend_view(small) for small in smalls]
    scores = []
    for index in range(len(smalls)):
        first = index - 1
        while first >= 0 and shots[first] == shots[index] and times[index] - times[first] < detector.gradual_window_s - 1e-6:
            first -= 1
        if first < 0 or shots[first] != shots[index] or index - first < 2:
            continue
        residual = blend_residual(views[first], np.stack(views[first + 1 : index]), views[index])
        scores.append((hsv_change(hsvs[first], hsvs[index]), light_compensated_change(hsvs[first], hsvs[index]), residual))
    return scores


def boundaries(smalls: list[np.ndarray], times: list[float], detector: ShotCutDetector) -> list[str]:
    return [f"{index} {detector.boundary}" for index, (small, at) in enumerate(zip(smalls, times)) if detector.update(small, at)]


def cost_ms(smalls: list[np.ndarray], times: list[float], settings: dict[str, Any]) -> float:
    best = float("inf")
    for _ in range(5):
        detector = ShotCutDetector(**settings)
        started = time.perf_counter()
        for small, at in zip(smalls, times):
            detector.update(small, at)
        best = min(best, (time.perf_counter() - started) / len(smalls))
    return 1000 * best


def ramp(smalls: list[np.ndarray], times: list[float], gain: float, seconds: float, start: float = 1.0) -> list[np.ndarray]:
    def gain_at(at: float) -> float:
        return 1.0 + (gain - 1.0) * min(max((at - start) / seconds, 0.0), 1.0)

    return [np.clip(small.astype(np.float32) * gain_at(at), 0, 255).astype(np.uint8) for small, at in zip(smalls, times)]


def clips() -> dict[str, tuple[list[np.ndarray], list[float], CompositeClip | None]]:
    found: dict[str, tuple[list[np.ndarray], list[float], CompositeClip | None]] = {}
    sources = {"bundled sample": sample_clip()}
    if VIDEO.exists():
        sources |= {f"talking head {name}": VIDEO / "talking-heads" / name for name in HEADS} | {"arcade": VIDEO / "arcade-walkers-1080p.mp4"}
    for name, path in sources.items():
        frames = list(open_source(path))
        found[name] = ([small_frame(frame.image) for frame in frames], [frame.timestamp for frame in frames], None)
    smalls, times, _ = found["bundled sample"]
    for gain, seconds in RAMPS:
        found[f"bundled sample, light x{gain} in {seconds} s"] = (ramp(smalls, times, gain, seconds), times, None)
    if VIDEO.exists():
        people = [VIDEO / "talking-heads" / name for name in HEADS]
        composites = {"cuts": cut_clip(people, frames_per_shot=25, side=192)}
        for left, right in [("driving_d11.mp4", "driving_d6.mp4"), ("driving_d10.mp4", "source_s18.mp4")]:
            composites[f"crossing {left} {right}"] = crossing_clip(VIDEO / "talking-heads" / left, VIDEO / "talking-heads" / right, frame_count=50)
        for frames in (8, 12, 19, 25):
            for kind, build in (("cross-fades", dissolve_clip), ("fades through black", fade_clip), ("wipes", wipe_clip)):
                composites[f"{kind} of {frames} frames"] = build(people, frames_per_shot=25, transition_frames=frames, side=192)
        for name, clip in composites.items():
            found[name] = ([small_frame(frame.image) for frame in clip.frames], [frame.timestamp for frame in clip.frames], clip)
    return found


def main() -> None:
    settings = ShotCutDetector()
    threshold = settings.gradual_threshold
    assert threshold is not None
    results: dict[str, dict[str, Any]] = {}
    for name, (smalls, times, clip) in clips().items():
        scores = windowed_scores(smalls, times, clip.shots if clip else [0] * len(smalls), settings)
        over = [residual for _, compensated, residual in scores if compensated >= threshold]
        result: dict[str, Any] = {
            "max_window_change": round(max((change for change, _, _ in scores), default=0.0), 1),
            "max_window_change_light_compensated": round(max((compensated for _, compensated, _ in scores), default=0.0), 1),
            "min_blend_residual_over_threshold": round(min(over), 2) if over else None,
            "boundaries": boundaries(smalls, times, ShotCutDetector()),
            "ms_per_frame": round(cost_ms(smalls, times, {}), 3),
            "ms_per_frame_without_gradual_tests": round(cost_ms(smalls, times, {"gradual_threshold": None, "black_level": None}), 3),
        }
        if clip is not None:
            result["shot_changes"] = [index for index in range(1, len(clip.shots)) if clip.shots[index] != clip.shots[index - 1]]
            result["ambiguous_frames_at_boundaries"] = sum(clip.is_ambiguous(int(b.split()[0])) for b in result["boundaries"])
        results[name] = result
        print(name, result, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gradual_cuts.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"# Gradual transitions: windowed change over {settings.gradual_window_s} s, blend residual (boundary: change {threshold}+, residual {settings.max_blend_residual}-)",
        "",
        "| clip | max change | max change, light-compensated | min residual where compensated change passes | boundaries found | shot changes | ms/frame (without gradual tests) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['max_window_change']} | {r['max_window_change_light_compensated']} | {r['min_blend_residual_over_threshold']} | "
            f"{', '.join(r['boundaries']) or 'none'} | {', '.join(map(str, r.get('shot_changes', []))) or '-'} | "
            f"{r['ms_per_frame']} ({r['ms_per_frame_without_gradual_tests']}) |"
        )
    (RESULTS / "gradual_cuts.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
