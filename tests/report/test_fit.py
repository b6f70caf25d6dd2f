"""Least squares from the normal equations: columns that add nothing are left out, the inverse is returned."""

import pytest

from presence.report.fit import solve_normal


def normal_equations(rows, target):
    """`X'X` and `X'y` of the rows, with `y = target(row)`."""
    size = len(rows[0])
    xtx = [[sum(r[i] * r[j] for r in rows) for j in range(size)] for i in range(size)]
    xty = [sum(r[i] * target(r) for r in rows) for i in range(size)]
    return xtx, xty


def test_fit_solves_and_leaves_out_a_column_that_repeats_another():
    # y = 2*a + 3*b over rows (a, b, c=b): c adds nothing and is left out.
    rows = [(1, 0, 0), (1, 1, 1), (0, 1, 1), (1, 1, 1), (1, 0, 0)]
    xtx = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    xty = [sum(r[i] * (2 * r[0] + 3 * r[1]) for r in rows) for i in range(3)]
    coefficients, inverse, kept = solve_normal(xtx, xty, ["a", "b", "c"])
    assert kept == ["a", "b"]
    assert coefficients == {"a": pytest.approx(2), "b": pytest.approx(3)}
    assert inverse[("a", "a")] > 0


def test_of_two_equal_columns_the_one_named_first_is_kept():
    rows = [(1, 0, 0), (1, 1, 1), (0, 1, 1), (1, 1, 1), (1, 0, 0)]
    xtx, xty = normal_equations(rows, lambda r: 2 * r[0] + 3 * r[1])
    coefficients, _, kept = solve_normal(xtx, xty, ["a", "c", "b"])
    assert kept == ["a", "c"]
    assert coefficients == {"a": pytest.approx(2), "c": pytest.approx(3)}


def test_the_inverse_by_name_is_the_inverse_of_the_kept_columns():
    rows = [(1, 0, 2), (1, 1, 0), (0, 1, 1), (1, 3, 1), (2, 0, 1), (1, 1, 1)]
    xtx, xty = normal_equations(rows, lambda r: r[0] - 4 * r[1] + 0.5 * r[2])
    names = ["a", "b", "c"]
    coefficients, inverse, kept = solve_normal(xtx, xty, names)
    assert kept == names
    assert coefficients == {"a": pytest.approx(1), "b": pytest.approx(-4), "c": pytest.approx(0.5)}
    for i, row in enumerate(names):
        for j, column in enumerate(names):
            product = sum(xtx[i][k] * inverse[(names[k], column)] for k in range(3))
            assert product == pytest.approx(1.0 if i == j else 0.0, abs=1e-9), (row, column)


def test_the_tolerance_decides_whether_a_nearly_repeated_column_is_new():
    # c differs from b in one row by 0.01: a sliver of its sum of squares is its own.
    rows = [(1, 0, 0), (1, 1, 1), (0, 1, 1.01), (1, 1, 1), (1, 0, 0)]
    xtx, xty = normal_equations(rows, lambda r: 2 * r[0] + 3 * r[1])
    assert solve_normal(xtx, xty, ["a", "b", "c"])[2] == ["a", "b", "c"]
    assert solve_normal(xtx, xty, ["a", "b", "c"], tolerance=1e-2)[2] == ["a", "b"]


def test_columns_that_are_never_set_are_left_out_and_none_left_is_an_empty_fit():
    rows = [(1, 0), (2, 0), (3, 0)]
    xtx, xty = normal_equations(rows, lambda r: 5 * r[0])
    coefficients, inverse, kept = solve_normal(xtx, xty, ["a", "never"])
    assert kept == ["a"] and coefficients == {"a": pytest.approx(5)}
    assert set(inverse) == {("a", "a")}
    assert solve_normal([[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0], ["x", "y"]) == ({}, {}, [])
