"""The table's part for what a household acts on: intervals, money, waste, hours of the week, the trend."""

from zoneinfo import ZoneInfo

from presence.config.model import ReportConfig
from presence.report.analysis import analyse
from presence.report.money import pricing
from presence.report.output import as_table
from tests.report import household

UTC = ZoneInfo("UTC")


def table(days=28, price=None):
    grid, power, anyone = household(days)
    power[2 * 1440 + 9 * 60:2 * 1440 + 12 * 60] += 2000  # Wednesday 09:00-12:00, nobody home
    prices = pricing(ReportConfig(price=price, currency="EUR")) if price else None
    return as_table(analyse(grid, power, anyone, {}, UTC, pricing=prices), {}, prices).splitlines()


def starting(lines, text):
    return [line for line in lines if line.startswith(text)]


def test_each_headline_figure_shows_its_interval_and_share():
    lines = table()
    [nobody] = starting(lines, "  mean power with nobody home:")
    [always] = starting(lines, "  always-on load:")
    for line in (nobody, always):
        assert " to " in line and "W (" in line and "%) of the energy" in line
    assert not starting(lines, "Money")


def test_money_lines_carry_the_currency_and_a_year():
    lines = table(price=0.3)
    [header] = starting(lines, "Money (report.price")
    assert "0.30 EUR/kWh" in header
    [nobody] = starting(lines, "  with nobody home  ")
    assert nobody.count("EUR") == 3  # the period, a year, its interval's end
    assert starting(lines, "  With nobody home as often as in this period")


def test_the_waste_period_is_listed_with_its_start_and_length():
    lines = table(price=0.3)
    [summary] = starting(lines, "Waste:")
    assert "1 period(s)" in summary
    [row] = [line for line in lines if line.startswith("  Wed 2026-01-07 09:00")]
    assert "3 h 00" in row and "kWh" in row and "EUR" in row
    [top] = [line for line in lines if line.startswith("  Wed 09:00-12:00")]
    assert "with nobody home" in top


def test_a_week_table_and_its_verdict():
    lines = table()
    assert len([line for line in lines if line.startswith("2026-W0")]) == 4
    assert "  No change the intervals call real." in lines
    short = table(days=4)
    assert any("(too few days)" in line for line in short)
    assert any(line.startswith("  Note: nobody was home on 4 day(s)") for line in short)
