"""cr-distilled's training: its degradations, its target and its fit, on small synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from sealshot.train import distill


@pytest.fixture(scope="module")
def face_like() -> np.ndarray:
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:120, 0:100]
    base = 120 + 60 * np.sin(xs / 7.0) * np.cos(ys / 9.0)
    return np.clip(base[..., None] + rng.normal(0, 10, (120, 100, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", distill.KINDS)
def test_each_kind_keeps_the_shape_and_changes_the_image_more_at_a_stronger_level(kind: str, face_like: np.ndarray) -> None:
    low, high = distill.RANGES[kind]
    mild_level, strong_level = (high, low) if kind in ("darken", "shade", "jpeg") else (low, high)  # lower = stronger there
    mild = distill.apply_kind(face_like, kind, mild_level, np.random.default_rng(1))
    strong = distill.apply_kind(face_like, kind, strong_level, np.random.default_rng(1))
    assert mild.shape == strong.shape == face_like.shape and strong.dtype == np.uint8
    change = lambda image: float(np.abs(image.astype(float) - face_like).mean())  # noqa: E731
    assert change(strong) > change(mild) > 0


def test_training_copies_are_reproducible_from_their_seed(face_like: np.ndarray) -> None:
    first, kind = distill.degrade_for_training(face_like, np.random.default_rng([0, 5, 1]))
    again, kind_again = distill.degrade_for_training(face_like, np.random.default_rng([0, 5, 1]))
    assert kind == kind_again and np.array_equal(first, again)
    kinds = {distill.degrade_for_training(face_like, np.random.default_rng([0, k, 1]))[1] for k in range(200)}
    assert set(distill.KINDS) <= {part for name in kinds for part in name.split("+")}
    assert any("+" in name for name in kinds)  # a second kind on top, now and then


def test_recognisability_is_own_centre_minus_the_nearest_other() -> None:
    centres = np.eye(3)
    embeddings = np.array([[0.8, 0.6, 0.0], [0.6, 0.8, 0.0]])
    assert distill.recognisability(embeddings, np.array([0, 0]), centres) == pytest.approx([0.2, -0.2])


def test_each_teacher_is_standardised_before_the_mean() -> None:
    data = {"crops": np.zeros((4, 64, 64)), "target_facenet": np.array([0.1, 0.2, 0.3, 0.4]), "target_dlib": np.array([1.0, 3.0, 5.0, 7.0])}
    target, standardise = distill.combined_target(data, ("facenet", "dlib"))
    assert target.mean() == pytest.approx(0) and target.std() == pytest.approx(1)
    assert standardise["dlib"] == pytest.approx([4.0, np.sqrt(5.0)])


def test_the_student_learns_a_target_it_can_see() -> None:
    rng = np.random.default_rng(0)
    contrast = rng.uniform(0.05, 1.0, 400)
    pattern = np.sin(np.arange(64) / 3.0)[None, :] * np.cos(np.arange(64) / 5.0)[:, None]
    crops = np.clip(128 + 120 * contrast[:, None, None] * pattern[None] + rng.normal(0, 4, (400, 64, 64)), 0, 255).astype(np.uint8)
    identity = np.repeat(np.arange(40), 10)
    model, meta = distill.fit(crops, contrast, identity, width=8, epochs=8, seed=0, log=lambda _: None)
    assert meta["validation_spearman"] > 0.8
    assert spearmanr(model.fused_for_inference()(distill.crops_to_tensor(crops)).detach().numpy(), contrast).statistic > 0.8
