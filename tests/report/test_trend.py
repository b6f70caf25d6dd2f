"""Week by week: figures with intervals, and a change reported only when the intervals say it is real."""

from zoneinfo import ZoneInfo

import numpy as np
import pytest

from presence.report.calendar import local_clock
from presence.report.insight import Days
from presence.report.trend import trend
from tests.report import household

UTC = ZoneInfo("UTC")


def weeks_and_changes(grid, power, anyone):
    return trend(Days(grid, power, anyone, local_clock(grid, UTC), 0.9), 5)


def noisy(days, seed):
    """A household whose days differ (how long nobody is home, what the fridge does), as real ones do."""
    grid, power, anyone = household(days, seed=seed)
    rng = np.random.default_rng(seed)
    for day in range(days):
        power[day * 1440:(day + 1) * 1440] += rng.normal(0, 15)
    return grid, power, anyone


def test_weeks_are_local_iso_weeks_with_intervals_that_hold_their_level():
    weeks, changes = weeks_and_changes(*noisy(28, 1))
    assert [w["label"] for w in weeks] == ["2026-W02", "2026-W03", "2026-W04", "2026-W05"]
    assert [w["start"] for w in weeks] == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
    for week in weeks:
        assert week["days"] == 7
        nobody, always = week["nobody_home"], week["always_on"]
        assert nobody["low_w"] < nobody["mean_w"] < nobody["high_w"] and nobody["hours_h"] == pytest.approx(63)
        assert always["low_w"] < always["w"] < always["high_w"]
        assert 100 < always["w"] < 160
    assert changes == []


def test_a_stable_home_reports_no_change_over_many_seeds():
    found = [weeks_and_changes(*noisy(84, seed))[1] for seed in range(8)]
    assert sum(len(changes) for changes in found) <= 1


def test_a_new_device_left_on_is_reported_in_the_week_it_started():
    grid, power, anyone = noisy(84, 3)
    power[6 * 7 * 1440:] += 45.0  # from the 7th week's Monday
    _, changes = weeks_and_changes(grid, power, anyone)
    always = [c for c in changes if c["figure"] == "always_on"]
    assert len(always) == 1
    [change] = always
    assert change["week"] == "2026-W08" and change["start"] == "2026-02-16"
    assert change["change_w"] == pytest.approx(45, abs=8) and change["low_w"] > 0
    assert "always-on rose from" in change["text"] and "week 8" in change["text"]
    assert any(c["figure"] == "nobody_home" and c["week"] == "2026-W08" for c in changes)


def test_a_week_with_too_few_days_has_no_interval():
    weeks, _ = weeks_and_changes(*noisy(10, 2))
    assert weeks[1]["days"] == 3 and weeks[1]["nobody_home"]["low_w"] is None
    assert weeks[1]["always_on"]["low_w"] is None and weeks[1]["always_on"]["w"] is not None
