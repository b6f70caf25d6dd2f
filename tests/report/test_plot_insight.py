"""`report --png`'s panels of issue 26 read back from matplotlib: the hour-of-week heat map, the weekly trend with
its bands and changes, the waste periods on the timeline, and a result with none of them."""

import random
import struct
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from presence.report.plot import TIMELINE
from presence.report.plot_insight import DAYS, HEAT, TREND, waste_on_timeline, weekly_trend
from presence.report.series import Grid
from tests.report.test_plot import drawn, panel, plt, same  # noqa: F401 (plt is a fixture)

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 16, tzinfo=BERLIN)  # a Monday, ISO week 47
WEEKS = 4


def hour_of_week():
    """168 cells in a shuffled order: 100 W + 10 W a day + 1 W an hour, someone always home 18-24 and on Sundays."""
    rows = [{"day": day, "hour": hour, "nobody_home_h": 0.0 if hour >= 18 or day == 6 else 4.0,
             "nobody_home_mean_w": None if hour >= 18 or day == 6 else 100.0 + 10 * day + hour}
            for day in range(7) for hour in range(24)]
    random.Random(5).shuffle(rows)
    return rows


def week(index, mean, interval, always_on, days=7):
    start = START.date() + timedelta(weeks=index)
    low, high = (mean - interval, mean + interval) if interval else (None, None)
    on_low, on_high = (always_on - 5, always_on + 5) if interval else (None, None)
    return {"start": start.isoformat(), "label": f"2026-W{start.isocalendar().week}", "days": days,
            "nobody_home": {"mean_w": mean, "low_w": low, "high_w": high, "hours_h": 40.0},
            "always_on": {"w": always_on, "low_w": on_low, "high_w": on_high}}


def period(start, minutes, kwh, cost):
    begin = START + start
    return {"start": begin.isoformat(), "end": (begin + timedelta(minutes=minutes)).isoformat(),
            "duration_min": minutes, "kwh": kwh, "mean_w": 95 + kwh * 60000 / minutes, "cost": cost}


PERIODS = [period(timedelta(days=1, hours=10), 180, 2.4, 0.72), period(timedelta(days=9, hours=9), 120, 1.5, 0.45),
           period(timedelta(days=15, hours=13), 60, 0.9, 0.27), period(timedelta(days=20, hours=11), 45, 0.5, 0.15)]
CHANGES = [{"figure": "always_on", "week": "2026-W48", "start": "2026-11-23", "before_w": 95.0, "after_w": 140.0,
            "change_w": 45.0, "low_w": 30.0, "high_w": 60.0,
            "text": "always-on rose from 95 W to 140 W in week 48 (2026-11-23)"},
           {"figure": "nobody_home", "week": "2026-W50", "start": "2026-12-07", "before_w": 180.0,
            "after_w": 150.0, "change_w": -30.0, "low_w": -50.0, "high_w": -10.0, "text": "nobody-home fell ..."}]


def insight_report(**changed):
    """`(result, grid, power, anyone)` of four weeks at hourly steps in Berlin, with the keys of issue 26 made by
    hand; `changed` replaces top-level keys."""
    grid = Grid(int(START.timestamp()), 3600, WEEKS * 7 * 24)
    hours = np.arange(grid.count) % 24
    anyone = np.where((hours >= 18) | (hours < 8), 1.0, 0.0)
    power = np.where(anyone > 0, 300.0, 100.0)
    power[30:33] = np.nan
    rows = [{"hour": hour, "mean_w": 200.0, "someone_home_pct": 50.0} for hour in range(24)]
    result = {
        "period": {"start": START.isoformat(), "end": (START + timedelta(weeks=WEEKS)).isoformat(),
                   "time_zone": "Europe/Berlin", "step_s": grid.step, "hours_h": grid.count},
        "profile": {"weekday": rows, "weekend": rows}, "idle": {"idle_w": 95.0},
        "always_on": {"w": 95.0, "low_w": 90.0, "high_w": 101.0},
        "nobody_home": {"mean_w": 160.0, "low_w": 150.0, "high_w": 171.0},
        "price": {"currency": "EUR", "source": "--price", "mean_per_kwh": 0.3},
        "waste": {"threshold_w": 300.0, "min_duration_min": 30, "count": 6, "kwh": 5.8, "cost": 1.74,
                  "periods": PERIODS},
        "hour_of_week": hour_of_week(),
        # two weeks with intervals (a band), one without (none), one with but alone (a bar), the last partial
        "weeks": [week(0, 170.0, 20.0, 95.0), week(1, 180.0, 15.0, 140.0), week(2, 175.0, None, 141.0),
                  week(3, 150.0, 25.0, 139.0, days=6)],
        "changes": CHANGES,
    }
    result.update(changed)
    return result, grid, power, anyone


