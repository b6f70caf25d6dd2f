"""The headline blocks: nobody home and always on with intervals that hold the truth, money, and saying so
when the data cannot support an interval."""

from zoneinfo import ZoneInfo

import numpy as np
import pytest

from presence.config.model import ReportConfig, TariffPeriod
from presence.report.analysis import analyse
from presence.report.money import pricing
from tests.report import household

UTC = ZoneInfo("UTC")


def days_apart(days, seed):
    """Days that differ from each other (each its own level), so that minutes are far from independent."""
    grid, power, anyone = household(days, seed=seed)
    rng = np.random.default_rng(seed + 100)
    levels = rng.normal(0, 30, days)
    power += np.repeat(levels, 1440)
    return grid, power, anyone, levels


def test_the_nobody_home_interval_holds_the_days_true_mean_about_95_times_in_100():
    held = 0
    for seed in range(40):
        grid, power, anyone, levels = days_apart(28, seed)
        block = analyse(grid, power, anyone, {}, UTC)["nobody_home"]
        # The process's own mean with nobody home: 120 W + the fridge's 90 W x 17/47; the day levels average 0.
        truth = 120 + 90 * 17 / 47
        held += block["low_w"] <= truth <= block["high_w"]
        assert block["hours_h"] == pytest.approx(28 * 9) and block["days"] == 28
    assert 34 <= held <= 40


def test_always_on_and_the_shares_have_intervals_around_their_figures():
    grid, power, anyone, _ = days_apart(28, 1)
    result = analyse(grid, power, anyone, {}, UTC)
    always, nobody = result["always_on"], result["nobody_home"]
    assert always["w"] == result["idle"]["idle_w"] and always["low_w"] < always["w"] < always["high_w"]
    assert always["share_low_pct"] < always["share_pct"] < always["share_high_pct"]
    assert nobody["mean_w"] == result["energy"]["mean_empty_w"]
    assert nobody["share_low_pct"] < nobody["share_pct"] < nobody["share_high_pct"]
    assert "local days" in nobody["interval"] and nobody["note"] is None
    assert result["price"] is None and nobody["cost"] is None and result["total"]["cost"] is None


def test_a_few_days_of_data_give_the_figure_and_say_there_is_no_interval():
    grid, power, anyone, _ = days_apart(5, 1)
    result = analyse(grid, power, anyone, {}, UTC)
    nobody, always = result["nobody_home"], result["always_on"]
    assert nobody["mean_w"] is not None and nobody["low_w"] is None and nobody["high_w"] is None
    assert "too few" in nobody["note"] and "5 day(s)" in nobody["note"]
    assert always["low_w"] is None and "too few" in always["note"]


def test_a_flat_price_gives_cost_and_a_year_at_the_mean_power():
    grid, power, anyone, _ = days_apart(28, 2)
    flat = pricing(ReportConfig(price=0.3, currency="EUR"))
    result = analyse(grid, power, anyone, {}, UTC, pricing=flat)
    nobody, always, total = result["nobody_home"], result["always_on"], result["total"]
    assert nobody["cost"] == pytest.approx(nobody["kwh"] * 0.3)
    assert nobody["cost_per_year"] == pytest.approx(nobody["mean_w"] * 8760 / 1000 * 0.3)
    assert nobody["cost_per_year_low"] == pytest.approx(nobody["low_w"] * 8760 / 1000 * 0.3)
    assert nobody["cost_per_year_like_this_period"] == pytest.approx(nobody["cost"] * 365 / 28)
    assert always["cost_per_year"] == pytest.approx(always["w"] * 8.76 * 0.3)
    assert always["cost"] == pytest.approx(always["kwh"] * 0.3)
    assert total["cost"] == pytest.approx(total["kwh"] * 0.3)
    assert result["price"]["currency"] == "EUR" and result["price"]["source"] == "report.price"


def test_a_time_of_use_tariff_prices_each_block_at_its_own_hours():
    grid, power, anyone, _ = days_apart(28, 3)
    # Nobody is home 08:00-17:00: the day rate of 0.40 is all the nobody-home time pays.
    day = TariffPeriod(start=7 * 60, end=18 * 60, price=0.4, days=frozenset(range(7)))
    night = TariffPeriod(start=18 * 60, end=7 * 60, price=0.2, days=frozenset(range(7)))
    tariff = pricing(ReportConfig(tariff=(day, night)))
    result = analyse(grid, power, anyone, {}, UTC, pricing=tariff)
    nobody, always = result["nobody_home"], result["always_on"]
    assert nobody["cost"] == pytest.approx(nobody["kwh"] * 0.4)
    assert nobody["cost_per_year"] == pytest.approx(nobody["mean_w"] * 8.76 * 0.4)
    week = (11 * 0.4 + 13 * 0.2) / 24
    assert result["price"]["mean_per_kwh"] == pytest.approx(week)
    assert always["cost_per_year"] == pytest.approx(always["w"] * 8.76 * week)
    assert 0.2 * result["total"]["kwh"] < result["total"]["cost"] < 0.4 * result["total"]["kwh"]
