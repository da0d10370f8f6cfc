"""Shot boundaries (cuts, cross-fades, wipes, fades through black) against changes of light and movement."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.errors import InputError
from sealshot.evaluate.composites import dissolve_clip, wipe_clip
from sealshot.track.cuts import ShotCutDetector, blend_residual, small_frame, switch_residual
from sealshot.video import open_source


def _frames(sample_clip: Path, count: int) -> list[np.ndarray]:
    return [frame.image for frame, _ in zip(open_source(sample_clip), range(count))]


def _steady(first: np.ndarray, **settings: object) -> ShotCutDetector:
    """A detector that has seen ``first`` for a while (no cut is reported within ``min_shot_frames``)."""
    detector = ShotCutDetector(**settings)  # type: ignore[arg-type]
    for _ in range(detector.min_shot_frames):
        assert not detector.update(first)
    return detector


def _scaled(image: np.ndarray, gain: float, offset: float = 0.0) -> np.ndarray:
    return np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)


def test_a_change_of_light_is_not_a_cut_but_another_shot_is(sample_clip: Path) -> None:
    first, second = _frames(sample_clip, 2)
    for changed in (_scaled(second, 0.35), _scaled(second, 1.0, -100.0), _scaled(second, 1.0, 90.0), (255 * (second / 255.0) ** 2.2).astype(np.uint8)):
        detector = _steady(first)
        assert not detector.update(changed) and detector.light_changed, detector.last_score
        assert detector.last_score >= detector.threshold  # PySceneDetect's test alone would have cut here
    other_shot = np.ascontiguousarray(np.roll(second[::-1], second.shape[1] // 3, axis=1)[..., ::-1])  # the same colours, elsewhere
    detector = _steady(first)
    assert detector.update(other_shot) and not detector.light_changed


def test_without_light_tolerance_a_change_of_light_is_a_cut(sample_clip: Path) -> None:
    first, second = _frames(sample_clip, 2)
    detector = _steady(first, light_tolerant=False)
    assert detector.update(_scaled(second, 0.35))


def test_pictures_a_second_apart_may_each_start_a_shot(sample_clip: Path) -> None:
    """A folder of photos (1 picture a second): 'no second cut within 5 frames' meant no cut for 5 seconds, so the
    people of different photos were tracked as one and only one of them was sealed."""
    first, second = _frames(sample_clip, 2)
    others = [np.ascontiguousarray(np.roll(second[::-1], shift, axis=1)[..., ::-1]) for shift in (300, 900)]
    detector = ShotCutDetector()
    assert [detector.update(image, float(second)) for second, image in enumerate([first, *others])] == [False, True, True]
    video = ShotCutDetector()  # the same pictures 1/25 s apart: a flash, not three shots
    assert [video.update(image, second / 25) for second, image in enumerate([first, *others])] == [False, False, False]


@pytest.mark.parametrize("every", [6, 12])
def test_walkers_seen_a_few_times_a_second_are_no_gradual_transition(sample_clip: Path, every: int) -> None:
    """At 4 or 2 frames a second (a camera idling at a low rate, a busy host dropping frames) a half-second window held
    two or three frames, and walkers moving between them passed for a wipe: every track ended there."""
    frames = [frame for frame in open_source(sample_clip)][::every]
    detector = ShotCutDetector()
    assert [(frame.index, detector.boundary) for frame in frames if detector.update(frame.image, frame.timestamp)] == []


def test_a_picture_of_another_shape_is_a_new_shot(sample_clip: Path) -> None:
    [first] = _frames(sample_clip, 1)
    detector = ShotCutDetector()
    assert not detector.update(first, 0.0)
    assert detector.update(np.ascontiguousarray(first[:, : first.shape[1] // 2]), 1.0)


def _timed_smalls(path: Path) -> list[tuple[np.ndarray, float]]:
    return [(small_frame(frame.image), frame.timestamp) for frame in open_source(path)]


def _boundaries(frames: list[tuple[np.ndarray, float]], detector: ShotCutDetector | None = None) -> list[tuple[int, str | None]]:
    detector = detector or ShotCutDetector()
    return [(index, detector.boundary) for index, (image, timestamp) in enumerate(frames) if detector.update(image, timestamp)]


def _light_ramp(frames: list[tuple[np.ndarray, float]], gain: float, seconds: float, start: float = 1.0) -> list[tuple[np.ndarray, float]]:
    """The frames with their light changed steadily from ``start`` on, to ``gain`` times in ``seconds``."""
    return [(_scaled(image, 1.0 + (gain - 1.0) * min(max((at - start) / seconds, 0.0), 1.0)), at) for image, at in frames]


def _dipped_to_black(frames: list[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
    """The frames from full light at 1.25 s to half at 1.5 s, black from then until 2 s, back to full light by 2.25 s."""
    return [(_scaled(image, min(1.0, abs(at - 1.75) / 0.5 if abs(at - 1.75) > 0.25 else 0.0)), at) for image, at in frames]


def _least_switch_residual(frames: list[tuple[np.ndarray, float]], name: str = "") -> float:
    """The smallest switch residual the wipe test measured over ``frames``, which must hold no boundary (1.0 where the
    windowed change never reached the test)."""
    detector = ShotCutDetector()
    least = 1.0
    for index, (image, timestamp) in enumerate(frames):
        assert not detector.update(image, timestamp), (name, index, detector.boundary)
        if detector.last_switches is not None:
            least = min(least, detector.last_switches.residual)
    return least


def _shaken(image: np.ndarray, rng: np.random.Generator, pixels_at_640: float = 8.0) -> np.ndarray:
    """A hand-held camera's frame: shifted by up to ``pixels_at_640`` (of a 640-wide frame) either way, at random."""
    height, width = image.shape[:2]
    reach = pixels_at_640 * width / 640
    dx, dy = rng.uniform(-reach, reach, 2)
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (width, height), borderMode=cv2.BORDER_REFLECT)


