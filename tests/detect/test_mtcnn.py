from __future__ import annotations

import cv2
import numpy as np

from sealshot.detect import MTCNNConfig, MTCNNDetector
from sealshot.detect.mtcnn import nms
from sealshot.video import open_source
from tests.conftest import shared_path


def _rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_one_face_with_plausible_landmarks_on_lfw(detector: MTCNNDetector, lfw_dir) -> None:
    image = _rgb(lfw_dir / "images" / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg")
    detections = detector.detect([image])[0]
    assert len(detections) == 1
    x1, y1, x2, y2 = detections.boxes[0]
    # LFW deep-funneled faces sit in the centre of the 250x250 image.
    assert 90 < (x1 + x2) / 2 < 160 and 90 < (y1 + y2) / 2 < 160
    assert detections.scores[0] > 0.99
    left_eye, right_eye, nose, mouth_left, mouth_right = detections.landmarks[0]
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert all(x1 <= p[0] <= x2 and y1 <= p[1] <= y2 for p in detections.landmarks[0])


def test_no_face_in_a_blank_frame(detector: MTCNNDetector) -> None:
    assert len(detector.detect([np.full((240, 320, 3), 127, np.uint8)])[0]) == 0


def test_batch_gives_the_same_faces_as_single_frames(detector: MTCNNDetector, sample_clip) -> None:
    frames = [f.image for f, _ in zip(open_source(sample_clip), range(3))]
    batched = detector.detect(frames)
    for frame, together in zip(frames, batched):
        alone = detector.detect([frame])[0]
        assert len(alone) == len(together)
        np.testing.assert_allclose(np.sort(alone.boxes, axis=0), np.sort(together.boxes, axis=0), atol=1.0)


def test_finds_the_arcade_faces_and_refines_them(sample_clip) -> None:
    frame = next(iter(open_source(sample_clip))).image
    detector = MTCNNDetector(MTCNNConfig(min_face_size=20))
    found = detector.detect([frame])[0]
    assert 5 <= len(found) <= 10
    refined = detector.refine(frame, found.boxes)
    assert len(refined) >= len(found) - 1


def test_detection_scale_maps_boxes_back_to_full_resolution(sample_clip) -> None:
    frame = next(iter(open_source(sample_clip))).image
    full = MTCNNDetector(MTCNNConfig(min_face_size=40)).detect([frame])[0]
    scaled = MTCNNDetector(MTCNNConfig(min_face_size=20, detect_max_side=960)).detect([frame])[0]
    big = full.widths > 60
    for box in full.boxes[big]:
        centres = (scaled.boxes[:, :2] + scaled.boxes[:, 2:]) / 2
        distance = np.linalg.norm(centres - (box[:2] + box[2:]) / 2, axis=1)
        assert distance.min() < 0.2 * (box[2] - box[0])


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.8, 0.9, 0.7], np.float32)
    assert sorted(nms(boxes, scores, 0.5).tolist()) == [1, 2]
    assert sorted(nms(boxes, scores, 0.5, mode="min").tolist()) == [1, 2]


def test_shared_lfw_fixture_exists() -> None:
    assert shared_path("lfw", "pairs.txt").is_file()


def test_the_pyramid_averages_each_level_from_the_one_before(sample_clip) -> None:
    """Level sizes follow the scales of the reduced frame; each level is close to averaging the reduced frame directly."""
    frame = next(iter(open_source(sample_clip))).image
    detector = MTCNNDetector(MTCNNConfig(detect_max_side=960, chained_pyramid=True))
    height, width = 540, 960
    scales = detector._scales(height, width)
    level = detector._levels([frame], height, width, scales)
    levels = [level(k) for k in range(len(scales))]
    reduced = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    assert len(levels) == len(scales) >= 5
    for level, scale in zip(levels, scales):
        size = (int(width * scale + 1), int(height * scale + 1))
        assert level.shape == (1, size[1], size[0], 3) and level.dtype == np.uint8
        direct = cv2.resize(reduced, size, interpolation=cv2.INTER_AREA)
        assert np.abs(level[0].astype(int) - direct).mean() < 10  # the same picture, a little more blurred


def test_the_papers_pyramid_averages_every_level_from_the_reduced_frame(sample_clip) -> None:
    frame = next(iter(open_source(sample_clip))).image
    detector = MTCNNDetector(MTCNNConfig(detect_max_side=960, chained_pyramid=False))
    scales = detector._scales(540, 960)
    reduced = cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA)
    level_at = detector._levels([frame], 540, 960, scales)
    for level, scale in zip((level_at(k) for k in range(len(scales))), scales):
        size = (int(960 * scale + 1), int(540 * scale + 1))
        np.testing.assert_array_equal(level[0], cv2.resize(reduced, size, interpolation=cv2.INTER_AREA))
