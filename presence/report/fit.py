"""Ordinary least squares from sufficient statistics (a few dozen columns)."""

import math

from presence.config import report_defaults


def solve_normal(xtx, xty, names, tolerance=report_defaults.FIT_TOLERANCE):
    """Solve `xtx @ b = xty`; columns that depend on the others are left out.

    Returns `(coefficients, inverse, kept)`: coefficients and the inverse of `xtx` for the kept
    columns (by name), and the kept names in order. A column is left out when, after the columns
    before it, less than `tolerance` of its own sum of squares is left (it adds nothing new).
    """
    kept, lower = [], []
    for index in range(len(names)):
        row = _cholesky_row(xtx, kept, lower, index, tolerance)
        if row is not None:
            kept.append(index)
            lower.append(row)
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


def _cholesky_row(matrix, kept, lower, index, tolerance):
    """The next row of the Cholesky factor of `matrix` over `kept` + [index], or None when its pivot falls
    below `tolerance` of its diagonal. The rows before it are `lower`'s: the factor of a bordered matrix
    starts with the factor of the matrix it borders, so each trial costs one row, not a whole factor."""
    diagonal = matrix[index][index]
    if diagonal <= 0:
        return None
    row = []
    for j, other in enumerate(kept):
        above = lower[j]
        row.append((matrix[index][other] - sum(row[k] * above[k] for k in range(j))) / above[j])
    pivot = diagonal - sum(value * value for value in row)
    if pivot <= tolerance * diagonal:
        return None
    row.append(math.sqrt(pivot))
    return row


def _invert(matrix):
    """The inverse of a positive definite matrix (numpy's LAPACK: the fit has a few dozen columns)."""
    import numpy as np

    return np.linalg.inv(np.array(matrix, dtype=np.float64)).tolist()
