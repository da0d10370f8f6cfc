"""Shot boundaries (cuts, cross-fades, fades through black) against changes of light and movement."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.errors import InputError
from sealshot.track.cuts import ShotCutDetector, blend_residual, small_frame
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


def test_no_gradual_transition_in_the_talking_head_clips(talking_heads_dir: Path) -> None:
    # A head turning and talking fills the frame: over half a second the picture changes as much as a cross-fade by its
    # midpoint, but the frames between are no blend of the two ends.
    largest_window_change = 0.0
    for clip in sorted(talking_heads_dir.glob("*.mp4")):
        detector = ShotCutDetector()
        for index, (image, timestamp) in enumerate(_timed_smalls(clip)):
            assert not detector.update(image, timestamp), (clip.name, index, detector.boundary)
            largest_window_change = max(largest_window_change, detector.last_window_score)
    assert detector.gradual_threshold is not None and largest_window_change > detector.gradual_threshold


def test_no_gradual_transition_in_the_sample_clip_nor_under_a_slow_change_of_light(sample_clip: Path) -> None:
    frames = _timed_smalls(sample_clip)
    assert _boundaries(frames) == []
    for gain, seconds in [(0.35, 1.0), (0.35, 0.5), (1.4, 0.5), (2.5, 1.0)]:  # darker, or brighter until colours clip
        assert _boundaries(_light_ramp(frames, gain, seconds)) == [], (gain, seconds)


def test_a_dip_to_black_is_a_shot_of_its_own(sample_clip: Path) -> None:
    frames = _timed_smalls(sample_clip)
    # Dark from 1.0 s: to black by 1.5 s, black until 2 s, back to full light by 2.5 s.
    dipped = [(_scaled(image, min(1.0, abs(at - 1.75) / 0.5 if abs(at - 1.75) > 0.25 else 0.0)), at) for image, at in frames]
    found = _boundaries(dipped)
    assert [boundary for _, boundary in found] == ["black", "black"]
    (into, _), (out_of, _) = found
    brightness = [float(cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 2].mean()) for image, _ in dipped]
    assert brightness[into] < 12 <= brightness[into - 1] and brightness[out_of - 1] < 12 <= brightness[out_of]


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
    "setting", [{"gradual_threshold": 0.0}, {"gradual_window_s": 0.0}, {"max_blend_residual": -1.0}, {"black_level": 255.0}, {"threshold": 0.0}]
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
