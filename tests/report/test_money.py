"""A kWh's price at each minute of the local week (issue 26): where it comes from, its mean, its JSON and its text."""

import math
import subprocess
import sys

import numpy as np
import pytest

from presence.config.load import parse_config
from presence.config.model import ReportConfig, TariffPeriod
from presence.report.money import Pricing, describe, minute_prices, money, pricing, week_mean
from tests.conftest import ROOT, make_config

DAY, NIGHT = 0.38, 0.21
DAY_AND_NIGHT = [{"from": "07:00", "until": "22:00", "price": DAY}, {"from": "22:00", "until": "07:00", "price": NIGHT}]
WEEKDAY_PEAK = [{"from": "07:00", "until": "22:00", "days": ["mon", "tue", "wed", "thu", "fri"], "price": 0.38}]


def config(**section):
    return parse_config(make_config(report=section)).report


def minute(day, hour, minute_of_hour=0):
    """The index of a local time in the week: day 0 is Monday."""
    return day * 1440 + hour * 60 + minute_of_hour


def test_no_price_anywhere_is_none_even_with_a_currency():
    assert pricing(ReportConfig()) is None
    assert pricing(config(currency="EUR"), currency="kr") is None


def test_a_flat_price_comes_from_the_config_or_the_command_line_and_the_currency_likewise():
    flat = pricing(config(price=0.3, currency="EUR"))
    assert flat == Pricing(source="report.price", currency="EUR", base=0.3, periods=())
    assert pricing(config(price=0.3, currency="EUR"), price=0.25, currency="€") == Pricing("--price", "€", 0.25, ())
    assert pricing(config(price=0.3), currency="kr").currency == "kr"
    assert pricing(config(price=0.3)).currency is None


def test_the_command_lines_price_overrides_the_tariff_for_a_flat_price():
    tariff = config(tariff=WEEKDAY_PEAK, price=0.25, currency="EUR")
    overridden = pricing(tariff, price=0.5)
    assert (overridden.source, overridden.base, overridden.periods, overridden.currency) == ("--price", 0.5, (), "EUR")
    assert set(minute_prices(overridden)) == {0.5}
    assert week_mean(overridden) == 0.5


def test_a_tariff_keeps_report_price_only_for_the_hours_it_leaves_out():
    partial = pricing(config(tariff=WEEKDAY_PEAK, price=0.25))
    assert (partial.source, partial.base) == ("report.tariff", 0.25)
    assert partial.periods == (TariffPeriod(420, 1320, 0.38, frozenset(range(5))),)
    whole = pricing(config(tariff=DAY_AND_NIGHT, price=0.25))
    assert (whole.source, whole.base, len(whole.periods)) == ("report.tariff", None, 2)


def test_a_hand_made_config_that_leaves_hours_unpriced_or_a_price_not_above_0_is_refused():
    gappy = ReportConfig(tariff=(TariffPeriod(420, 1320, 0.38),))
    with pytest.raises(ValueError, match="report.tariff leaves mon 00:00-07:00 unpriced"):
        pricing(gappy)
    for bad in (0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="--price must be a positive number"):
            pricing(ReportConfig(), price=bad)


def test_minute_prices_change_at_the_periods_edges_on_the_local_clock():
    prices = minute_prices(pricing(config(tariff=DAY_AND_NIGHT)))
    assert prices.dtype == np.float64 and prices.shape == (10080,)
    assert prices[minute(0, 0)] == NIGHT  # Sunday's night runs into Monday
    assert prices[minute(0, 6, 59)] == NIGHT and prices[minute(0, 7)] == DAY
    assert prices[minute(0, 21, 59)] == DAY and prices[minute(0, 22)] == NIGHT
    assert prices[minute(6, 23, 59)] == NIGHT and prices[10079] == NIGHT
    assert np.count_nonzero(prices == DAY) == 7 * 15 * 60
    assert not np.isnan(prices).any()


def test_minute_prices_use_the_base_price_where_no_period_is_and_cannot_be_changed():
    prices = minute_prices(pricing(config(tariff=WEEKDAY_PEAK, price=0.25)))
    assert prices[minute(4, 21, 59)] == 0.38 and prices[minute(4, 22)] == 0.25  # Friday evening
    assert prices[minute(5, 12)] == 0.25 and prices[minute(6, 12)] == 0.25  # the weekend
    assert prices[minute(0, 6, 59)] == 0.25 and prices[minute(0, 7)] == 0.38
    with pytest.raises(ValueError):
        prices[0] = 1.0


