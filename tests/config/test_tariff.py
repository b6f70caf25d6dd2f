"""report.tariff: time-of-use periods in minutes of the week, wrap-around, overlaps and gaps named."""

import pytest

from presence.config.load import load_config, parse_config
from presence.config.model import ConfigError, TariffPeriod
from tests.config import WEEKDAYS, DAY_AND_NIGHT, report, problems


def test_a_tariff_reads_as_periods_in_minutes_of_the_day_with_days_from_monday():
    section = report(tariff=[{"from": "07:00", "until": "22:00", "days": WEEKDAYS, "price": 0.38},
                             {"from": "00:00", "until": "24:00", "days": ["Sat", "sun"], "price": 0.2}], price=0.25)
    assert section.tariff == (TariffPeriod(start=420, end=1320, price=0.38, days=frozenset({0, 1, 2, 3, 4})),
                              TariffPeriod(start=0, end=1440, price=0.2, days=frozenset({5, 6})))
    assert section.price == 0.25


def test_a_period_may_wrap_midnight_and_end_at_24_00_and_a_period_without_days_is_every_day():
    section = report(tariff=DAY_AND_NIGHT)
    day, night = section.tariff
    assert (day.start, day.end, night.start, night.end) == (420, 1320, 1320, 420)
    assert day.days == night.days == frozenset(range(7))
    # Friday 22:00 to Saturday 07:00 is Friday's night; Sunday's runs into Monday morning.
    night = report(tariff=[{"from": "22:00", "until": "07:00", "days": ["fri", "sun"], "price": 0.2}],
                   price=0.3).tariff[0]
    assert night.spans() == [(0, 420), (4 * 1440 + 1320, 5 * 1440), (5 * 1440, 5 * 1440 + 420),
                             (6 * 1440 + 1320, 7 * 1440)]
    late = report(tariff=[{"from": "18:00", "until": "24:00", "price": 0.4}], price=0.3).tariff[0]
    assert (late.start, late.end) == (1080, 1440)
    assert late.spans()[0] == (1080, 1440)


def test_a_tariff_covering_the_week_needs_no_price_and_one_that_does_not_uses_report_price():
    assert report(tariff=DAY_AND_NIGHT).price is None
    partial = [{"from": "07:00", "until": "22:00", "days": WEEKDAYS, "price": 0.38}]
    assert report(tariff=partial, price=0.25).tariff[0].price == 0.38
    assert problems(tariff=partial) == [
        "report.tariff: leaves 93 h of the week unpriced, first mon 00:00-07:00: set report.price for the hours no "
        "period covers, or cover them"]


def test_an_uncovered_span_across_days_is_named_from_its_first_day_to_its_last():
    weekdays_all_day = [{"from": "00:00", "until": "24:00", "days": WEEKDAYS, "price": 0.3},
                        {"from": "00:00", "until": "22:00", "days": ["sat"], "price": 0.2}]
    found = problems(tariff=weekdays_all_day)
    assert found == ["report.tariff: leaves 26 h of the week unpriced, first sat 22:00-sun 24:00: set report.price "
                     "for the hours no period covers, or cover them"]


def test_overlapping_periods_are_an_error_naming_both_and_where():
    peak = {"from": "07:00", "until": "09:00", "days": ["mon"], "price": 0.5}
    assert problems(tariff=DAY_AND_NIGHT + [peak]) == ["report.tariff[2]: overlaps report.tariff[0] on mon 07:00-09:00"]
    # Across midnight: Sunday's night runs into Monday, where an early Monday period starts.
    early = {"from": "05:00", "until": "08:00", "days": ["mon"], "price": 0.3}
    night = {"from": "23:00", "until": "06:00", "days": ["sun"], "price": 0.1}
    assert problems(tariff=[early, night], price=0.3) == [
        "report.tariff[1]: overlaps report.tariff[0] on mon 05:00-06:00"]
    # The same period twice, and each pair named once however many days it overlaps on.
    assert problems(tariff=[DAY_AND_NIGHT[0], DAY_AND_NIGHT[0]], price=0.2) == [
        "report.tariff[1]: overlaps report.tariff[0] on mon 07:00-22:00"]


def test_periods_that_touch_do_not_overlap():
    touching = [{"from": "00:00", "until": "07:00", "price": 0.2}, {"from": "07:00", "until": "24:00", "price": 0.3}]
    assert [period.spans()[0] for period in report(tariff=touching).tariff] == [(0, 420), (420, 1440)]
