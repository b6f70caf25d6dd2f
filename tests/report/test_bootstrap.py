"""Intervals over whole days: the resampling, the weighted percentile, the widening for few days."""

import numpy as np
import pytest

from presence.report.bootstrap import (effective_days, interval, mean_with_rare_loads, percentile_replicates,
                                       poisson_bounds, ratio_replicates, resample, t975, tail_dof, widening)


def test_each_replicate_draws_as_many_days_of_each_kind_as_the_period_has():
    strata = np.array([0, 0, 0, 0, 0, 1, 1] * 4)
    counts = resample(strata, replicates=300)
    assert counts.shape == (300, 28)
    assert (counts[:, strata == 0].sum(axis=1) == 20).all() and (counts[:, strata == 1].sum(axis=1) == 8).all()
    assert (counts == resample(strata, replicates=300)).all()  # seeded: the same report twice
    assert not (counts == resample(strata, replicates=300, seed=1)).all()
    assert counts.std() > 0


def test_the_percentile_of_each_replicate_is_numpys_over_the_days_it_drew():
    rng = np.random.default_rng(3)
    for trial in range(20):
        days, hours = int(rng.integers(1, 40)), int(rng.integers(1, 400))
        values, value_days = rng.normal(100, 20, hours), rng.integers(0, days, hours)
        counts = resample(rng.integers(0, 2, days), 40, seed=trial)
        for percentile in (5, 50, 95):
            got = percentile_replicates(values, value_days, counts, percentile)
            for row, drawn in enumerate(counts):
                repeated = np.repeat(values, drawn[value_days])
                if len(repeated):
                    assert got[row] == pytest.approx(np.percentile(repeated, percentile), abs=1e-9)
                else:
                    assert np.isnan(got[row])


def test_a_ratio_replicate_is_the_ratio_of_the_drawn_days_sums():
    counts = np.array([[2, 0, 1], [0, 0, 0]])
    got = ratio_replicates([10.0, 20.0, 30.0], [1.0, 2.0, 3.0], counts)
    assert got[0] == pytest.approx((2 * 10 + 30) / (2 * 1 + 3)) and np.isnan(got[1])


def test_few_days_widen_the_interval_as_students_t_does():
    assert t975(1) == 12.706 and t975(10) == pytest.approx(2.228, abs=0.004)
    assert t975(20) == pytest.approx(2.086, abs=0.003) and t975(120) == pytest.approx(1.980, abs=0.002)
    assert widening(28) == pytest.approx(2.052 / 1.96 * (28 / 27) ** 0.5, rel=0.003)
    assert widening(7) > 1.3 > widening(28) > 1.0


def test_effective_days_count_days_by_their_weight():
    assert effective_days([5.0] * 28) == pytest.approx(28)
    assert effective_days([100.0] + [1.0] * 27) < 2
    assert effective_days([0.0, 0.0]) == 0


def test_no_interval_from_too_few_days_or_replicates():
    replicates = np.linspace(90, 110, 1000)
    low, high = interval(100.0, replicates, 28)
    assert low < 90 * 1.0 + 1 and high > 109 and high - low > 20
    assert interval(100.0, replicates, 6) == (None, None)
    assert interval(None, replicates, 28) == (None, None)
    assert interval(100.0, np.full(1000, np.nan), 28) == (None, None)


def test_garwood_bounds_of_a_poisson_count():
    assert poisson_bounds(0) == (0.0, pytest.approx(3.689, abs=0.001))
    low, high = poisson_bounds(1)
    assert low == pytest.approx(0.0253, abs=0.002) and high == pytest.approx(5.572, abs=0.03)
    low, high = poisson_bounds(10)
    assert low == pytest.approx(4.795, abs=0.03) and high == pytest.approx(18.39, abs=0.05)


def test_a_month_without_a_large_load_does_not_rule_them_out():
    hours = np.full(28, 8.0)
    energy = hours * 150.0
    counts = resample(np.zeros(28), 500)
    plain = interval(150.0, ratio_replicates(energy, hours, counts), 28)
    low, high, seen = mean_with_rare_loads(energy, hours, np.zeros(28), counts, 28)
    assert seen == 0 and low == pytest.approx(plain[0]) and high > 150 + 3.6 * 1000 / hours.sum()
    large = np.zeros(28)
    large[[3, 17]] = 1500.0
    energy2 = energy + large
    low, high, seen = mean_with_rare_loads(energy2, hours, large, counts, 28)
    mean = energy2.sum() / hours.sum()
    assert seen == 2 and low < mean < high
    assert high - mean > (mean - low)  # a count of two could as well have been seven
    assert mean_with_rare_loads(energy, np.zeros(28), large, counts, 28) == (None, None, 0)


def test_heavy_tailed_days_have_fewer_degrees_of_freedom():
    rng = np.random.default_rng(1)
    hours = np.full(28, 10.0)
    normal = hours * 100 + rng.normal(0, 50, 28)
    assert tail_dof(normal, hours) > 15
    spiky = hours * 100 + np.where(np.arange(28) == 5, 5000.0, 0.0)
    assert tail_dof(spiky, hours) < 3
