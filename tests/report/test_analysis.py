"""The report's pure parts: grids, counters, times and zones, the fit, the idle percentile, its config."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from presence.config.model import ConfigError
from presence.config.load import parse_config
from presence.report.command import ReportError, household_zone, parse_when
from presence.report.analysis import idle_load, local_clock
from presence.report.fetch import Series
from presence.report.fit import solve_normal
from presence.report.output import as_json
from presence.report.series import Grid, common_grid, counter_power, on_grid
from tests.conftest import make_config

BERLIN = ZoneInfo("Europe/Berlin")


def test_grid_takes_the_coarsest_step_and_aligns_to_it():
    fine, coarse = Series("a", 1000, 60, [1.0]), Series("b", 900, 300, [1.0])
    assert common_grid([fine, coarse], 1020, 2220, 60) == Grid(900, 300, 5)
    assert common_grid([fine, Series("empty", 0, 3600, [])], 1020, 2220, 60) == Grid(1020, 60, 20)


def test_same_step_series_are_shifted_into_place_with_gaps_as_none():
    grid = Grid(600, 60, 5)
    assert on_grid(Series("a", 720, 60, [1.0, None, 3.0, 4.0, 5.0]), grid) == [None, None, 1.0, None, 3.0]
    assert on_grid(Series("a", 480, 60, [7.0, 8.0, 9.0]), grid) == [9.0, None, None, None, None]


def test_finer_series_are_averaged_over_their_known_points():
    grid = Grid(0, 60, 3)
    series = Series("a", 0, 20, [1.0, 2.0, 3.0, None, None, None, 10.0, None, 20.0])
    assert on_grid(series, grid) == [2.0, None, 15.0]


def test_counter_turns_into_watts_across_reset_glitch_and_gap():
    # kWh readings every 5 minutes: 1 kWh per step is 12 kW.
    readings = [10.0, 11.0, 12.0, 0.5, 1.5, 1.4, 2.4, None, None, 5.4, 6.4]
    watts, in_gaps_wh, resets = counter_power(readings, 300, 1000.0)
    assert watts == [None, 12000, 12000, 6000, 12000, None, 12000, None, None, None, 12000]
    assert in_gaps_wh == pytest.approx(3000)
    assert resets == 1


def test_times_on_the_household_clock():
    now = 1_800_000_000
    assert parse_when("now", now, BERLIN) == now
    assert parse_when("-7d", now, BERLIN) == now - 7 * 86400
    assert parse_when("-30min", now, BERLIN) == now - 1800
    assert parse_when("1790000000", now, BERLIN) == 1_790_000_000
    assert parse_when("2026-10-25", now, BERLIN) == int(datetime(2026, 10, 24, 22, tzinfo=ZoneInfo("UTC")).timestamp())
    assert parse_when("2026-10-26", now, BERLIN) - parse_when("2026-10-25", now, BERLIN) == 25 * 3600
    assert parse_when("2026-06-01T18:00Z", now, BERLIN) == int(datetime(2026, 6, 1, 18, tzinfo=ZoneInfo("UTC")).timestamp())
    with pytest.raises(ReportError) as error:
        parse_when("yesterday", now, BERLIN)
    assert error.value.status == 64 and "-7d" in str(error.value)


def test_zone_from_config_then_tz_then_system():
    assert str(household_zone("Europe/Berlin", {"TZ": "Asia/Tokyo"})) == "Europe/Berlin"
    assert str(household_zone(None, {"TZ": ":Asia/Tokyo"})) == "Asia/Tokyo"
    assert str(household_zone("Not/AZone", {"TZ": "Asia/Tokyo"})) == "Asia/Tokyo"
    assert household_zone(None, {}).utcoffset(datetime(2026, 1, 1)) is not None


def test_local_clock_repeats_two_oclock_when_summer_time_ends():
    start = int(datetime(2026, 10, 25, tzinfo=BERLIN).timestamp())
    hours, weekends = local_clock(Grid(start, 3600, 25), BERLIN)
    assert list(hours) == [0, 1, 2, 2] + list(range(3, 24))
    assert all(weekends)  # a Sunday
    spring = int(datetime(2026, 3, 29, tzinfo=BERLIN).timestamp())
    assert list(local_clock(Grid(spring, 3600, 23), BERLIN)[0]) == [0, 1] + list(range(3, 24))


def test_fit_solves_and_leaves_out_a_column_that_repeats_another():
    # y = 2*a + 3*b over rows (a, b, c=b): c adds nothing and is left out.
    rows = [(1, 0, 0), (1, 1, 1), (0, 1, 1), (1, 1, 1), (1, 0, 0)]
    xtx = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    xty = [sum(r[i] * (2 * r[0] + 3 * r[1]) for r in rows) for i in range(3)]
    coefficients, inverse, kept = solve_normal(xtx, xty, ["a", "b", "c"])
    assert kept == ["a", "b"]
    assert coefficients == {"a": pytest.approx(2), "b": pytest.approx(3)}
    assert inverse[("a", "a")] > 0


def test_idle_is_a_low_percentile_of_well_covered_hourly_means():
    # Hours of 60 one-minute bins: means 100, 200, ..., 1000 W; one hour with a single point of 10 W.
    power = [100.0 * (h + 1) for h in range(10) for _ in range(60)] + [10.0] + [None] * 59
    idle, hours = idle_load(power, Grid(0, 60, len(power)), percentile=5, coverage=0.9)
    assert hours == 10
    assert idle == pytest.approx(100 + 0.45 * 100)


def test_report_section_names_every_bad_key():
    raw = make_config(report={"power": "a.b", "energy_counter": "c.d", "energy_unit": "MWh",
                              "timezone": "Mars/Olympus", "render_url": "graphite.local", "timeout": 0})
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    text = str(error.value)
    for key in ("report.energy_counter", "report.energy_unit", "report.timezone", "report.render_url",
                "report.timeout"):
        assert key in text


def test_report_render_url_defaults_to_graphites():
    config = parse_config(make_config(graphite={"render_url": "http://graphite.local/"}, report={"power": "p"}))
    assert config.report.render_url == "http://graphite.local"
    assert config.report.energy_unit == "kWh" and config.report.timezone is None


def test_json_output_turns_numbers_that_are_not_finite_into_null():
    result = {"energy": {"mean_w": float("nan"), "total_kwh": 1.5}, "people": [{"extra_w": float("inf")}],
              "profile": (float("-inf"), 2)}

    def refuse(constant):
        raise ValueError(constant)

    assert json.loads(as_json(result), parse_constant=refuse) == {
        "energy": {"mean_w": None, "total_kwh": 1.5}, "people": [{"extra_w": None}], "profile": [None, 2]}
