"""Waste periods (nobody home, clearly above always-on) and the nobody-home mean by hour of the week."""

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from presence.report.calendar import local_clock
from presence.report.waste import hour_of_week, waste
from tests.report import household

UTC = ZoneInfo("UTC")


def test_a_heater_left_on_while_out_is_found_with_its_start_length_and_energy():
    grid, power, anyone = household(14)
    start = 3 * 1440 + 9 * 60 + 7  # Thursday 09:07, nobody home from 08:00 to 17:00
    power[start:start + 180] += 2000.0
    prices = np.full(grid.count, 0.3)
    block = waste(grid, power, anyone, 150.0, prices, UTC)
    assert block["count"] == 1
    [period] = block["periods"]
    assert datetime.fromisoformat(period["start"]) == datetime.fromtimestamp(grid.start + start * 60, UTC)
    assert period["duration_min"] == 180
    expected = (power[start:start + 180] - 150.0).sum() / 60 / 1000
    assert period["kwh"] == pytest.approx(expected) and 6.0 < period["kwh"] < 6.2
    assert period["cost"] == pytest.approx(0.3 * expected)
    assert period["mean_w"] == pytest.approx(power[start:start + 180].mean())


def test_a_return_home_ends_a_period_a_short_pause_does_not_and_short_bursts_are_left_out():
    grid, power, anyone = household(7)
    day = 1440
    power[day + 9 * 60:day + 10 * 60] += 1000  # 60 min
    power[day + 10 * 60 + 10:day + 11 * 60] += 1000  # after a 10-minute pause: the same period
    power[2 * day + 9 * 60:2 * day + 9 * 60 + 40] += 1000
    anyone[2 * day + 9 * 60 + 20] = 1.0  # someone came home for a minute: periods of 20 and 19 min
    power[3 * day + 9 * 60:3 * day + 9 * 60 + 14] += 3000  # 14 minutes: too short
    power[4 * day + 9 * 60:4 * day + 9 * 60 + 30] += 1000
    power[4 * day + 10 * 60 + 1:4 * day + 10 * 60 + 31] += 1000  # 31 minutes later: a period of its own
    block = waste(grid, power, anyone, 150.0, None, UTC)
    lengths = sorted(p["duration_min"] for p in block["periods"])
    assert lengths == [19, 20, 30, 30, 120] and block["count"] == 5
    assert all(p["cost"] is None for p in block["periods"]) and block["cost"] is None


def test_unknown_data_breaks_a_period_and_without_always_on_there_is_no_waste():
    grid, power, anyone = household(3)
    power[9 * 60:12 * 60] += 1000
    power[10 * 60] = np.nan
    assert sorted(p["duration_min"] for p in waste(grid, power, anyone, 150.0, None, UTC)["periods"]) == [60, 119]
    assert waste(grid, power, anyone, None, None, UTC)["kwh"] is None


def test_the_top_list_is_the_largest_first_and_counts_all():
    grid, power, anyone = household(14)
    for day in range(12):
        power[day * 1440 + 9 * 60:day * 1440 + 9 * 60 + 20 + 5 * day] += 800
    block = waste(grid, power, anyone, 150.0, None, UTC)
    assert block["count"] == 12 and len(block["periods"]) == 10
    kwh = [p["kwh"] for p in block["periods"]]
    assert kwh == sorted(kwh, reverse=True) and block["kwh"] > sum(kwh)


def test_hour_of_week_means_power_with_nobody_home_weighted_by_the_share_away():
    grid, power, anyone = household(14)
    power[:] = 100.0
    tuesday_10 = 1440 + 10 * 60
    for week in (0, 7):
        power[week * 1440 + tuesday_10:week * 1440 + tuesday_10 + 60] = 500.0
    anyone[1440 + 8 * 60:1440 + 8 * 60 + 30] = 0.5  # half the bin: half its weight
    rows = hour_of_week(power, anyone, local_clock(grid, UTC), 60)
    assert len(rows) == 168 and rows[0] == {"day": 0, "hour": 0, "nobody_home_mean_w": None, "nobody_home_h": 0.0}
    tuesday = {row["hour"]: row for row in rows if row["day"] == 1}
    assert tuesday[10]["nobody_home_mean_w"] == pytest.approx(500) and tuesday[10]["nobody_home_h"] == 2
    assert tuesday[11]["nobody_home_mean_w"] == pytest.approx(100)
    assert tuesday[8]["nobody_home_h"] == pytest.approx(2 - 0.25)
