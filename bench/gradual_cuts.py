"""What the gradual-transition tests of ``sealshot.track.cuts`` see, clip by clip, and what they cost.

For every frame with a full window (``gradual_window_s`` back, same shot): the windowed HSV change before and
after light compensation, the blend residual and the switch residual (with the share of the picture that switched
and the largest share of those that switched in one frame) of the frames between. Reported per clip: the largest
windowed change; the smallest blend residual among frames whose compensated change passes ``gradual_threshold``
(movement must stay over ``max_blend_residual`` there); the smallest switch residual among frames whose windowed
change passes it (where the wipe test runs: anything but a wipe must stay over ``max_switch_residual``), with the
switched area there, and the largest switched area among them (under ``min_wipe_area``, but in a wipe); the
smallest share switched in one frame where both pass (over ``max_switched_at_once``, but in a wipe); the
boundaries ``ShotCutDetector`` found, with those three measures for a cross-fade or a wipe (and, for the
composites, where the shots really change: a transition's midpoint); and the detector's time per frame, without
the wipe test and without the three gradual tests (best of 5 runs on the small frames).

Clips: the four talking heads, also with noise, shaken by hand and both, the arcade clip (``../shared/data/video``),
the bundled sample, under a light ramp, under a step of light, and a camera panning over or zooming into its first
frame, and the composites of ``sealshot.evaluate.composites`` (cuts, two people crossing, cross-fades, fades
through black and wipes from the left, the top and a corner, of 0.3-1 s). Results:
``bench/results/gradual_cuts.json`` and ``.md``.

    PYTHONPATH=src python bench/gradual_cuts.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from unittest import mock

import cv2
import numpy as np

from sealshot.evaluate.composites import CompositeClip, crossing_clip, cut_clip, dissolve_clip, fade_clip, wipe_clip
from sealshot.track.cuts import (
    ShotCutDetector,
    Switches,
    blend_residual,
    blend_view,
    hsv_change,
    light_compensated_change,
    small_frame,
    small_hsv,
    switch_residual,
)
from sealshot.video import open_source
from sealshot.video.samples import sample_clip

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "video"
HEADS = ["driving_d10.mp4", "driving_d11.mp4", "driving_d6.mp4", "source_s18.mp4"]
RESULTS = REPO / "bench" / "results"
RAMPS = [(0.35, 1.0), (0.35, 0.5), (1.4, 0.5), (2.5, 1.0)]
"""(gain reached, seconds taken) of the light ramps laid over the sample clip from its second 1 on."""
LIGHT_STEPS = (0.6, 0.8, 1.2, 1.5)
"""Gains of the steps of light (from one frame to the next, under the hard-cut threshold) at the sample's second 1."""
NOISE_SIGMA = 10.0
"""Standard deviation of the Gaussian noise added to every pixel of the talking heads (0-255)."""
SHAKE_PIXELS_AT_640 = 8.0
"""A hand-held camera: each frame shifted by up to this many pixels (of a 640-wide frame) either way, at random."""
PAN_SPEEDS = (1, 2, 3, 5, 8)
"""Pixels per frame (of a 640x360 view) of the pans over the sample's first frame."""
ZOOM_RATES = (1.1, 1.25, 1.5)
"""Magnification per second of the zooms into the sample's first frame."""


def windowed_scores(smalls: list[np.ndarray], times: list[float], shots: list[int], detector: ShotCutDetector) -> list[tuple[float, float, float, Switches]]:
    """(change, light-compensated change, blend residual, switch residual) for every frame with a full window in its shot."""
    hsvs = [small_hsv(small) for small in smalls]
    views = [blend_view(small) for small in smalls]
    scores = []
    for index in range(len(smalls)):
        first = index - 1
        while first >= 0 and shots[first] == shots[index] and times[index] - times[first] < detector.gradual_window_s - 1e-6:
            first -= 1
        if first < 0 or shots[first] != shots[index] or index - first < 2:
            continue
        between = np.stack(views[first + 1 : index])
        residual = blend_residual(views[first], between, views[index])
        switches = switch_residual(views[first], between, views[index])
        scores.append((hsv_change(hsvs[first], hsvs[index]), light_compensated_change(hsvs[first], hsvs[index]), residual, switches))
    return scores


