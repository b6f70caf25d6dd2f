"""The report's pure parts: times and zones, the household clock, the idle percentile, its config."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from presence.config.model import ConfigError
from presence.config.load import parse_config
from presence.report.command import ReportError, household_zone, parse_when
from presence.report.analysis import idle_load
from presence.report.series import Grid
from tests.conftest import make_config

BERLIN = ZoneInfo("Europe/Berlin")


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
