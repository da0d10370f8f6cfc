"""SER-FIQ: equation 1, the fixed dropout-mask bank, and determinism per image."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from sealshot.quality.recognition import weights_path
from sealshot.quality.serfiq import PASSES, SerFiq, SerFiqHead, dropout_masks, robustness_quality, serfiq_quality


def test_identical_passes_give_quality_one() -> None:
    outputs = torch.nn.functional.normalize(torch.randn(3, 1, 8), dim=-1).expand(3, 10, 8)
    assert torch.allclose(robustness_quality(outputs), torch.ones(3))


def test_quality_matches_equation_one_by_hand() -> None:
    generator = torch.Generator().manual_seed(1)
    outputs = torch.nn.functional.normalize(torch.randn(2, 5, 4, generator=generator), dim=-1)
    m = outputs.shape[1]
    for face in range(2):
        pair_sum = sum(float(torch.dist(outputs[face, i], outputs[face, j])) for i, j in itertools.combinations(range(m), 2))
        expected = 2 / (1 + np.exp((2 / m**2) * pair_sum))
        assert float(robustness_quality(outputs)[face]) == pytest.approx(expected, rel=1e-5)


def test_more_spread_means_lower_quality() -> None:
    centre = torch.nn.functional.normalize(torch.randn(1, 1, 16), dim=-1)
    noise = torch.randn(1, 20, 16)
    tight = torch.nn.functional.normalize(centre + 0.05 * noise, dim=-1)
    loose = torch.nn.functional.normalize(centre + 0.5 * noise, dim=-1)
    assert robustness_quality(tight) > robustness_quality(loose)


def test_mask_bank_is_fixed_and_inverted_dropout() -> None:
    masks = dropout_masks(PASSES, 512, 0.5)
    assert torch.equal(masks, dropout_masks(PASSES, 512, 0.5))
    assert set(torch.unique(masks).tolist()) == {0.0, 2.0}
    assert 0.45 < float((masks > 0).float().mean()) < 0.55


def test_score_of_a_face_does_not_depend_on_its_batch() -> None:
    torch.manual_seed(0)
    head = SerFiqHead(32, hidden_dim=64, output_dim=16).eval()
    embeddings = np.random.default_rng(0).normal(size=(150, 32)).astype(np.float32)
    alone = serfiq_quality(head, embeddings[7:8])
    together = serfiq_quality(head, embeddings)
    assert together.shape == (150,)
    assert np.all((together > 0) & (together <= 1))
    np.testing.assert_allclose(alone[0], together[7], rtol=1e-12)
    np.testing.assert_array_equal(together, serfiq_quality(head, embeddings))


@pytest.mark.parametrize("comparator, dim", [("facenet", 512), ("dlib", 128)])
def test_shipped_head_scores_embeddings(comparator: str, dim: int) -> None:
    if not weights_path("serfiq", comparator).is_file():
        pytest.skip(f"no shipped SER-FIQ head for {comparator} yet")
    method = SerFiq(comparator)
    embeddings = np.random.default_rng(0).normal(size=(4, dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    scores = method.score_embeddings(embeddings)
    assert scores.shape == (4,) and np.all((scores > 0) & (scores <= 1))
    np.testing.assert_array_equal(scores, method.score_embeddings(embeddings))