def boundaries(smalls: list[np.ndarray], times: list[float], detector: ShotCutDetector) -> list[str]:
    """Each boundary found as "frame kind", and for a cross-fade or a wipe "(switch residual, switched area, at once)"."""
    found = []
    for index, (small, at) in enumerate(zip(smalls, times)):
        if detector.update(small, at):
            switches = detector.last_switches
            measured = f" ({switches.residual:.2f}, {switches.area:.2f}, {switches.at_once:.2f})" if switches else ""
            found.append(f"{index} {detector.boundary}{measured}")
    return found


def cost_ms(smalls: list[np.ndarray], times: list[float], settings: dict[str, Any], wipe_test: bool = True) -> float:
    best = float("inf")
    for _ in range(5):
        detector = ShotCutDetector(**settings)
        # Without the wipe test: its measure says "no wipe" at no cost, and the cross-fade test runs as it did before.
        with mock.patch("sealshot.track.cuts.switch_residual", switch_residual if wipe_test else lambda *_: Switches(1.0, 0.0, 0.0)):
            started = time.perf_counter()
            for small, at in zip(smalls, times):
                detector.update(small, at)
            best = min(best, (time.perf_counter() - started) / len(smalls))
    return 1000 * best


def ramp(smalls: list[np.ndarray], times: list[float], gain: float, seconds: float, start: float = 1.0) -> list[np.ndarray]:
    def gain_at(at: float) -> float:
        return 1.0 + (gain - 1.0) * min(max((at - start) / seconds, 0.0), 1.0)

    return [np.clip(small.astype(np.float32) * gain_at(at), 0, 255).astype(np.uint8) for small, at in zip(smalls, times)]


def noisy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image + rng.normal(0.0, NOISE_SIGMA, image.shape), 0, 255).astype(np.uint8)


def shaken(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    reach = SHAKE_PIXELS_AT_640 * width / 640
    dx, dy = rng.uniform(-reach, reach, 2)
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (width, height), borderMode=cv2.BORDER_REFLECT)


def camera_moves(still: np.ndarray, seconds: float = 3.0, fps: float = 25.0) -> dict[str, tuple[list[np.ndarray], list[float]]]:
    """A 640x360 view panning across ``still`` (from a 960x540 region of a 1080p frame) or zooming into it."""
    height, width = still.shape[:2]
    times = [index / fps for index in range(int(seconds * fps))]
    scale = height / 540
    moves: dict[str, tuple[list[np.ndarray], list[float]]] = {}
    for speed in PAN_SPEEDS:
        views = []
        for index in range(len(times)):
            left = int(index * speed * 1.5 * scale)
            views.append(still[: int(540 * scale), left : left + int(960 * scale)])
        moves[f"bundled sample, camera panning {speed} px a frame"] = ([small_frame(cv2.resize(view, (640, 360), interpolation=cv2.INTER_AREA)) for view in views], times)
    for rate in ZOOM_RATES:
        views = []
        for at in times:
            shrink = rate**-at
            crop_height, crop_width = int(height * shrink), int(width * shrink)
            top, left = (height - crop_height) // 2, (width - crop_width) // 2
            views.append(still[top : top + crop_height, left : left + crop_width])
        moves[f"bundled sample, camera zooming x{rate} a second"] = ([small_frame(cv2.resize(view, (640, 360), interpolation=cv2.INTER_AREA)) for view in views], times)
    return moves