@pytest.fixture(scope="module")
def figure(plt, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("insight") / "report.png"
    figure = drawn(plt, path, *insight_report())
    yield figure, path
    plt.close(figure)


def vertices(collection):
    return {(round(x, 6), round(y, 6)) for path in collection.get_paths() for x, y in path.vertices}


def day_number(when):
    import matplotlib.dates
    return round(float(matplotlib.dates.date2num(when)), 6)


def test_the_heat_map_has_a_cell_per_hour_of_the_week_blank_where_the_home_was_never_empty(figure):
    heat = panel(figure[0], HEAT)
    [image] = heat.get_images()
    expected = np.full((7, 24), np.nan)
    for row in hour_of_week():
        expected[row["day"], row["hour"]] = np.nan if row["nobody_home_mean_w"] is None else row["nobody_home_mean_w"]
    np.testing.assert_array_equal(np.ma.filled(image.get_array().astype(float), np.nan), expected)
    assert expected[0, 0] == 100.0 and expected[5, 17] == 167.0 and np.isnan(expected[6, 3])
    assert [label.get_text() for label in heat.get_yticklabels()] == list(DAYS)
    assert "highest (boxed): Sat 17:00-18:00, 167 W" in heat.get_xlabel()
    [box] = heat.patches
    assert (box.get_x(), box.get_y()) == (16.5, 4.5)


def test_the_heat_maps_colour_bar_marks_the_always_on_load(figure):
    [image] = panel(figure[0], HEAT).get_images()
    bar = image.colorbar
    [line] = bar.ax.get_lines()
    assert list(line.get_ydata()) == [95.0, 95.0]
    labels = dict(zip(bar.get_ticks(), (label.get_text() for label in bar.ax.get_yticklabels())))
    assert labels[95.0] == "always-on 95"
    assert bar.vmin < 95.0 and bar.vmax == 167.0


def test_the_trend_draws_each_weeks_level_with_its_95_percent_band_where_it_has_one(figure):
    trend = panel(figure[0], TREND)
    result = insight_report()[0]
    starts = [date.fromisoformat(w["start"]) for w in result["weeks"]]
    lines = {line.get_label(): line for line in trend.get_lines()}
    bands = [c for c in trend.collections if c.get_label() == "95 % interval"]
    from matplotlib.collections import LineCollection
    bars = [c for c in trend.collections if isinstance(c, LineCollection)]
    for (block, key), name, band, bar in zip((("nobody_home", "mean_w"), ("always_on", "w")),
                                              ("nobody home: mean power", "always-on load"), bands, bars):
        assert list(lines[name].get_xdata()) == starts
        assert same(list(lines[name].get_ydata()), [w[block][key] for w in result["weeks"]])
        drawn_ = vertices(band)
        for index in (0, 1):  # neighbours: one band between them
            x = day_number(starts[index])
            assert {(x, result["weeks"][index][block]["low_w"]), (x, result["weeks"][index][block]["high_w"])} <= drawn_
        assert day_number(starts[2]) not in {x for x, _ in drawn_}  # no interval: no band
        last = result["weeks"][3][block]
        [segment] = bar.get_segments()  # an interval without neighbours: a bar of its own
        assert segment.tolist() == [[day_number(starts[3]), last["low_w"]], [day_number(starts[3]), last["high_w"]]]
    ticks = [label.get_text() for label in trend.get_xticklabels()]
    assert ticks == ["W47\n16 Nov", "W48\n23 Nov", "W49\n30 Nov", "W50\n07 Dec\n(6 d)"]


def test_each_change_is_marked_where_it_happened_with_a_short_label(figure):
    trend = panel(figure[0], TREND)
    marks = [line for line in trend.get_lines() if line.get_linestyle() == ":"]
    assert [list(line.get_xdata()) for line in marks] == [[date(2026, 11, 23)] * 2, [date(2026, 12, 7)] * 2]
    assert [text.get_text() for text in trend.texts] == ["always-on +45 W", "nobody home -30 W"]


def test_the_timeline_shades_each_waste_period_and_labels_the_largest_with_kwh_and_cost(figure):
    line = panel(figure[0], TIMELINE)
    spans = line.patches
    assert len(spans) == len(PERIODS)
    for span, waste in zip(spans, PERIODS):
        assert day_number(datetime.fromisoformat(waste["start"])) == pytest.approx(span.get_x())
        assert day_number(datetime.fromisoformat(waste["end"])) == pytest.approx(span.get_x() + span.get_width())
    assert [text.get_text() for text in line.texts] == [
        "#1 Tue 17 Nov 10:00, 3 h 00 min at 895 W\n2.40 kWh, 0.72 EUR",
        "#2 Wed 25 Nov 09:00, 2 h 00 min at 845 W\n1.50 kWh, 0.45 EUR",
        "#3 Tue 01 Dec 13:00, 1 h 00 min at 995 W\n0.90 kWh, 0.27 EUR"]
    labels = line.get_legend_handles_labels()[1]
    assert "waste with nobody in: 6 periods, 5.8 kWh (largest 4 shaded)" in labels
    assert "always-on load (95 W)" in labels


def test_without_a_price_a_waste_label_gives_its_kwh_and_a_bare_cost_when_it_has_one(plt):  # noqa: F811
    cheap = [dict(PERIODS[0], cost=None), dict(PERIODS[1], cost=0.45)]
    figure, axes = plt.subplots()
    try:
        axes.plot([START, START + timedelta(weeks=WEEKS)], [0, 1])
        waste_on_timeline(axes, insight_report(price=None, waste={"count": 2, "kwh": 3.9, "periods": cheap})[0],
                          BERLIN)
        assert [text.get_text().split("\n")[1] for text in axes.texts] == ["2.40 kWh", "1.50 kWh, cost 0.45"]
    finally:
        plt.close(figure)


def test_a_result_with_nothing_to_show_draws_every_panel_empty_and_says_so(plt, tmp_path):  # noqa: F811
    blank = [dict(row, nobody_home_mean_w=None, nobody_home_h=0.0) for row in hour_of_week()]
    nothing = {key: None for key in ("w", "low_w", "high_w")}
    result, grid, power, anyone = insight_report(
        hour_of_week=blank, weeks=[], changes=[], price=None, always_on=nothing, nobody_home={"mean_w": None},
        waste={"threshold_w": 300.0, "min_duration_min": 30, "count": 0, "kwh": 0.0, "cost": None, "periods": []})
    path = tmp_path / "empty.png"
    figure = drawn(plt, path, result, grid, power, np.ones(len(anyone)))
    try:
        assert struct.unpack(">II", path.read_bytes()[16:24]) == (1350, 1080)
        heat, trend, line = (panel(figure, title) for title in (HEAT, TREND, TIMELINE))
        [image] = heat.get_images()
        assert np.ma.getmaskarray(image.get_array()).all() and not image.colorbar.ax.get_lines()
        assert [text.get_text() for text in heat.texts] == ["the home was never empty: no hours to show"]
        assert [text.get_text() for text in trend.texts] == ["no weeks to compare yet"] and not trend.get_lines()
        assert not line.patches and not line.texts
        assert [text.get_text() for text in line.get_legend().get_texts()] == [
            "power (hourly mean)", "someone home (% of the hour)"]
    finally:
        plt.close(figure)


def test_a_result_without_the_new_keys_still_draws(plt, tmp_path):  # noqa: F811
    result, grid, power, anyone = insight_report()
    for key in ("always_on", "nobody_home", "price", "waste", "hour_of_week", "weeks", "changes"):
        del result[key]
    figure = drawn(plt, tmp_path / "old.png", result, grid, power, anyone)
    try:
        assert not panel(figure, TIMELINE).patches and not panel(figure, TREND).get_lines()
    finally:
        plt.close(figure)


def test_a_single_week_without_intervals_is_a_point_of_each_figure_with_no_band(plt):  # noqa: F811
    figure, axes = plt.subplots()
    try:
        weekly_trend(axes, {"weeks": [week(0, 170.0, None, 95.0, days=3)], "changes": []})
        lines = {line.get_label(): line for line in axes.get_lines()}
        assert list(lines["nobody home: mean power"].get_ydata()) == [170.0]
        assert list(lines["always-on load"].get_ydata()) == [95.0]
        assert len(axes.collections) == 4  # a band and a bar of each figure, all empty
        assert not any(collection.get_paths() for collection in axes.collections)
        assert axes.get_legend_handles_labels()[1] == ["nobody home: mean power", "always-on load"]
        assert [label.get_text() for label in axes.get_xticklabels()] == ["W47\n16 Nov\n(3 d)"]
    finally:
        plt.close(figure)
