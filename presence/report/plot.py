"""`report --png`: one figure with the hour-of-week heat map, the weekly trend, the timeline with the waste periods,
the hour-of-day profile and the power distribution.

matplotlib is optional: only this module (and plot_insight, which it imports) use it, and only when a figure is
asked for.
"""

import importlib
from datetime import datetime

import numpy as np

from presence.report import plot_insight
from presence.report.series import clock_hours

TIMELINE = "Power over time, with the largest waste while nobody was in shaded"


def has_matplotlib():
    """Whether matplotlib can be imported, without drawing anything yet."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return False
    return True


def _hourly(grid, values):
    """`(starts, means)` of each whole clock hour's known values (a year of minutes is too many points to draw);
    NaN where an hour has none, which draws a gap. A grid coarser than an hour gives its own bins."""
    return clock_hours(values, grid, coverage=0)


def draw(path, result, grid, power, anyone):
    """Write the figure to `path` as a PNG (1350 x 1080 pixels: a laptop's screen)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(15, 12), layout="constrained")
    cells = figure.add_gridspec(3, 2)
    heat, trend = figure.add_subplot(cells[0, 0]), figure.add_subplot(cells[0, 1])
    line = figure.add_subplot(cells[1, :])
    profile, spread = figure.add_subplot(cells[2, 0]), figure.add_subplot(cells[2, 1])
    plot_insight.hour_of_week_map(heat, result)
    plot_insight.weekly_trend(trend, result)
    _timeline(line, result, grid, power, anyone)
    _profile(profile, result)
    _spread(spread, grid, power, anyone)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _profile(profile, result):
    """Mean power and how often someone is home, by hour of day, weekdays and weekends apart."""
    hours = list(range(24))
    occupancy = profile.twinx()
    for kind, style in (("weekday", "-"), ("weekend", "--")):
        rows = result["profile"][kind]
        profile.plot(hours, [r["mean_w"] if r["mean_w"] is not None else float("nan") for r in rows],
                     style, color="tab:red", label=f"mean power, {kind}s")
        occupancy.plot(hours, [r["someone_home_pct"] if r["someone_home_pct"] is not None else float("nan")
                               for r in rows], style, color="tab:blue", label=f"someone home, {kind}s")
    if result["idle"]["idle_w"] is not None:
        profile.axhline(result["idle"]["idle_w"], color="grey", linewidth=0.8, label="idle load")
    profile.set_ylim(bottom=0)
    profile.set(xlabel=f"hour of day ({result['period']['time_zone']})", ylabel="W", xticks=range(0, 24, 2),
                title="Hour of day: mean power and how often someone is home")
    occupancy.set(ylabel="% of the time someone is home", ylim=(0, 105))
    power, home = profile.get_legend_handles_labels()[0], occupancy.get_legend_handles_labels()[0]
    # filled column by column: power on the first row, occupancy on the second
    handles = [handle for pair in zip(power, home) for handle in pair] + power[len(home):]
    profile.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small", ncols=3,
                   frameon=False)


def _spread(spread, grid, power, anyone):
    """The distribution of power while the home is empty and while it is occupied."""
    power, anyone = np.asarray(power, dtype=float), np.asarray(anyone, dtype=float)
    known = ~np.isnan(power) & ~np.isnan(anyone)
    empty, occupied = power[known & (anyone < 0.5)], power[known & (anyone >= 0.5)]
    top = max(float(power[known].max()) if known.any() else 0.0, 1.0)
    bins = np.linspace(0.0, top, 61)
    if empty.size:
        spread.hist(empty, bins=bins, density=True, alpha=0.6, color="tab:green", label="nobody home")
    if occupied.size:
        spread.hist(occupied, bins=bins, density=True, alpha=0.6, color="tab:orange", label="someone home")
    spread.set(xlabel=f"power (W, {grid.step} s means)", ylabel="share of the time (density)",
               title="Power when the home is empty vs occupied")
    spread.legend(fontsize="small")


def _timeline(line, result, grid, power, anyone):
    """Hourly mean power over the period, with the share of each hour someone was home behind it and the
    largest waste periods shaded."""
    import matplotlib.dates

    tz = plot_insight.zone(result)
    times, watts = _hourly(grid, power)
    _, share = _hourly(grid, anyone)
    dates = [datetime.fromtimestamp(int(t), tz) for t in times]
    line.plot(dates, watts, color="tab:red", linewidth=0.7, label="power (hourly mean)")
    line.set_ylim(bottom=0, top=max(np.nanmax(watts) * 1.3 if np.isfinite(watts).any() else 0.0, 1.0))
    line.set(ylabel="W", title=TIMELINE)
    if dates:
        line.set_xlim(dates[0], datetime.fromtimestamp(grid.start + grid.count * grid.step, tz))
    locator = matplotlib.dates.AutoDateLocator(tz=tz)
    line.xaxis.set_major_locator(locator)
    line.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator, tz=tz))
    home = line.twinx()
    home.fill_between(dates, np.where(np.isnan(share), 0.0, 100.0 * share), step="post", color="tab:blue",
                      alpha=0.15, label="someone home (% of the hour)")
    plot_insight.waste_on_timeline(line, result, tz)
    # the twin is drawn over its host: lift the power, the waste and its labels above the occupancy shading
    line.set_zorder(home.get_zorder() + 1)
    line.patch.set_visible(False)
    home.set(ylabel="% of the hour someone is home", ylim=(0, 105))
    line.legend(handles=line.get_legend_handles_labels()[0] + home.get_legend_handles_labels()[0],
                loc="upper left", bbox_to_anchor=(0, -0.1), ncols=4, fontsize="small", frameon=False)
