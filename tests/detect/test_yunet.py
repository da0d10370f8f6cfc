from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.config import PipelineConfig
from sealshot.detect import MTCNNDetector, YuNetConfig, YuNetDetector, create_detector
from sealshot.detect.yunet import WEIGHTS_FILE, noise_sigma
from sealshot.errors import InputError
from sealshot.video import open_source
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def yunet() -> YuNetDetector:
    return YuNetDetector()


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_one_face_with_mtcnns_landmark_order_on_lfw(yunet: YuNetDetector, lfw_dir: Path) -> None:
    detections = yunet.detect([_rgb(lfw_dir / "images" / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg")])[0]
    assert len(detections) == 1
    x1, y1, x2, y2 = detections.boxes[0]
    assert 90 < (x1 + x2) / 2 < 160 and 90 < (y1 + y2) / 2 < 160
    assert detections.scores[0] > 0.8
    left_eye, right_eye, nose, mouth_left, mouth_right = detections.landmarks[0]
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_no_face_in_a_blank_frame_of_any_size(yunet: YuNetDetector) -> None:
    for shape in ((240, 320, 3), (1080, 1920, 3), (33, 47, 3)):
        assert len(yunet.detect([np.full(shape, 127, np.uint8)])[0]) == 0


def test_a_downscaled_frame_gives_boxes_in_full_resolution_pixels(sample_clip: Path) -> None:
    """The sample is 1080p: at 640 px and at 1920 px (no downscaling) the faces are found at the same places, and the
    landmarks lie in their boxes."""
    frame = next(iter(open_source(sample_clip))).image
    reduced = YuNetDetector(YuNetConfig(max_side=640)).detect([frame])[0]
    full = YuNetDetector(YuNetConfig(max_side=1920)).detect([frame])[0]
    assert len(reduced) >= 5
    centres = (full.boxes[:, :2] + full.boxes[:, 2:]) / 2
    for box, points in zip(reduced.boxes, reduced.landmarks):
        centre, side = (box[:2] + box[2:]) / 2, box[2] - box[0]
        assert np.min(np.linalg.norm(centres - centre, axis=1)) < 0.3 * side
        assert np.all((points >= box[:2] - 0.2 * side) & (points <= box[2:] + 0.2 * side))


def test_refine_keeps_the_faces_over_the_boxes_given(yunet: YuNetDetector, sample_clip: Path) -> None:
    frame = next(iter(open_source(sample_clip))).image
    everyone = yunet.detect([frame])[0]
    kept = yunet.refine(frame, everyone.boxes[:2])
    np.testing.assert_allclose(kept.boxes, everyone.boxes[:2])
    assert len(yunet.refine(frame, np.zeros((0, 4), np.float32))) == 0


def test_the_registry_maps_each_name_to_its_detector() -> None:
    assert isinstance(create_detector("yunet"), YuNetDetector)
    assert isinstance(create_detector("mtcnn"), MTCNNDetector)
    with pytest.raises(InputError, match="unknown face detector 'retina'"):
        create_detector("retina")
    with pytest.raises(InputError, match="face_detector must be one of"):
        PipelineConfig(face_detector="retina")
    with pytest.raises(InputError, match="score_threshold"):
        YuNetConfig(score_threshold=1.5)
    with pytest.raises(InputError, match="denoise_from"):
        YuNetConfig(denoise_from=0.0)


def test_using_yunet_keeps_what_was_set_otherwise() -> None:
    profile = PipelineConfig().using_yunet()
    assert (profile.face_detector, profile.detect_every, profile.tracker.min_peak_score, profile.motion_threshold) == ("yunet", 1, 0.7, None)
    chosen = PipelineConfig(detect_every=3)
    chosen = PipelineConfig(detect_every=3, tracker=type(chosen.tracker)(min_peak_score=0.8)).using_yunet()
    assert (chosen.detect_every, chosen.tracker.min_peak_score) == (3, 0.8)


def test_the_weights_ship_in_the_package() -> None:
    from importlib import resources

    weights = resources.files("sealshot.detect.weights")
    assert weights.joinpath(WEIGHTS_FILE).read_bytes()[:2] and weights.joinpath("LICENSE-yunet.md").is_file()


def test_the_arcade_clips_fast_walker_is_sealed_with_yunet() -> None:
    """The arcade clip's walker in profile (frames 0-4) is found by MTCNN at full resolution on 2 of his 5 frames and
    never sealed by its fast path; YuNet finds him on each, and the pipeline seals him once."""
    from sealshot.pipeline import CameraPipeline
    from sealshot.quality import get_quality
    from tests.test_pipeline import CollectingSink

    clip = shared_path("video", "arcade-walkers-1080p.mp4")
    config = PipelineConfig(camera_id="arcade", lanes=2).using_yunet()
    sink = CollectingSink()
    pipeline = CameraPipeline(config, get_quality("size"), sink, 0.0)
    for _ in pipeline.process_stream(frame for frame, _ in zip(open_source(clip), range(12))):
        pass
    pipeline.finish()
    walker = [s for s in sink.snapshots if s.first_seen == 0.0 and s.box[0] > 1350 and s.box[1] < 650]
    assert len(walker) == 1, [(s.track_id, s.box, s.detections) for s in sink.snapshots]
    assert pipeline.full_detections == pipeline.frames_processed == 12
    assert pipeline.full_detections_ahead >= 10  # each frame's detection ran beside the frame before it


def test_noise_sigma_measures_added_gaussian_noise(talking_heads_dir: Path) -> None:
    frame = next(iter(open_source(talking_heads_dir / "driving_d10.mp4"))).image
    assert noise_sigma(frame) < 1.0  # clean footage
    rng = np.random.default_rng(0)
    for sigma in (5.0, 10.0, 20.0):
        noisy = np.clip(frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape), 0, 255).astype(np.uint8)
        # Grey averages the three channels' independent noise: about σ/√3 of it remains, plus the picture's own.
        assert abs(noise_sigma(noisy) - sigma * np.sqrt((0.299**2 + 0.587**2 + 0.114**2))) < 0.15 * sigma


def test_a_dim_face_in_heavy_noise_is_found_once_smoothed(talking_heads_dir: Path) -> None:
    """A talking head at a fifth of its light under noise of σ 18 (grey σ about 12): as it is, YuNet scores it under the
    false-alarm level or not at all; smoothed (the default), well over it, on every frame."""
    rng = np.random.default_rng(1)
    frames = [
        np.clip(frame.image.astype(np.float32) * 0.2 + rng.normal(0.0, 18.0, frame.image.shape), 0, 255).astype(np.uint8)
        for frame, _ in zip(open_source(talking_heads_dir / "driving_d10.mp4"), range(10))
    ]
    smoothed, as_it_is = YuNetDetector(), YuNetDetector(YuNetConfig(denoise_from=None))
    level = YuNetConfig().min_peak_score
    for frame in frames:
        assert noise_sigma(frame) >= YuNetConfig().denoise_from  # type: ignore[operator]
        best = smoothed.detect([frame])[0]
        assert len(best) == 1 and best.scores[0] > level + 0.1
        plain = as_it_is.detect([frame])[0]
        assert len(plain) == 0 or plain.scores.max() < level


def test_clean_frames_are_not_smoothed(sample_clip: Path) -> None:
    """The sample's noise is far under the level: detections are those of the detector that never smooths, bit for bit."""
    frame = next(iter(open_source(sample_clip))).image
    ours, never = YuNetDetector().detect([frame])[0], YuNetDetector(YuNetConfig(denoise_from=None)).detect([frame])[0]
    np.testing.assert_array_equal(ours.boxes, never.boxes)
    np.testing.assert_array_equal(ours.scores, never.scores)


def test_mtcnn_points_replace_yunets_own_where_onet_confirms_the_face(lfw_dir: Path, sample_clip: Path) -> None:
    """YuNet's boxes and scores, O-Net's five points (R- and O-Net run on YuNet's box, as MTCNN refines a track)."""
    plain, with_points = YuNetDetector(), YuNetDetector(YuNetConfig(mtcnn_points=True))
    onet = MTCNNDetector()
    frames = [_rgb(lfw_dir / "images" / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg"), next(iter(open_source(sample_clip))).image]
    replaced = 0
    for frame in frames:
        ours, theirs = plain.detect([frame])[0], with_points.detect([frame])[0]
        np.testing.assert_array_equal(ours.boxes, theirs.boxes)
        np.testing.assert_array_equal(ours.scores, theirs.scores)
        confirmed = onet.refine(frame, ours.boxes)
        for index, points in enumerate(theirs.landmarks):
            same_as_onet = [np.array_equal(points, other) for other in confirmed.landmarks]
            if any(same_as_onet):
                replaced += 1
                assert not np.allclose(points, ours.landmarks[index], atol=0.5)
            else:
                np.testing.assert_array_equal(points, ours.landmarks[index])  # O-Net did not confirm: YuNet's stay
    assert replaced >= 4  # the LFW face and most of the sample's
