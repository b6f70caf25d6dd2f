"""`report --png`: one figure with the hour-of-day profile, the power distribution and the timeline.

matplotlib is optional: only this module imports it, and only when a figure is asked for.
"""

import importlib
from datetime import datetime
from zoneinfo import ZoneInfo

from presence.report.series import hourly_means


def has_matplotlib():
    """Whether matplotlib can be imported, without drawing anything yet."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return False
    return True


def _hourly(grid, values):
    """Hourly means for the timeline (a year of minutes is too many points to draw); NaN draws a gap."""
    hours = hourly_means(values, grid, coverage=0)
    return [start for start, _ in hours], [float("nan") if mean is None else mean for _, mean in hours]


def draw(path, result, grid, power, anyone):
    """Write the figure to `path` as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 1, figsize=(11, 12), constrained_layout=True)
    _profile(axes[0], result)
    _spread(axes[1], grid, power, anyone)
    _timeline(axes[2], result, grid, power, anyone)
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
    handles = profile.get_legend_handles_labels()[0] + occupancy.get_legend_handles_labels()[0]
    profile.legend(handles=handles, loc="lower left", fontsize="small", ncols=2)


def _spread(spread, grid, power, anyone):
    """The distribution of power while the home is empty and while it is occupied."""
    empty = [p for p, a in zip(power, anyone) if p is not None and a is not None and a < 0.5]
    occupied = [p for p, a in zip(power, anyone) if p is not None and a is not None and a >= 0.5]
    top = max(empty + occupied + [1.0])
    bins = [top * i / 60 for i in range(61)]
    if empty:
        spread.hist(empty, bins=bins, density=True, alpha=0.6, color="tab:green", label="nobody home")
    if occupied:
        spread.hist(occupied, bins=bins, density=True, alpha=0.6, color="tab:orange", label="someone home")
    spread.set(xlabel=f"power (W, {grid.step} s means)", ylabel="share of the time (density)",
               title="Power when the home is empty vs occupied")
    spread.legend(fontsize="small")


def _timeline(line, result, grid, power, anyone):
    """Hourly mean power over the period, with the share of each hour someone was home behind it."""
    import matplotlib.dates

    tz = ZoneInfo(result["period"]["time_zone"]) if result["period"]["time_zone"] != "localtime" else None
    times, watts = _hourly(grid, power)
    _, share = _hourly(grid, anyone)
    dates = [datetime.fromtimestamp(t, tz) for t in times]
    line.plot(dates, watts, color="tab:red", linewidth=0.7, label="power (hourly mean)")
    line.set(ylabel="W", title="Timeline")
    locator = matplotlib.dates.AutoDateLocator(tz=tz)
    line.xaxis.set_major_locator(locator)
    line.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator, tz=tz))
    home = line.twinx()
    home.fill_between(dates, [100 * s if s == s else 0 for s in share], step="post", color="tab:blue",
                      alpha=0.15, label="someone home (% of the hour)")
    home.set(ylabel="% of the hour someone is home", ylim=(0, 105))
    line.legend(handles=line.get_legend_handles_labels()[0] + home.get_legend_handles_labels()[0],
                loc="upper left", fontsize="small")
