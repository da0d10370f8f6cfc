"""Shot cuts against changes of light, on frames of the bundled clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sealshot.track.cuts import ShotCutDetector
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