def test_a_friday_night_runs_into_saturday_morning_and_a_period_may_end_at_midnight():
    section = config(price=0.3, tariff=[{"from": "22:00", "until": "07:00", "days": ["fri"], "price": 0.1},
                                        {"from": "18:00", "until": "24:00", "days": ["sun"], "price": 0.5}])
    prices = minute_prices(pricing(section))
    assert prices[minute(4, 21, 59)] == 0.3 and prices[minute(4, 22)] == 0.1
    assert prices[minute(5, 6, 59)] == 0.1 and prices[minute(5, 7)] == 0.3
    assert prices[minute(6, 17, 59)] == 0.3 and prices[minute(6, 18)] == 0.5 and prices[10079] == 0.5
    assert prices[0] == 0.3  # Sunday's period ends at 24:00: Monday is not in it


def test_the_week_mean_weighs_each_price_by_its_hours():
    # Every day 15 h at 0.38 and 9 h at 0.21.
    assert week_mean(pricing(config(tariff=DAY_AND_NIGHT))) == pytest.approx((15 * 0.38 + 9 * 0.21) / 24, abs=1e-12)
    # 5 days of 15 h at 0.38, and the week's other 93 h at 0.25.
    weekday_peak = pricing(config(tariff=WEEKDAY_PEAK, price=0.25))
    assert week_mean(weekday_peak) == pytest.approx((75 * 0.38 + 93 * 0.25) / 168, abs=1e-12)
    assert week_mean(weekday_peak) == pytest.approx(float(minute_prices(weekday_peak).mean()), abs=1e-12)
    assert week_mean(pricing(config(price=0.1))) == 0.1


def test_describe_holds_the_periods_in_the_configs_terms():
    described = describe(pricing(config(tariff=WEEKDAY_PEAK, price=0.25, currency="EUR")))
    assert described == {"currency": "EUR", "source": "report.tariff",
                         "mean_per_kwh": pytest.approx((75 * 0.38 + 93 * 0.25) / 168),
                         "periods": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "until": "22:00",
                                      "per_kwh": 0.38}],
                         "base_per_kwh": 0.25}
    night = describe(pricing(config(tariff=[{"from": "22:00", "until": "24:00", "days": ["sun", "sat"], "price": 0.1},
                                            {"from": "00:00", "until": "22:00", "price": 0.3},
                                            {"from": "22:00", "until": "24:00", "days": ["mon", "tue", "wed", "thu",
                                                                                       "fri"], "price": 0.2}])))
    assert night["periods"][0] == {"days": ["sat", "sun"], "from": "22:00", "until": "24:00", "per_kwh": 0.1}
    assert night["base_per_kwh"] is None and night["currency"] is None
    assert night["mean_per_kwh"] == pytest.approx((2 * 2 * 0.1 + 7 * 22 * 0.3 + 5 * 2 * 0.2) / 168)


def test_describe_of_a_flat_price_has_no_periods():
    assert describe(pricing(config(price=0.3), price=0.5, currency="kr")) == {
        "currency": "kr", "source": "--price", "mean_per_kwh": 0.5, "periods": [], "base_per_kwh": 0.5}


@pytest.mark.parametrize("value, currency, text", [
    (12.344, "EUR", "12.34 EUR"), (12.345001, "€", "12.35 €"), (1234.5, "kr", "1234.50 kr"), (12.3, None, "12.30"),
    (0, "EUR", "0.00 EUR"), (-0.001, None, "0.00"), (-2.5, "USD", "-2.50 USD"),
    (None, "EUR", "-"), (math.nan, "EUR", "-"), (math.inf, None, "-"),
])
def test_money_is_an_amount_with_two_decimals_and_the_currency_after_it(value, currency, text):
    assert money(value, Pricing("report.price", currency, 0.3)) == text


def test_money_without_pricing_is_the_bare_number():
    assert money(3.14159, None) == "3.14" and money(None, None) == "-"


def test_the_daemon_reads_a_tariff_without_importing_numpy():
    # The daemon needs no numpy (requirements.txt); only pricing a report imports it.
    code = ("import sys; from presence.config.load import parse_config; from tests.conftest import make_config; "
            f"parse_config(make_config(report={{'tariff': {DAY_AND_NIGHT!r}}})); print('numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", result.stderr
