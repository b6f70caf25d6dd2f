"""The trend, week by week: the nobody-home mean and the always-on load with their intervals, and the changes
the intervals say are real (an old fridge dying, a new device left on)."""

from datetime import date, timedelta
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from presence.config import report_defaults
from presence.report.bootstrap import interval, mean_with_rare_loads, percentile_replicates, ratio_replicates, resample

_EPOCH = date(1970, 1, 1)


def trend(days, percentile):
    """(weeks, changes) over the local ISO weeks of `days` (presence.report.insight.Days)."""
    if not days.count:
        return [], []
    monday = days.number - (days.number + 3) % 7
    weeks = []
    for start in np.unique(monday):
        chosen = np.flatnonzero(monday == start)
        weeks.append(_week(days, chosen, int(start), percentile))
    return weeks, _changes(days, monday, percentile)


@lru_cache(maxsize=64)
def _draws(days, replicates):
    """Days drawn among `days` of one kind (seeded, so the same for every week of that length)."""
    return resample(np.zeros(days), replicates)


def _week(days, chosen, monday, percentile):
    counts = _draws(len(chosen), report_defaults.BOOTSTRAP_REPLICATES)
    with_data = int((days.power_h[chosen] > 0).sum())
    nobody_h = float(days.empty_h[chosen].sum())
    mean = float(days.empty_wh[chosen].sum() / nobody_h) if nobody_h > 0 else None
    empty_days = int((days.empty_h[chosen] > 0).sum())
    least = report_defaults.MIN_WEEK_DAYS
    low, high, _ = (mean_with_rare_loads(days.empty_wh[chosen], days.empty_h[chosen], days.large_wh[chosen], counts,
                                         empty_days, least) if mean is not None else (None, None, 0))
    level = _level(days, chosen, percentile)
    hours_days = int((days.hour_count[chosen] > 0).sum())
    a_low, a_high = interval(level, percentile_replicates(*_hours(days, chosen), counts, percentile), hours_days,
                             least)
    first = _EPOCH + timedelta(days=monday)
    year, week, _ = first.isocalendar()
    return {"start": first.isoformat(), "label": f"{year}-W{week:02d}", "days": with_data,
            "nobody_home": {"mean_w": mean, "low_w": low, "high_w": high, "hours_h": nobody_h},
            "always_on": {"w": level, "low_w": a_low, "high_w": a_high}}


def _hours(days, chosen):
    """The hourly means of the `chosen` days (consecutive indexes) and their days counted from the first."""
    inside = (days.hour_days >= chosen[0]) & (days.hour_days <= chosen[-1])
    return days.hour_means[inside], days.hour_days[inside] - chosen[0]


def _level(days, chosen, percentile):
    values = _hours(days, chosen)[0]
    return float(np.percentile(values, percentile)) if len(values) else None


def _nobody(days, chosen):
    hours = days.empty_h[chosen].sum()
    return float(days.empty_wh[chosen].sum() / hours) if hours > 0 else None


def _changes(days, monday, percentile):
    """At each week's start with CHANGE_SIDE_DAYS of data either side (up to CHANGE_WINDOW_DAYS): the figure
    after minus before, its standard error from days resampled on each side apart; real when beyond a
    Bonferroni-corrected number of standard errors (so that a stable home's year says nothing) and at least
    CHANGE_MIN_W and CHANGE_MIN_SHARE of the level before."""
    window, side = report_defaults.CHANGE_WINDOW_DAYS, report_defaults.CHANGE_SIDE_DAYS
    candidates = []
    tested = 0
    for start in np.unique(monday)[1:]:
        before = np.flatnonzero((days.number < start) & (days.number >= start - window))
        after = np.flatnonzero((days.number >= start) & (days.number < start + window))
        for figure in ("always_on", "nobody_home"):
            weights = days.hour_count if figure == "always_on" else days.empty_h
            if (weights[before] > 0).sum() < side or (weights[after] > 0).sum() < side:
                continue
            tested += 1
            found = _difference(days, before, after, figure, percentile)
            if found:
                candidates.append((int(start), figure) + found)
    if not tested:
        return []
    critical = NormalDist().inv_cdf(1 - 0.025 / tested)
    real = [c for c in candidates if abs(c[4]) > critical * c[5]
            and abs(c[4]) >= max(report_defaults.CHANGE_MIN_W, report_defaults.CHANGE_MIN_SHARE * abs(c[2]))]
    kept = []
    for c in sorted(real, key=lambda c: -abs(c[4]) / c[5]):
        if all(k[1] != c[1] or abs(k[0] - c[0]) >= window for k in kept):
            kept.append(c)
    return [_said(c) for c in sorted(kept)]


def _difference(days, before, after, figure, percentile):
    """(before, after, change, standard error) of a figure, or None when either side has no value."""
    replicates = report_defaults.CHANGE_REPLICATES
    sides = []
    for chosen in (before, after):
        counts = _draws(len(chosen), replicates)
        if figure == "always_on":
            value = _level(days, chosen, percentile)
            spread = percentile_replicates(*_hours(days, chosen), counts, percentile)
        else:
            value = _nobody(days, chosen)
            spread = ratio_replicates(days.empty_wh[chosen], days.empty_h[chosen], counts)
        if value is None:
            return None
        sides.append((value, np.nanstd(spread, ddof=1)))
    (was, se_was), (now, se_now) = sides
    se = float(np.hypot(se_was, se_now))
    return (was, now, now - was, se) if se > 0 else None


def _said(change):
    start, figure, was, now, diff, se = change
    first = _EPOCH + timedelta(days=start)
    year, week, _ = first.isocalendar()
    name = "always-on" if figure == "always_on" else "the mean power with nobody home"
    z = report_defaults.Z95
    return {"figure": figure, "week": f"{year}-W{week:02d}", "start": first.isoformat(), "before_w": was,
            "after_w": now, "change_w": diff, "low_w": diff - z * se, "high_w": diff + z * se,
            "text": f"{name} {'rose' if diff > 0 else 'fell'} from {was:.0f} W to {now:.0f} W in week {week} "
                    f"({first.isoformat()}); the change is {diff:+.0f} W, 95 % interval "
                    f"{diff - z * se:+.0f} to {diff + z * se:+.0f} W"}