def clips() -> dict[str, tuple[list[np.ndarray], list[float], CompositeClip | None]]:
    found: dict[str, tuple[list[np.ndarray], list[float], CompositeClip | None]] = {}
    sources = {"bundled sample": sample_clip()}
    if VIDEO.exists():
        sources |= {f"talking head {name}": VIDEO / "talking-heads" / name for name in HEADS} | {"arcade": VIDEO / "arcade-walkers-1080p.mp4"}
    rng = np.random.default_rng(0)
    for name, path in sources.items():
        frames = list(open_source(path))
        times = [frame.timestamp for frame in frames]
        found[name] = ([small_frame(frame.image) for frame in frames], times, None)
        if name.startswith("talking head"):
            found[f"{name} with noise"] = ([small_frame(noisy(frame.image, rng)) for frame in frames], times, None)
            found[f"{name} shaken"] = ([small_frame(shaken(frame.image, rng)) for frame in frames], times, None)
            found[f"{name} with noise, shaken"] = ([small_frame(noisy(shaken(frame.image, rng), rng)) for frame in frames], times, None)
    smalls, times, _ = found["bundled sample"]
    for gain, seconds in RAMPS:
        found[f"bundled sample, light x{gain} in {seconds} s"] = (ramp(smalls, times, gain, seconds), times, None)
    for gain in LIGHT_STEPS:
        found[f"bundled sample, light x{gain} at once"] = (ramp(smalls, times, gain, 1e-3), times, None)
    first_frame = next(iter(open_source(sources["bundled sample"]))).image
    found |= {name: (views, times, None) for name, (views, times) in camera_moves(first_frame).items()}
    if VIDEO.exists():
        people = [VIDEO / "talking-heads" / name for name in HEADS]
        composites = {"cuts": cut_clip(people, frames_per_shot=25, side=192)}
        for left, right in [("driving_d11.mp4", "driving_d6.mp4"), ("driving_d10.mp4", "source_s18.mp4")]:
            composites[f"crossing {left} {right}"] = crossing_clip(VIDEO / "talking-heads" / left, VIDEO / "talking-heads" / right, frame_count=50)
        for frames in (8, 12, 19, 25):
            for kind, build in (("cross-fades", dissolve_clip), ("fades through black", fade_clip)):
                composites[f"{kind} of {frames} frames"] = build(people, frames_per_shot=25, transition_frames=frames, side=192)
            for direction in ("left", "top", "diagonal"):
                composites[f"wipes ({direction}) of {frames} frames"] = wipe_clip(people, frames_per_shot=25, transition_frames=frames, side=192, direction=direction)
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
        over = [residual for _, compensated, residual, _ in scores if compensated >= threshold]
        switches_over = [switches for change, _, _, switches in scores if change >= threshold]
        least_switched = min(switches_over, key=lambda switches: switches.residual, default=None)
        wipe_like = [
            switches.at_once
            for switches in switches_over
            if switches.residual <= settings.max_switch_residual and switches.area >= settings.min_wipe_area
        ]
        result: dict[str, Any] = {
            "max_window_change": round(max((change for change, _, _, _ in scores), default=0.0), 1),
            "max_window_change_light_compensated": round(max((compensated for _, compensated, _, _ in scores), default=0.0), 1),
            "min_blend_residual_over_threshold": round(min(over), 2) if over else None,
            "min_switch_residual_over_threshold": round(least_switched.residual, 2) if least_switched else None,
            "switched_area_there": round(least_switched.area, 2) if least_switched else None,
            "max_switched_area_over_threshold": round(max(switches.area for switches in switches_over), 2) if switches_over else None,
            "min_switched_at_once_where_wipe_like": round(min(wipe_like), 2) if wipe_like else None,
            "boundaries": boundaries(smalls, times, ShotCutDetector()),
            "ms_per_frame": round(cost_ms(smalls, times, {}), 3),
            "ms_per_frame_without_wipe_test": round(cost_ms(smalls, times, {}, wipe_test=False), 3),
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
        (
            f"# Gradual transitions: windowed change over {settings.gradual_window_s} s, blend and switch residuals (cross-fade: change "
            f"{threshold}+, blend residual {settings.max_blend_residual}-; wipe: switch residual {settings.max_switch_residual}-, "
            f"switched area {settings.min_wipe_area}+, switched at once {settings.max_switched_at_once}-)"
        ),
        "",
        (
            "| clip | max change | max change, light-compensated | min blend residual where compensated change passes | min switch residual "
            "where change passes (switched area there; largest) | min switched at once where the other two pass | "
            "boundaries found (switch residual, area, at once) | shot changes | ms/frame (without the wipe test; "
            "without gradual tests) |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['max_window_change']} | {r['max_window_change_light_compensated']} | {r['min_blend_residual_over_threshold']} | "
            f"{r['min_switch_residual_over_threshold']} ({r['switched_area_there']}; {r['max_switched_area_over_threshold']}) | "
            f"{r['min_switched_at_once_where_wipe_like']} | "
            f"{', '.join(r['boundaries']) or 'none'} | {', '.join(map(str, r.get('shot_changes', []))) or '-'} | "
            f"{r['ms_per_frame']} ({r['ms_per_frame_without_wipe_test']}; {r['ms_per_frame_without_gradual_tests']}) |"
        )
    (RESULTS / "gradual_cuts.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