def test_no_gradual_transition_in_the_talking_head_clips(talking_heads_dir: Path) -> None:
    # A head turning and talking fills the frame: over half a second the picture changes as much as a cross-fade by its
    # midpoint, but the frames between are no blend of the two ends, nor a wipe: the head's pixels do not switch at once
    # from their first look to their last.
    largest_window_change = 0.0
    least_switch_residual = 1.0
    for clip in sorted(talking_heads_dir.glob("*.mp4")):
        detector = ShotCutDetector()
        for index, (image, timestamp) in enumerate(_timed_smalls(clip)):
            assert not detector.update(image, timestamp), (clip.name, index, detector.boundary)
            largest_window_change = max(largest_window_change, detector.last_window_score)
            if detector.last_switches is not None:
                least_switch_residual = min(least_switch_residual, detector.last_switches.residual)
    assert detector.gradual_threshold is not None and largest_window_change > detector.gradual_threshold
    assert detector.max_switch_residual < least_switch_residual < 1.0  # the wipe test ran, and saw no wipe


@pytest.mark.parametrize("disturbance", ["noise", "shake", "noise and shake"])
def test_no_wipe_in_the_talking_head_clips_with_noise_or_a_shaking_camera(talking_heads_dir: Path, disturbance: str) -> None:
    # Noise and a hand-held camera (random 8-pixel shifts at 640 pixels) change pixels back and forth, never once for good.
    rng = np.random.default_rng(0)
    noise_fields: dict[tuple[int, ...], np.ndarray] = {}

    def disturbed(image: np.ndarray) -> np.ndarray:
        if "shake" in disturbance:
            image = _shaken(image, rng)
        if "noise" in disturbance:
            # One of a few fields of noise (sigma 10) at random each frame: drawing a new one for every frame costs seconds.
            if image.shape not in noise_fields:
                noise_fields[image.shape] = rng.normal(0.0, 10.0, (8, *image.shape)).astype(np.float32)
            fields = noise_fields[image.shape]
            image = np.clip(image + fields[rng.integers(len(fields))], 0, 255).astype(np.uint8)
        return image

    least = min(
        _least_switch_residual([(small_frame(disturbed(frame.image)), frame.timestamp) for frame in open_source(clip)], clip.name)
        for clip in sorted(talking_heads_dir.glob("*.mp4"))
    )
    assert ShotCutDetector().max_switch_residual < least < 1.0


def test_no_wipe_in_the_arcade_clip(arcade_clip: Path) -> None:
    # Walkers in flat-coloured clothes switch the pixels they enter at once, but they cover a small share of the picture.
    assert ShotCutDetector().max_switch_residual < _least_switch_residual(_timed_smalls(arcade_clip)) < 1.0


