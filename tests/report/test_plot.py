"""`report --png`'s figure, drawn with matplotlib's Agg backend: the file, and what each panel shows."""

import math
import struct
import sys

import numpy as np
import pytest

from presence.report.plot import TIMELINE, _hourly, draw, has_matplotlib
from presence.report.plot_insight import HEAT, TREND
from presence.report.series import Grid, hourly_means
from tests.report.test_output import POWER_GAP, small_report

PROFILE = "Hour of day: mean power and how often someone is home"
SPREAD = "Power when the home is empty vs occupied"


@pytest.fixture(scope="module")
def plt():
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib (requirements-dev.txt) draws the figure")
    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def drawn(plt, path, result, grid, power, anyone):
    """Draw the figure as `report --png` does and return it still open (the caller closes it)."""
    figures = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt, "close", figures.append)
        draw(path, result, grid, power, anyone)
    [figure] = figures
    return figure


def as_arrays(report):
    """`small_report` with power and presence as the report hands them to `draw`: float64, NaN for unknown."""
    result, grid, power, anyone = report
    return result, grid, np.asarray(power, dtype=float), np.asarray(anyone, dtype=float)


@pytest.fixture(scope="module")
def report():
    return as_arrays(small_report())


@pytest.fixture(scope="module")
def figure(plt, report, tmp_path_factory):
    """The figure of `small_report` and the PNG it was written to, drawn once (a drawing takes a second)."""
    path = tmp_path_factory.mktemp("plot") / "report.png"
    figure = drawn(plt, path, *report)
    yield figure, path
    plt.close(figure)


def panel(figure, title):
    [axes] = [axes for axes in figure.axes if axes.get_title() == title]
    return axes


def twin_labelled(figure, ylabel):
    [axes] = [axes for axes in figure.axes if axes.get_ylabel() == ylabel]
    return axes


def same(drawn, expected):
    """Equal lists where NaN (a gap in the drawing) matches NaN or None."""
    assert len(drawn) == len(expected)
    return all(math.isnan(d) if e is None or (isinstance(e, float) and math.isnan(e)) else d == pytest.approx(e)
               for d, e in zip(drawn, expected))


def test_matplotlib_is_found_only_when_it_can_be_imported(monkeypatch):
    pytest.importorskip("matplotlib", reason="matplotlib (requirements-dev.txt) is what it looks for")
    assert has_matplotlib()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not has_matplotlib()


def test_the_figure_is_written_as_a_png_of_five_panels_for_a_laptops_screen(figure):
    figure, path = figure
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1350, 1080)
    titled = [axes for axes in figure.axes if axes.get_title()]
    assert [axes.get_title() for axes in titled] == [HEAT, TREND, TIMELINE, PROFILE, SPREAD]
    # two side by side, the timeline across the whole width, two side by side
    boxes = [axes.get_position() for axes in titled]
    assert boxes[0].y0 == pytest.approx(boxes[1].y0) and boxes[0].x1 < boxes[1].x0
    assert boxes[2].x0 <= boxes[0].x0 and boxes[2].x1 >= boxes[1].x1 and boxes[3].y1 < boxes[2].y0 < boxes[0].y0


def test_hourly_means_of_an_array_are_those_of_the_series_module():
    start = 1_780_000_000  # not on a whole hour: the first bins are left out
    rng = np.random.default_rng(7)
    for step, count in ((600, 200), (60, 1000), (900, 5), (7200, 30), (420, 50)):
        grid = Grid(start, step, count)
        values = rng.uniform(0, 500, count)
        values[rng.random(count) < 0.3] = np.nan
        values[:12] = np.nan  # a whole unknown hour
        expected = hourly_means([None if np.isnan(v) else float(v) for v in values], grid, coverage=0)
        starts, means = _hourly(grid, values)
        assert list(starts) == [hour for hour, _ in expected]
        assert same(list(means), [mean for _, mean in expected])


def test_the_profile_draws_each_hours_mean_power_and_occupancy_with_the_idle_load(figure, report):
    figure, result = figure[0], report[0]
    power = {line.get_label(): line for line in panel(figure, PROFILE).get_lines()}
    home = {line.get_label(): line for line in twin_labelled(figure, "% of the time someone is home").get_lines()}
    for kind in ("weekday", "weekend"):
        rows = result["profile"][kind]
        assert list(power[f"mean power, {kind}s"].get_xdata()) == list(range(24))
        assert same(power[f"mean power, {kind}s"].get_ydata(), [row["mean_w"] for row in rows])
        assert same(home[f"someone home, {kind}s"].get_ydata(), [row["someone_home_pct"] for row in rows])
    assert list(power["idle load"].get_ydata()) == [100.0, 100.0]
    assert math.isnan(power["mean power, weekdays"].get_ydata()[5])


def test_the_spread_is_a_density_of_power_apart_for_an_empty_and_an_occupied_home(figure):
    spread = panel(figure[0], SPREAD)
    assert spread.get_legend_handles_labels()[1] == ["nobody home", "someone home"]
    for container, watts in zip(spread.containers, (100.0, 400.0)):
        bars = list(container)
        assert sum(bar.get_height() * bar.get_width() for bar in bars) == pytest.approx(1.0)
        [tallest] = [bar for bar in bars if bar.get_height() > 0]
        assert tallest.get_x() - 1e-9 <= watts <= tallest.get_x() + tallest.get_width() + 1e-9


def test_a_home_never_occupied_draws_only_the_empty_spread(plt, report, tmp_path):
    result, grid, power, anyone = report
    figure = drawn(plt, tmp_path / "empty.png", result, grid, power, np.zeros(len(anyone)))
    try:
        assert panel(figure, SPREAD).get_legend_handles_labels()[1] == ["nobody home"]
    finally:
        plt.close(figure)


def test_the_timeline_draws_hourly_means_with_the_gap_left_open(figure, report):
    figure, grid = figure[0], report[1]
    [line] = [line for line in panel(figure, TIMELINE).get_lines() if line.get_label() == "power (hourly mean)"]
    watts = list(line.get_ydata())
    assert len(watts) == 48 and len(line.get_xdata()) == 48
    gap_hours = {index * grid.step // 3600 for index in range(*POWER_GAP)}
    expected = [None if hour in gap_hours else (400.0 if 18 <= hour % 24 < 23 else 100.0) for hour in range(48)]
    assert same(watts, expected)
    assert line.get_xdata()[0].isoformat() == "2026-06-05T00:00:00+02:00"
    [share] = twin_labelled(figure, "% of the hour someone is home").collections
    heights = share.get_paths()[0].vertices[:, 1]
    assert max(heights) == pytest.approx(100.0) and min(heights) == 0.0
