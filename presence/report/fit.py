"""Ordinary least squares from grouped sufficient statistics, in pure Python (a few dozen columns)."""

import math

from presence.config import report_defaults


def solve_normal(xtx, xty, names, tolerance=report_defaults.FIT_TOLERANCE):
    """Solve `xtx @ b = xty`; columns that depend on the others are left out.

    Returns `(coefficients, inverse, kept)`: coefficients and the inverse of `xtx` for the kept
    columns (by name), and the kept names in order. A column is left out when, after the columns
    before it, less than `tolerance` of its own sum of squares is left (it adds nothing new).
    """
    kept = []
    for index in range(len(names)):
        trial = kept + [index]
        if xtx[index][index] > 0 and _cholesky([[xtx[i][j] for j in trial] for i in trial], tolerance) is not None:
            kept = trial
    if not kept:
        return {}, {}, []
    matrix = [[xtx[i][j] for j in kept] for i in kept]
    inverse = _invert(matrix)
    rhs = [xty[i] for i in kept]
    beta = [sum(inverse[r][c] * rhs[c] for c in range(len(kept))) for r in range(len(kept))]
    kept_names = [names[i] for i in kept]
    coefficients = dict(zip(kept_names, beta))
    inverse_by_name = {(kept_names[r], kept_names[c]): inverse[r][c]
                       for r in range(len(kept)) for c in range(len(kept))}
    return coefficients, inverse_by_name, kept_names


def _cholesky(matrix, tolerance):
    """Lower factor of a symmetric matrix, or None when a pivot falls below `tolerance` of its diagonal."""
    size = len(matrix)
    lower = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j] - sum(lower[i][k] * lower[j][k] for k in range(j))
            if i == j:
                if total <= tolerance * matrix[i][i]:
                    return None
                lower[i][i] = math.sqrt(total)
            else:
                lower[i][j] = total / lower[j][j]
    return lower


def _invert(matrix):
    """Gauss-Jordan inverse with partial pivoting (the matrix is known to be positive definite)."""
    size = len(matrix)
    work = [list(row) + [1.0 if i == j else 0.0 for j in range(size)] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(work[r][col]))
        work[col], work[pivot] = work[pivot], work[col]
        scale = work[col][col]
        work[col] = [value / scale for value in work[col]]
        for row in range(size):
            if row != col and work[row][col]:
                factor = work[row][col]
                work[row] = [a - factor * b for a, b in zip(work[row], work[col])]
    return [row[size:] for row in work]