def _camera_moving_over(still: np.ndarray, speed: float = 0.0, zoom_per_s: float = 1.0, seconds: float = 3.0) -> list[tuple[np.ndarray, float]]:
    """A 640x360 view of ``still`` panning ``speed`` pixels a frame to the right (25 frames a second), or zooming in."""
    height, width = still.shape[:2]
    view_height, view_width = int(height * 0.5), int(width * 0.5)
    frames = []
    for index in range(int(seconds * 25)):
        shrink = zoom_per_s ** -(index / 25)
        crop_height, crop_width = int(view_height * shrink), int(view_width * shrink)
        left = int(index * speed * view_width / 640) + (view_width - crop_width) // 2
        top = (view_height - crop_height) // 2
        view = still[top : top + crop_height, left : left + crop_width]
        frames.append((small_frame(cv2.resize(view, (640, 360), interpolation=cv2.INTER_AREA)), index / 25))
    return frames


@pytest.mark.parametrize("speed, zoom_per_s", [(1.0, 1.0), (3.0, 1.0), (5.0, 1.0), (0.0, 1.25), (0.0, 1.5)])
def test_a_camera_panning_or_zooming_over_a_still_scene_is_no_transition(sample_clip: Path, speed: float, zoom_per_s: float) -> None:
    # Every pixel shows, frame by frame, what was beside it (or nearer the middle) before: neither a blend of the first
    # and last view, nor a switch from one to the other. (A pan faster than about 5 pixels a frame at 640 may count as
    # a cross-fade: the scene changes as much.)
    [still] = _frames(sample_clip, 1)
    assert ShotCutDetector().max_switch_residual < _least_switch_residual(_camera_moving_over(still, speed, zoom_per_s)) < 1.0


def test_no_gradual_transition_in_the_sample_clip_nor_under_a_slow_change_of_light(sample_clip: Path) -> None:
    frames = _timed_smalls(sample_clip)
    assert _boundaries(frames) == []
    max_switch_residual = ShotCutDetector().max_switch_residual
    assert max_switch_residual < _least_switch_residual(frames) < 1.0
    for gain, seconds in [(0.35, 1.0), (0.35, 0.5), (1.4, 0.5), (2.5, 1.0)]:  # darker, or brighter until colours clip
        # Every pixel changes a little each frame: a mixture of the two ends, not a switch from one to the other.
        assert max_switch_residual < _least_switch_residual(_light_ramp(frames, gain, seconds), f"x{gain} in {seconds} s") < 1.0


@pytest.mark.parametrize("gain", [0.6, 0.8, 1.2, 1.5])
def test_a_step_of_light_under_the_cut_threshold_is_no_wipe(sample_clip: Path, gain: float) -> None:
    # Every pixel goes over from its old value to its new at once, as in a wipe, but in the same frame: no edge moved.
    frames = _timed_smalls(sample_clip)
    stepped = [(image if at < 1.0 else _scaled(image, gain), at) for image, at in frames]
    detector = ShotCutDetector()
    switched_all_at_once = False
    for index, (image, timestamp) in enumerate(stepped):
        assert not detector.update(image, timestamp), (index, detector.boundary, detector.last_switches)
        assert not detector.light_changed  # under the hard-cut threshold: the light test never saw it
        switches = detector.last_switches
        if switches is not None and switches.residual <= detector.max_switch_residual and switches.area >= detector.min_wipe_area:
            switched_all_at_once = True
            assert switches.at_once > detector.max_switched_at_once
    assert switched_all_at_once, "the wipe test never saw the step"


def test_a_dip_to_black_is_a_shot_of_its_own(sample_clip: Path) -> None:
    frames = _timed_smalls(sample_clip)
    dipped = _dipped_to_black(frames)
    found = _boundaries(dipped)
    assert [boundary for _, boundary in found] == ["black", "black"]
    (into, _), (out_of, _) = found
    brightness = [float(cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 2].mean()) for image, _ in dipped]
    assert brightness[into] < 12 <= brightness[into - 1] and brightness[out_of - 1] < 12 <= brightness[out_of]


