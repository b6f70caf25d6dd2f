"""The study's summary: quartiles, the median's distribution-free interval, the totals over homes with enough data."""

import math
import random

import pytest

from presence.report.homes.summary import (NO_INTERVAL, OK, TOO_LITTLE, UNREADABLE, distribution, median_ranks,
                                           quantile, summarise)


def test_quartiles_interpolate_between_order_statistics():
    assert [quantile([1, 2, 3, 4, 5], share) for share in (0, 0.25, 0.5, 0.75, 1)] == [1, 2, 3, 4, 5]
    assert quantile([10, 20, 30, 40], 0.25) == pytest.approx(17.5)
    assert quantile([10, 20, 30, 40], 0.5) == pytest.approx(25)
    assert quantile([7], 0.75) == 7


@pytest.mark.parametrize("count, ranks", [(6, (1, 6)), (8, (1, 8)), (9, (2, 8)), (10, (2, 9)), (20, (6, 15)),
                                          (100, (40, 61))])
def test_median_ranks_match_the_published_tables(count, ranks):
    assert median_ranks(count)[:2] == ranks


def below(count, rank):
    """P(B <= rank - 1) for B ~ Binomial(count, 1/2), exactly."""
    return sum(math.comb(count, i) for i in range(rank)) / 2 ** count


@pytest.mark.parametrize("count", range(1, 80))
def test_the_interval_is_the_narrowest_that_keeps_95_percent(count):
    ranks = median_ranks(count)
    if count < 6:
        assert ranks is None
        # Even the smallest and largest home leave more than 5 % out: 2 / 2**5 > 0.05.
        assert 2 * below(count, 1) > 0.05
        return
    low, high, coverage = ranks
    assert high == count + 1 - low
    assert coverage == pytest.approx(1 - 2 * below(count, low)) and coverage >= 0.95
    assert 1 - 2 * below(count, low + 1) < 0.95


def test_the_interval_covers_the_median_95_times_in_100():
    # Skewed homes (a lognormal), 20 a study: the interval holds the true median in about 95.9 % of studies.
    rng = random.Random(25)
    true_median = math.exp(5)
    held = 0
    for _ in range(2000):
        found = distribution([rng.lognormvariate(5, 0.8) for _ in range(20)])["median_interval"]
        held += found["low"] <= true_median <= found["high"]
    assert 0.94 <= held / 2000 <= 0.975


def test_too_few_homes_have_no_interval_and_say_so():
    found = distribution([300.0, 100.0, 200.0, None])
    assert found == {"homes": 3, "min": 100.0, "q1": 150.0, "median": 200.0, "q3": 250.0, "max": 300.0,
                     "median_interval": None, "note": NO_INTERVAL}
    assert distribution([None])["homes"] == 0 and distribution([None])["median"] is None


def test_the_interval_is_between_order_statistics():
    found = distribution([float(value) for value in range(10, 0, -1)])
    assert found["median"] == 5.5
    assert found["median_interval"] == {"low": 2.0, "high": 9.0, "coverage_pct": pytest.approx(97.85, abs=0.01)}
    assert found["note"] is None


def home(status, empty_w=None, idle_w=None, empty_kwh=0.0, occupied_kwh=0.0):
    entry = {"home": "h", "status": status}
    if empty_w is not None:
        entry["energy"] = {"mean_empty_w": empty_w, "empty_kwh": empty_kwh, "occupied_kwh": occupied_kwh,
                           "total_kwh": empty_kwh + occupied_kwh + 1.0, "empty_share_pct": 10.0}
        entry["idle"] = {"idle_w": idle_w, "share_pct": 40.0, "empty_above_idle_kwh": 0.5}
    return entry


def test_the_summary_counts_every_home_and_sums_only_those_with_enough_data():
    entries = [home(OK, 150, 140, 10, 90), home(OK, 250, 200, 20, 80), home(TOO_LITTLE, 999, 999, 500, 500),
               home(TOO_LITTLE), home(UNREADABLE)]
    summary = summarise(entries)
    assert summary["homes"] == {"listed": 5, "with_enough_data": 2, "too_little_data": 2, "unreadable": 1}
    assert summary["energy"] == {"total_kwh": 202.0, "empty_kwh": 30.0, "empty_share_pct": 15.0,
                                 "empty_above_idle_kwh": 1.0}
    assert summary["distribution"]["mean_empty_w"]["median"] == 200
    assert summary["distribution"]["idle_w"]["max"] == 200
    assert summary["distribution"]["idle_share_pct"]["homes"] == 2


def test_no_home_with_enough_data():
    summary = summarise([home(TOO_LITTLE)])
    assert summary["homes"]["with_enough_data"] == 0 and summary["energy"]["empty_share_pct"] is None
    assert summary["distribution"]["idle_w"]["note"] == "no home with this figure"
