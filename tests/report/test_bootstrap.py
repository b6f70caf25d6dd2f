"""Intervals over whole days: the resampling, the weighted percentile, the widening for few days."""

import numpy as np
import pytest

from presence.report.bootstrap import (effective_days, interval, percentile_replicates, ratio_replicates,
                                       resample, t975, widening)


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
