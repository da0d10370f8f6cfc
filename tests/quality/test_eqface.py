"""EQFace: the combined margin, loss (6), the quality branch and quality-weighted aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sealshot.quality.eqface import QualityBranch, aggregate_embeddings, combined_margin_logits, eqface_loss


def test_zero_margins_leave_cosines_unchanged() -> None:
    cosines = torch.tensor([[0.5, -0.2, 0.1], [0.0, 0.9, 0.3]])
    labels = torch.tensor([0, 1])
    assert torch.allclose(combined_margin_logits(cosines, labels, (1.0, 0.0, 0.0)), cosines, atol=1e-5)


def test_margin_lowers_only_the_true_class_logit() -> None:
    cosines = torch.tensor([[0.5, -0.2, 0.1]])
    logits = combined_margin_logits(cosines, torch.tensor([0]), (1.0, 0.3, 0.2))
    assert float(logits[0, 0]) == pytest.approx(math.cos(math.acos(0.5) + 0.3) - 0.2, abs=1e-5)
    assert torch.equal(logits[0, 1:], cosines[0, 1:])


def test_margin_stays_monotone_past_pi() -> None:
    cosines = torch.linspace(-0.999, 0.999, 200)[:, None].repeat(1, 2)
    logits = combined_margin_logits(cosines, torch.zeros(200, dtype=torch.long), (1.0, 0.5, 0.0))[:, 0]
    assert bool(torch.all(logits[1:] >= logits[:-1]))


def test_zero_quality_makes_loss_log_classes() -> None:
    cosines = torch.rand(4, 7) * 2 - 1
    loss = eqface_loss(cosines, torch.tensor([0, 1, 2, 3]), torch.zeros(4), scale=32.0)
    assert float(loss) == pytest.approx(math.log(7), rel=1e-5)


def test_loss_rewards_high_quality_only_for_well_classified_faces() -> None:
    labels = torch.tensor([0])
    good = torch.tensor([[0.95, 0.0, 0.0]])
    bad = torch.tensor([[-0.5, 0.8, 0.0]])
    high, low = torch.tensor([1.0]), torch.tensor([0.1])
    assert eqface_loss(good, labels, high, 32.0) < eqface_loss(good, labels, low, 32.0)
    assert eqface_loss(bad, labels, high, 32.0) > eqface_loss(bad, labels, low, 32.0)


def test_quality_branch_outputs_unit_interval() -> None:
    branch = QualityBranch(16, hidden_dim=8).eval()
    scores = branch(torch.randn(5, 16))
    assert scores.shape == (5,) and bool(torch.all((scores >= 0) & (scores <= 1)))


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_aggregate_is_the_normalised_weighted_sum() -> None:
    embeddings = _unit(np.random.default_rng(0).normal(size=(4, 8)))
    qualities = np.array([0.1, 0.5, 0.2, 0.9])
    expected = qualities @ embeddings
    np.testing.assert_allclose(aggregate_embeddings(embeddings, qualities), expected / np.linalg.norm(expected), rtol=1e-5)


def test_aggregate_skips_failures_and_low_quality() -> None:
    embeddings = _unit(np.random.default_rng(1).normal(size=(3, 8)))
    result = aggregate_embeddings(embeddings, np.array([np.nan, 0.9, 0.05]), min_quality=0.1)
    np.testing.assert_allclose(result, embeddings[1], rtol=1e-5)


def test_aggregate_falls_back_to_the_best_face() -> None:
    embeddings = _unit(np.random.default_rng(2).normal(size=(3, 8)))
    result = aggregate_embeddings(embeddings, np.array([-2.0, -1.0, np.nan]))
    np.testing.assert_allclose(result, embeddings[1], rtol=1e-5)


def test_aggregate_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        aggregate_embeddings(np.ones((3, 4)), np.ones(2))