def test_the_black_frames_of_a_dip_are_a_fade_and_a_long_dark_scene_only_for_a_second(sample_clip: Path) -> None:
    frames = _timed_smalls(sample_clip)
    detector = ShotCutDetector()
    in_fade = []
    for image, timestamp in _dipped_to_black(frames):
        detector.update(image, timestamp)
        in_fade.append(detector.in_black_fade)
    (into, _), (out_of, _) = _boundaries(_dipped_to_black(frames))
    assert [index for index, flag in enumerate(in_fade) if flag] == list(range(into, out_of))
    # Lights out for good: the first max_black_fade_s of the dark are a fade's middle, the rest a dark scene.
    detector = ShotCutDetector()
    lights_out = [(image if at < 1.0 else _scaled(image, 0.02), at) for image, at in frames]
    in_fade = [(at, detector.update(image, at) or detector.in_black_fade) for image, at in lights_out]
    assert [at for at, flag in in_fade if flag] == [at for _, at in frames if 1.0 <= at <= 1.0 + detector.max_black_fade_s + 1e-6]
    # Dark from the first frame: no fade, a dark scene.
    detector = ShotCutDetector()
    assert not any(detector.update(_scaled(image, 0.02), at) or detector.in_black_fade for image, at in frames[:50])


def test_a_dark_scene_about_the_black_level_is_one_stretch_of_black(sample_clip: Path) -> None:
    first, second = _frames(sample_clip, 2)
    detector = ShotCutDetector(min_shot_frames=1)
    assert detector.black_level is not None
    brightness = float(cv2.cvtColor(first, cv2.COLOR_RGB2HSV)[..., 2].mean())
    lit, black, dim = (level * detector.black_level / brightness for level in (2.5, 0.5, 1.5))  # dim: over the level, under twice it
    assert not detector.update(_scaled(first, lit), 0.0)
    assert detector.update(_scaled(first, black), 0.04) and detector.boundary == "black"
    assert detector.update(_scaled(first, dim), 0.08) and detector.boundary == "black"  # out of the dark: the end of its shot
    for index, gain in enumerate([black, dim] * 6):  # hovering about the level, never lit again
        assert not detector.update(_scaled(second, gain), 0.12 + index * 0.04), index


