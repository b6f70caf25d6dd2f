"""Series onto one time grid, hourly means and a cumulative counter into watts: pure, no clock, no I/O."""

import pytest

from presence.report.fetch import Series
from tests.report import listed
from presence.report.series import Grid, common_grid, counter_power, hourly_means, on_grid


def test_grid_takes_the_coarsest_step_and_aligns_to_it():
    fine, coarse = Series("a", 1000, 60, [1.0]), Series("b", 900, 300, [1.0])
    assert common_grid([fine, coarse], 1020, 2220, 60) == Grid(900, 300, 5)
    assert common_grid([fine, Series("empty", 0, 3600, [])], 1020, 2220, 60) == Grid(1020, 60, 20)


def test_same_step_series_are_shifted_into_place_with_gaps_as_none():
    grid = Grid(600, 60, 5)
    assert listed(on_grid(Series("a", 720, 60, [1.0, None, 3.0, 4.0, 5.0]), grid)) == [None, None, 1.0, None, 3.0]
    assert listed(on_grid(Series("a", 480, 60, [7.0, 8.0, 9.0]), grid)) == [9.0, None, None, None, None]


def test_finer_series_are_averaged_over_their_known_points():
    grid = Grid(0, 60, 3)
    series = Series("a", 0, 20, [1.0, 2.0, 3.0, None, None, None, 10.0, None, 20.0])
    assert listed(on_grid(series, grid)) == [2.0, None, 15.0]


def test_counter_turns_into_watts_across_reset_glitch_and_gap():
    # kWh readings every 5 minutes: 1 kWh per step is 12 kW.
    readings = [10.0, 11.0, 12.0, 0.5, 1.5, 1.4, 2.4, None, None, 5.4, 6.4]
    watts, in_gaps_wh, resets = counter_power(readings, 300, 1000.0)
    assert listed(watts) == [None, 12000, 12000, 6000, 12000, None, 12000, None, None, None, 12000]
    assert in_gaps_wh == pytest.approx(3000)
    assert resets == 1


def test_hourly_means_cover_only_whole_clock_hours_and_need_enough_known_bins():
    # Ten-minute bins from 00:30 to 02:30: only 01:00-02:00 is a whole hour, five of its six bins known.
    grid = Grid(1800, 600, 12)
    values = [1.0, 1.0, 1.0, 10.0, 20.0, None, 30.0, 40.0, 50.0, 99.0, 99.0, 99.0]
    assert hourly_means(values, grid, coverage=0.8) == [(3600, 30.0)]
    assert hourly_means(values, grid, coverage=0.9) == [(3600, None)]
    assert hourly_means([None] * 12, grid, coverage=0) == [(3600, None)]


def test_a_grid_coarser_than_an_hour_or_not_dividing_it_gives_its_own_bins():
    assert hourly_means([1.0, None, 3.0], Grid(0, 7200, 3), coverage=1) == [(0, 1.0), (7200, None), (14400, 3.0)]
    assert hourly_means([5.0, 6.0], Grid(420, 420, 2), coverage=1) == [(420, 5.0), (840, 6.0)]
