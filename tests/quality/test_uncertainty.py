"""PFE and DUL_rgs: the mutual likelihood score, the regression likelihood and the quality reductions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sealshot.quality.uncertainty import (
    UncertaintyHead,
    mutual_likelihood_score,
    negative_log_harmonic_variance,
    negative_mean_log_variance,
    regression_nll,
)


def test_mls_by_hand() -> None:
    mu_a, mu_b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    log_var_a, log_var_b = torch.log(torch.tensor([[0.5, 1.0]])), torch.log(torch.tensor([[0.5, 3.0]]))
    expected = -0.5 * ((1.0 / 1.0 + math.log(1.0)) + (0.0 / 4.0 + math.log(4.0))) - math.log(2 * math.pi)
    assert float(mutual_likelihood_score(mu_a, log_var_a, mu_b, log_var_b)[0]) == pytest.approx(expected, rel=1e-6)


def test_mls_prefers_close_pairs_and_is_symmetric() -> None:
    mu = torch.nn.functional.normalize(torch.randn(3, 16), dim=1)
    log_var = torch.full((3, 16), -4.0)
    near = torch.nn.functional.normalize(mu[0:1] + 0.01 * torch.randn(1, 16), dim=1)
    assert mutual_likelihood_score(mu[0:1], log_var[0:1], near, log_var[0:1]) > mutual_likelihood_score(
        mu[0:1], log_var[0:1], mu[1:2], log_var[1:2]
    )
    forward = mutual_likelihood_score(mu[0:1], log_var[0:1], mu[1:2], log_var[2:3] + 1)
    backward = mutual_likelihood_score(mu[1:2], log_var[2:3] + 1, mu[0:1], log_var[0:1])
    assert torch.allclose(forward, backward)


def test_regression_nll_by_hand() -> None:
    mu, centre = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]])
    log_var = torch.log(torch.tensor([[2.0, 0.5]]))
    expected = 1.0 / 4.0 + 0.5 * math.log(2.0) + 0.0 + 0.5 * math.log(0.5)
    assert float(regression_nll(mu, log_var, centre)[0]) == pytest.approx(expected, rel=1e-6)


def test_reductions() -> None:
    variance = np.array([[0.1, 0.2, 0.4], [1.0, 1.0, 1.0]])
    log_var = torch.tensor(np.log(variance))
    np.testing.assert_allclose(negative_mean_log_variance(log_var).numpy(), -np.log(variance).mean(1))
    harmonic = 3 / (1 / variance).sum(1)
    np.testing.assert_allclose(negative_log_harmonic_variance(log_var).numpy(), -np.log(harmonic))


def test_head_predicts_one_log_variance_per_dimension() -> None:
    head = UncertaintyHead(12, hidden_dim=8).eval()
    assert head(torch.randn(5, 12)).shape == (5, 12)