def test_a_flickering_light_starts_a_shot_at_most_every_few_frames(sample_clip: Path) -> None:
    first, second = _frames(sample_clip, 2)
    detector = _steady(first)
    flicker = [_scaled(second, 0.02 if index % 2 else 1.0) for index in range(20)]  # out every other frame
    found = [index for index, image in enumerate(flicker) if detector.update(image)]
    # Each time it goes out is a shot into the dark and one out of it, but not more often than a hard cut may come.
    assert found and len(found) <= 2 * (len(flicker) // detector.min_shot_frames + 1), found


@pytest.mark.parametrize(
    "setting",
    [
        {"gradual_threshold": 0.0},
        {"gradual_window_s": 0.0},
        {"max_blend_residual": -1.0},
        {"max_switch_residual": 0.0},
        {"min_wipe_area": 1.5},
        {"max_switched_at_once": 0.0},
        {"black_level": 255.0},
        {"threshold": 0.0},
        {"gradual_min_frames": 2},
        {"max_black_fade_s": 0.0},
    ],
)
def test_unusable_settings_are_refused(setting: dict[str, float]) -> None:
    with pytest.raises(InputError, match=next(iter(setting))):
        ShotCutDetector(**setting)  # type: ignore[arg-type]


def test_blend_residual_tells_a_blend_from_movement() -> None:
    rng = np.random.default_rng(0)
    first, last = rng.uniform(0, 255, (2, 27, 48, 3)).astype(np.float32)
    blends = np.stack([first * (1 - weight) + last * weight for weight in (0.25, 0.5, 0.75)])
    assert blend_residual(first, blends, last) < 1e-3
    moved = np.stack([np.roll(first, shift, axis=1) for shift in (4, 8, 12)])  # a picture panned by 16 pixels in all
    assert blend_residual(first, moved, np.roll(first, 16, axis=1)) > 0.5
    # A change of light along the way is a blend too, and does not dilute the movement's residual.
    assert blend_residual(first, moved * 1.3, np.roll(first, 16, axis=1) * 1.6) > 0.5


def _wiped_columns(first: np.ndarray, last: np.ndarray, edges: list[int]) -> np.ndarray:
    return np.stack([np.concatenate([last[:, :edge], first[:, edge:]], axis=1) for edge in edges])


def test_switch_residual_tells_a_wipe_from_a_blend_and_movement() -> None:
    rng = np.random.default_rng(0)
    first, last = rng.uniform(0, 255, (2, 27, 48, 3)).astype(np.float32)
    wipe = switch_residual(first, _wiped_columns(first, last, [8, 16, 24, 32, 40]), last)
    assert wipe.residual < 0.05 and wipe.area > 0.9  # nearly every pixel changed, and each switched once
    assert wipe.at_once < 0.2  # a sixth of the picture in each frame, as the edge moved on
    step = switch_residual(first, np.stack([first, first, last, last]), last)
    assert step.residual < 0.05 and step.at_once == 1.0  # a cut, or a step of light: every pixel switched at once
    half_way = switch_residual(first, _wiped_columns(first, last, [4, 8, 12, 16]), _wiped_columns(first, last, [24])[0])
    assert half_way.residual < 0.05 and 0.4 < half_way.area < 0.5  # the wipe under way: half the picture switched so far
    blends = np.stack([first * (1 - weight) + last * weight for weight in np.linspace(0.1, 0.9, 9)])
    assert switch_residual(first, blends, last).residual > 0.9  # a cross-fade: every pixel a mixture through its middle half
    moved = np.stack([np.roll(first, shift, axis=1) for shift in (4, 8, 12)])
    assert switch_residual(first, moved, np.roll(first, 16, axis=1)).residual > 0.5  # a pan: other content in between
    back_and_forth = np.stack([first, last, first, last])  # a flicker between two pictures: switched, but not once
    assert switch_residual(first, back_and_forth, last).residual > 0.9
    assert switch_residual(first, np.stack([first, first]), first) == (1.0, 0.0, 0.0)  # nothing changed


def test_a_fade_is_fading_and_the_clip_itself_and_a_slow_change_of_light_are_not(sample_clip: Path) -> None:
    frames = _timed_smalls(sample_clip)
    detector = ShotCutDetector()
    for image, timestamp in frames:
        detector.update(image, timestamp)
        assert not detector.fading, timestamp  # walkers, the camera's own noise
    for gain, seconds in [(0.6, 2.0), (1.5, 2.0)]:  # light dimmed or raised over two seconds: 1-2 % a frame
        detector = ShotCutDetector()
        for image, timestamp in _light_ramp(frames, gain, seconds):
            detector.update(image, timestamp)
            assert not detector.fading, (gain, seconds, timestamp)
    # Into and out of the dip the picture's value moves by 8 % of itself or more each frame.
    dipped = _dipped_to_black(frames)
    detector = ShotCutDetector()
    fading_at = []
    for image, timestamp in dipped:
        detector.update(image, timestamp)
        if detector.fading:
            fading_at.append(timestamp)
    changing = [at for _, at in frames if 1.27 < at <= 1.53 or 2.01 < at <= 2.25]
    assert changing and fading_at == changing


def test_a_transition_is_under_way_from_its_boundary_until_the_picture_settles(talking_heads_dir: Path) -> None:
    """The tracker matches on motion alone while it is (the colours of a wipe's or a cross-fade's frames mix two
    pictures); a false boundary on a moving picture cannot keep it so for more than a second."""
    people = [talking_heads_dir / name for name in ("driving_d10.mp4", "driving_d11.mp4")]
    for clip in (dissolve_clip(people, frames_per_shot=25, transition_frames=19, side=192), wipe_clip(people, 25, 19, 192, direction="top")):
        detector = ShotCutDetector()
        under_way = []
        for frame in clip.frames:
            boundary = detector.update(frame.image, frame.timestamp)
            under_way.append(detector.transition_under_way)
            assert not boundary or detector.transition_under_way
        start = under_way.index(True)
        assert 20 <= start <= 40 and 0.3 < sum(under_way) / 25 <= 1.0  # from the boundary, for less than a second
        assert not any(under_way[start + sum(under_way) :])
    # A boundary taken where there is none, on a fast pan (its windowed change stays over the threshold).
    panning, picture = ShotCutDetector(), _timed_smalls(talking_heads_dir / "driving_d6.mp4")[0][0]
    under_way = []
    for index in range(75):
        panning.update(np.roll(picture, 3 * index, axis=1), index / 25)
        if index == 20:
            panning._new_shot("gradual", panning._previous, index / 25)  # type: ignore[arg-type]
        under_way.append(panning.transition_under_way)
    assert panning.last_window_score > panning.gradual_threshold  # type: ignore[operator]
    assert under_way[20:45] == [True] * 25 and not any(under_way[45:])
