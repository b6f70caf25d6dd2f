"""`report --png`'s panels of what a household can act on: the hour-of-week heat map, the weekly trend with its
95 % intervals and changes, and the largest waste periods on the timeline.

Only presence.report.plot imports this module, once a figure is asked for; matplotlib is imported inside the functions.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

HEAT = "When does the house use power with nobody in?"
TREND = "Week by week: power with nobody in and the always-on load"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LABELLED_WASTE = 3  # the largest periods get a label; more would cover the timeline
# (result key, the key of its level, colour, name in the legend, name in a change's label)
TRENDS = (("nobody_home", "mean_w", "tab:green", "nobody home: mean power", "nobody home"),
          ("always_on", "w", "tab:purple", "always-on load", "always-on"))
WASTE_COLOUR = "tab:orange"


def zone(result):
    """The report's time zone for matplotlib: None (the local clock) for "localtime"."""
    name = result["period"]["time_zone"]
    return None if name == "localtime" else ZoneInfo(name)


def figure_of(result, block, key):
    """`result[block][key]`, or None when the block or the figure is missing or None."""
    return (result.get(block) or {}).get(key)


def week_grid(rows):
    """7 x 24 nobody-home mean powers (Monday first, local hours) from `hour_of_week`; NaN where unknown."""
    cells = np.full((7, 24), np.nan)
    for row in rows:
        if row.get("nobody_home_mean_w") is not None:
            cells[row["day"], row["hour"]] = row["nobody_home_mean_w"]
    return cells


def hour_of_week_map(heat, result):
    """Mean power with nobody home by day of the week and hour, with the always-on load on the colour bar.

    A cell the home was never empty in stays blank (hatched), so it does not read as 0 W.
    """
    cells = week_grid(result.get("hour_of_week") or [])
    always_on = figure_of(result, "always_on", "w")
    levels = [float(v) for v in cells[~np.isnan(cells)]] + ([always_on] if always_on is not None else [])
    low, high = (min(levels), max(levels)) if levels else (0.0, 1.0)
    # a margin below, so the always-on line is not lost at the colour bar's end
    low, high = max(0.0, low - 0.05 * (high - low)), max(high, low + 1.0)
    image = heat.imshow(cells, aspect="auto", cmap="YlOrRd", vmin=low, vmax=high, interpolation="nearest")
    heat.patch.set(hatch="//", edgecolor="0.75")
    bar = heat.figure.colorbar(image, ax=heat, pad=0.01)
    bar.set_label("W with nobody in")
    if always_on is not None:
        bar.ax.axhline(always_on, color="black", linewidth=2.5)
        ticks = [t for t in bar.get_ticks() if low <= t <= high and abs(t - always_on) > 0.08 * (high - low)]
        bar.set_ticks(ticks + [always_on], labels=[f"{t:.0f}" for t in ticks] + [f"always-on {always_on:.0f}"])
    where = f"hour of day ({result['period']['time_zone']})"
    if np.isnan(cells).all():
        heat.text(0.5, 0.5, "the home was never empty: no hours to show", transform=heat.transAxes,
                  ha="center", va="center")
    else:
        day, hour = np.unravel_index(np.nanargmax(cells), cells.shape)
        heat.add_patch(_box(hour, day))
        where += f"\nhighest (boxed): {DAYS[day]} {hour:02d}:00-{hour + 1:02d}:00, {cells[day, hour]:.0f} W"
    heat.set(xticks=range(0, 24, 2), yticks=range(7), yticklabels=DAYS, title=HEAT,
             xlabel=where + "; hatched: never empty then")


def _box(column, row):
    from matplotlib.patches import Rectangle
    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.5)


def _values(weeks, block, key):
    return np.array([(week.get(block) or {}).get(key) for week in weeks], dtype=float)


