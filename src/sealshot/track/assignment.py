"""Minimum-cost assignment of tracks to detections, without importing ``scipy.optimize``.

``scipy.optimize.linear_sum_assignment`` is what the tracker used; importing ``scipy.optimize`` loads
about 390 modules and 39 MB of resident memory in every camera process, for one function on matrices
of a few rows. This is the same algorithm (the shortest augmenting path of Crouse, "On implementing 2D
rectangular assignment algorithms", IEEE TAES 2016, as SciPy's ``rectangular_lsap.cpp`` implements it),
step for step, so that it returns the same assignment as SciPy, ties included
(``tests/track/test_assignment.py`` checks it against SciPy).

Why not a small library instead: ``lap`` (LAPJV, used by ByteTrack) was tried and returns a
non-minimal assignment on tracker-like matrices with refused pairs (hypothesis found
``[[0, R, R, R], [R, R, R, R], [R, R, R, R]]``, R = 1e6: cost 3R instead of 2R, leaving track 0
unmatched); a wrong assignment here is a broken track, so this faithful port is kept.
"""

from __future__ import annotations

import math

import numpy as np


def linear_sum_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a minimum-cost complete assignment of the smaller side, as SciPy returns them
    (rows ascending; for a tall matrix, sorted by column). Costs must be finite."""
    matrix = np.asarray(cost, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {matrix.ndim}-D array")
    if not np.isfinite(matrix).all():
        raise ValueError("cost matrix must be finite")
    rows, columns = matrix.shape
    if rows == 0 or columns == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    transposed = columns < rows
    if transposed:
        matrix = matrix.T
    column_of_row = _solve(matrix.tolist(), *matrix.shape)
    if transposed:
        order = np.argsort(column_of_row)
        return np.asarray(column_of_row, np.intp)[order], order.astype(np.intp)
    return np.arange(len(column_of_row), dtype=np.intp), np.asarray(column_of_row, np.intp)


def _solve(cost: list[list[float]], rows: int, columns: int) -> list[int]:
    """``rows <= columns``; the column of each row."""
    u = [0.0] * rows
    v = [0.0] * columns
    shortest = [math.inf] * columns
    path = [-1] * columns
    column_of_row = [-1] * rows
    row_of_column = [-1] * columns
    for current in range(rows):
        sink, min_value, visited_rows, visited_columns = _augmenting_path(cost, columns, u, v, path, row_of_column, shortest, current)
        u[current] += min_value
        for i in range(rows):
            if visited_rows[i] and i != current:
                u[i] += min_value - shortest[column_of_row[i]]
        for j in range(columns):
            if visited_columns[j]:
                v[j] -= min_value - shortest[j]
        j = sink
        while True:
            i = path[j]
            row_of_column[j] = i
            column_of_row[i], j = j, column_of_row[i]
            if i == current:
                break
    return column_of_row


def _augmenting_path(
    cost: list[list[float]], columns: int, u: list[float], v: list[float], path: list[int], row_of_column: list[int], shortest: list[float], i: int
) -> tuple[int, float, list[bool], list[bool]]:
    min_value = 0.0
    # Filled in reverse, as SciPy does, so that a constant matrix gives the identity.
    remaining = list(range(columns - 1, -1, -1))
    visited_rows = [False] * len(u)
    visited_columns = [False] * columns
    for j in range(columns):
        shortest[j] = math.inf
    sink = -1
    while sink == -1:
        index = -1
        lowest = math.inf
        visited_rows[i] = True
        row = cost[i]
        for position in range(len(remaining)):
            j = remaining[position]
            reduced = min_value + row[j] - u[i] - v[j]
            if reduced < shortest[j]:
                path[j] = i
                shortest[j] = reduced
            # Among equal costs, prefer a column that ends the path.
            if shortest[j] < lowest or (shortest[j] == lowest and row_of_column[j] == -1):
                lowest = shortest[j]
                index = position
        min_value = lowest
        if min_value == math.inf:  # pragma: no cover - finite costs always have a complete assignment
            raise ValueError("cost matrix is infeasible")
        j = remaining[index]
        if row_of_column[j] == -1:
            sink = j
        else:
            i = row_of_column[j]
        visited_columns[j] = True
        remaining[index] = remaining[-1]
        remaining.pop()
    return sink, min_value, visited_rows, visited_columns
