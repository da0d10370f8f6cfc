"""The tracker's assignment is SciPy's ``linear_sum_assignment``, step for step: the same answer, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment as scipy_assignment

from sealshot.track.assignment import linear_sum_assignment

shapes = st.tuples(st.integers(0, 9), st.integers(0, 9))


@settings(max_examples=400, deadline=None)
@given(shapes.flatmap(lambda shape: arrays(np.float64, shape, elements=st.integers(0, 4).map(float))))
def test_small_integer_costs_full_of_ties_give_scipy_s_assignment(cost: np.ndarray) -> None:
    rows, columns = linear_sum_assignment(cost)
    expected_rows, expected_columns = scipy_assignment(cost)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(columns, expected_columns)


@settings(max_examples=300, deadline=None)
@given(shapes.flatmap(lambda shape: arrays(np.float64, shape, elements=st.floats(0.0, 1.0) | st.just(1e6))))
def test_tracker_like_costs_with_refused_pairs_give_scipy_s_assignment(cost: np.ndarray) -> None:
    rows, columns = linear_sum_assignment(cost)
    expected_rows, expected_columns = scipy_assignment(cost)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(columns, expected_columns)


def test_random_matrices_and_a_constant_one() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        cost = rng.normal(size=(rng.integers(1, 12), rng.integers(1, 12)))
        for mine, theirs in zip(linear_sum_assignment(cost), scipy_assignment(cost)):
            np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(linear_sum_assignment(np.ones((4, 4)))[1], [0, 1, 2, 3])


def test_non_finite_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        linear_sum_assignment(np.array([[0.0, np.nan]]))