def weekly_trend(trend, result):
    """Each week's nobody-home mean power and always-on load with their 95 % interval bands, and each change the
    intervals say is real marked where it happened. A week without an interval has no band."""
    import matplotlib.dates
    import matplotlib.transforms

    weeks = result.get("weeks") or []
    starts = [date.fromisoformat(week["start"]) for week in weeks]
    for block, key, colour, name, _ in TRENDS:
        if not weeks:
            break
        low, high = _values(weeks, block, "low_w"), _values(weeks, block, "high_w")
        trend.plot(starts, _values(weeks, block, key), "o-", color=colour, label=name)
        banded = bool((np.isfinite(low) & np.isfinite(high)).any())
        trend.fill_between(starts, low, high, color=colour, alpha=0.2, linewidth=0,
                           label="95 % interval" if banded else "_no interval")
        alone = [i for i in range(len(weeks)) if _isolated(low, high, i)]
        # fill_between needs two neighbouring weeks to show a band: a week alone gets a bar of its own
        trend.vlines([starts[i] for i in alone], low[alone], high[alone], color=colour, alpha=0.2, linewidth=10)
    places = matplotlib.transforms.blended_transform_factory(trend.transData, trend.transAxes)
    colours = {block: colour for block, _, colour, _, _ in TRENDS}
    names = {block: name for block, _, _, _, name in TRENDS}
    for index, change in enumerate(result.get("changes") or []):
        when = date.fromisoformat(change["start"])
        trend.axvline(when, color=colours.get(change["figure"], "black"), linestyle=":", linewidth=1.5)
        trend.text(when, 0.97 - 0.1 * (index % 4), _change_label(change, names), transform=places,
                   ha="left", va="top", fontsize="small", bbox={"facecolor": "white", "alpha": 0.85, "pad": 2})
    trend.set_ylim(bottom=0, top=max(trend.get_ylim()[1] * 1.25, 1.0))
    trend.set(ylabel="W", title=TREND)
    if not weeks:
        trend.text(0.5, 0.5, "no weeks to compare yet", transform=trend.transAxes, ha="center", va="center")
        return
    if len(weeks) <= 10:
        trend.set_xticks(starts, [_week_tick(week, start) for week, start in zip(weeks, starts)])
    else:
        locator = matplotlib.dates.AutoDateLocator()
        trend.xaxis.set_major_locator(locator)
        trend.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))
    trend.legend(loc="lower left", fontsize="small", ncols=2)


def _isolated(low, high, index):
    def known(i):
        return 0 <= i < len(low) and not (np.isnan(low[i]) or np.isnan(high[i]))
    return known(index) and not known(index - 1) and not known(index + 1)


def _week_tick(week, start):
    tick = f"{week['label'].split('-')[-1]}\n{start:%d %b}"
    return tick if week.get("days", 7) >= 7 else f"{tick}\n({week['days']} d)"


def _change_label(change, names):
    name = names.get(change["figure"], change["figure"])
    if change.get("change_w") is None:
        return f"{name} changed"
    return f"{name} {change['change_w']:+.0f} W"


def waste_on_timeline(line, result, tz):
    """Shade the largest waste periods (nobody home, well above the always-on load) on the timeline and label the
    largest few with their kWh and cost."""
    import matplotlib.dates

    waste = result.get("waste") or {}
    periods = waste.get("periods") or []
    currency = figure_of(result, "price", "currency")
    always_on = figure_of(result, "always_on", "w")
    if always_on is not None:
        line.axhline(always_on, color="tab:purple", linestyle="--", linewidth=1,
                     label=f"always-on load ({always_on:.0f} W)")
    left, right = line.get_xlim()
    for rank, period in enumerate(periods):
        start, end = _when(period["start"], tz), _when(period["end"], tz)
        line.axvspan(start, end, color=WASTE_COLOUR, alpha=0.35, linewidth=1.5,
                     label=_waste_legend(waste, len(periods)) if rank == 0 else None)
        if rank >= LABELLED_WASTE:
            continue
        middle = matplotlib.dates.date2num(start + (end - start) / 2)
        share = (middle - left) / (right - left) if right > left else 0.5
        line.annotate(waste_label(rank, period, currency), (middle, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(middle, 0.93 - 0.16 * rank), textcoords=("data", "axes fraction"),
                      ha="left" if share < 0.7 else "right", va="top", fontsize="small",
                      bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": WASTE_COLOUR, "alpha": 0.9},
                      arrowprops={"arrowstyle": "-", "color": WASTE_COLOUR})


def _when(text, tz):
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _waste_legend(waste, shown):
    count, kwh = waste.get("count", shown), waste.get("kwh")
    text = f"waste with nobody in: {count} period{'s' if count != 1 else ''}"
    text += f", {kwh:.1f} kWh" if kwh is not None else ""
    return text + (f" (largest {shown} shaded)" if count > shown else "")


def waste_label(rank, period, currency):
    """`#1 Tue 10 Nov 10:00, 3 h 00 min at 2118 W` over `6.00 kWh, 1.92 EUR`: one waste period, for its label."""
    hours, minutes = divmod(int(period["duration_min"]), 60)
    when = f"#{rank + 1} {datetime.fromisoformat(period['start']):%a %d %b %H:%M}, "
    when += f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    when += f" at {period['mean_w']:.0f} W" if period.get("mean_w") is not None else ""
    kwh = period["kwh"]
    used = f"{kwh:.1f} kWh" if kwh >= 10 else f"{kwh:.2f} kWh"
    if period.get("cost") is not None:
        used += f", {period['cost']:.2f} {currency}" if currency else f", cost {period['cost']:.2f}"
    return f"{when}\n{used}"
