"""Occupancy against electricity: pure arithmetic over series already on one grid (no I/O, no clock).

Every figure comes from one pass that groups the bins by (local hour, weekend, anyone home, who is
home): the sums of power per group are enough for the energy split, the profiles and the fit.
"""

import math
from array import array
from functools import lru_cache
from itertools import repeat
from datetime import datetime, timezone

from presence.config import defaults, report_defaults
from presence.report.fit import solve_normal
from presence.report.series import hourly_means

WEEKEND = (5, 6)


# The homes of one study share the grid and the zone: their clocks are computed once.
@lru_cache(maxsize=4)
def local_clock(grid, tz):
    """(hour of day, is weekend) on the household's clock for every bin, DST days included (bytes)."""
    offsets = {}
    hours, weekends = bytearray(grid.count), bytearray(grid.count)
    for index in range(grid.count):
        stamp = grid.start + index * grid.step
        block = stamp // 900
        offset = offsets.get(block)
        if offset is None:
            moment = datetime.fromtimestamp(block * 900, timezone.utc)
            offset = offsets[block] = int(tz.utcoffset(moment.astimezone(tz)).total_seconds())
        local = stamp + offset
        hours[index] = local // 3600 % 24
        weekends[index] = (local // 86400 + 3) % 7 in WEEKEND
    return bytes(hours), bytes(weekends)


def group_bins(power, anyone, people, hours, weekends):
    """{(hour, weekend, anyone, who): [bins, bins with power, sum W, sum W^2, id]} and each bin's group id."""
    groups, ids = {}, array("l")
    whos = zip(*people) if people else repeat(())
    for p, a, hour, weekend, who in zip(power, anyone, hours, weekends, whos):
        key = (hour, weekend, a, who if a is not None else ())
        stats = groups.get(key)
        if stats is None:
            stats = groups[key] = [0, 0, 0.0, 0.0, len(groups)]
        ids.append(stats[4])
        stats[0] += 1
        if p is not None:
            stats[1] += 1
            stats[2] += p
            stats[3] += p * p
    return groups, ids


def idle_load(power, grid, percentile, coverage):
    """The `percentile`-th percentile of hourly mean power over clock hours with enough data."""
    means = [mean for _, mean in hourly_means(power, grid, coverage) if mean is not None]
    if not means:
        return None, 0
    means.sort()
    rank = (len(means) - 1) * percentile / 100
    low, high = math.floor(rank), math.ceil(rank)
    return means[low] + (means[high] - means[low]) * (rank - low), len(means)


def analyse(grid, power, anyone, people, tz, idle_percentile=report_defaults.IDLE_PERCENTILE,
            idle_coverage=report_defaults.IDLE_HOUR_COVERAGE):
    """The report's figures as a dict whose keys end in their unit (`_kwh`, `_w`, `_h`, `_pct`).

    `people` is `{key: values}`; a person's None while `anyone` is known counts as not home (the
    person was not configured then). Presence values are the share of the bin spent home.
    """
    keys_ = list(people)
    hours, weekends = local_clock(grid, tz)
    groups, bin_groups = group_bins(power, anyone, [people[k] for k in keys_], hours, weekends)
    hour_s = grid.step / 3600
    sums = _Sums(len(keys_))
    for (hour, weekend, a, who), stats in groups.items():
        sums.add(hour, weekend, a, [0.0 if x is None else x for x in who], stats, hour_s)
    idle_w, idle_hours = idle_load(power, grid, idle_percentile, idle_coverage)
    fit = _fit(groups, bin_groups, power, keys_)
    return {
        "period": {"start": _iso(grid.start, tz), "end": _iso(grid.start + grid.count * grid.step, tz),
                   "hours_h": grid.count * hour_s, "step_s": grid.step, "time_zone": str(tz)},
        "coverage": {"power_pct": _pct(sums.power_bins, grid.count),
                     "presence_pct": _pct(sums.presence_bins, grid.count),
                     "both_pct": _pct(sums.both_bins, grid.count)},
        "energy": sums.energy(),
        "by_people_home": sums.by_count(),
        "idle": _idle(idle_w, idle_hours, sums, idle_percentile),
        "people": _people(keys_, sums, fit),
        "caveats": _caveats(keys_, sums, fit),
        "profile": sums.profile(),
        "fit": {"residual_w": fit["residual_w"], "lag1_autocorrelation": fit["rho"],
                "bins": fit["bins"]},
    }


class _Sums:
    """Running totals over the groups; Wh and hours, split as the bins' presence shares say."""

    def __init__(self, people):
        self.power_bins = self.presence_bins = self.both_bins = 0
        self.total_wh = self.empty_wh = self.occupied_wh = self.unknown_wh = 0.0
        self.empty_h = self.occupied_h = 0.0
        self.home_h = [0.0] * people
        self.together_h = [[0.0] * people for _ in range(people)]
        self.count = {}
        self.hourly = {(weekend, hour): [0.0, 0.0, 0.0, 0.0] for weekend in (False, True) for hour in range(24)}

    def add(self, hour, weekend, a, who, stats, hour_s):
        bins, with_power, sum_w = stats[:3]
        wh = sum_w * hour_s
        self.power_bins += with_power
        self.total_wh += wh
        profile = self.hourly[(weekend, hour)]
        profile[2] += sum_w * hour_s
        profile[3] += with_power * hour_s
        if a is None:
            self.unknown_wh += wh
            return
        self.presence_bins += bins
        self.both_bins += with_power
        profile[0] += a * bins * hour_s
        profile[1] += bins * hour_s
        for i, x in enumerate(who):
            self.home_h[i] += x * bins * hour_s
            for j in range(i + 1, len(who)):
                self.together_h[i][j] += min(x, who[j]) * bins * hour_s
        self.empty_wh += wh * (1 - a)
        self.occupied_wh += wh * a
        self.empty_h += with_power * hour_s * (1 - a)
        self.occupied_h += with_power * hour_s * a
        slot = self.count.setdefault(round(sum(who)), [0.0, 0.0])
        slot[0] += with_power * hour_s
        slot[1] += wh

    def energy(self):
        measured = self.empty_wh + self.occupied_wh
        return {"total_kwh": self.total_wh / 1000, "empty_kwh": self.empty_wh / 1000,
                "occupied_kwh": self.occupied_wh / 1000, "unknown_occupancy_kwh": self.unknown_wh / 1000,
                "empty_share_pct": _pct(self.empty_wh, measured), "occupied_share_pct": _pct(self.occupied_wh, measured),
                "empty_h": self.empty_h, "occupied_h": self.occupied_h,
                "mean_w": _ratio(self.total_wh, self.power_bins_h()),
                "mean_empty_w": _ratio(self.empty_wh, self.empty_h),
                "mean_occupied_w": _ratio(self.occupied_wh, self.occupied_h)}

    def power_bins_h(self):
        return sum(slot[3] for slot in self.hourly.values())

    def by_count(self):
        return [{"people_home": n, "hours_h": h, "mean_w": _ratio(wh, h), "energy_kwh": wh / 1000}
                for n, (h, wh) in sorted(self.count.items())]

    def profile(self):
        return {("weekend" if weekend else "weekday"): [
            {"hour": hour, "someone_home_pct": _pct(self.hourly[(weekend, hour)][0], self.hourly[(weekend, hour)][1]),
             "mean_w": _ratio(self.hourly[(weekend, hour)][2], self.hourly[(weekend, hour)][3])}
            for hour in range(24)] for weekend in (False, True)}


def _fit(groups, bin_groups, power, people):
    """Least squares of power on: per local hour, home empty / occupied (shares), plus each person.

    The hour-by-occupancy columns take up what happens whenever anyone is home at that hour (cooking
    at 19:00), so a person's coefficient is what changes when that person is home as well.
    """
    names = [("empty", h) for h in range(24)] + [("occupied", h) for h in range(24)] + [("person", k) for k in people]
    size = len(names)
    xtx = [[0.0] * size for _ in range(size)]
    xty = [0.0] * size
    rows = {}
    bins = 0
    for key, (_, n, sum_w, _, _) in groups.items():
        hour, _, a, who = key
        if a is None or not n:
            continue
        row = {hour: 1 - a, 24 + hour: a}
        row.update({48 + i: x for i, x in enumerate(who) if x})
        rows[key] = row
        bins += n
        for i, xi in row.items():
            xty[i] += xi * sum_w
            for j, xj in row.items():
                xtx[i][j] += n * xi * xj
    coefficients, inverse, kept = solve_normal(xtx, xty, names)
    fitted = [None] * len(groups)
    for key, row in rows.items():
        fitted[groups[key][4]] = sum(coefficients.get(names[i], 0.0) * x for i, x in row.items())
    sse, lagged, previous = 0.0, 0.0, None
    for p, group in zip(power, bin_groups):
        value = fitted[group]
        if p is None or value is None:
            previous = None
            continue
        residual = p - value
        sse += residual * residual
        if previous is not None:
            lagged += residual * previous
        previous = residual
    dof = bins - len(kept)
    variance = sse / dof if dof > 0 else float("nan")
    rho = lagged / sse if sse > 0 else 0.0
    # Neighbouring minutes are not independent (a fridge runs for many of them): widen the
    # errors by the AR(1) effective-sample-size factor.
    inflation = (1 + rho) / (1 - rho) if 0 < rho < 1 else 1.0
    return {"coefficients": coefficients, "inverse": inverse, "variance": variance * inflation,
            "rho": rho, "residual_w": math.sqrt(variance) if variance == variance else None, "bins": bins}


def _person_effect(fit, keys):
    """Sum of the coefficients of `keys` and its 95 % half-width, or (None, None) if one was left out."""
    names = [("person", k) for k in keys]
    if any(name not in fit["coefficients"] for name in names):
        return None, None
    value = sum(fit["coefficients"][n] for n in names)
    var = sum(fit["inverse"][(a, b)] for a in names for b in names) * fit["variance"]
    return value, report_defaults.Z95 * math.sqrt(var) if var >= 0 else None


def _people(keys, sums, fit):
    rows = []
    for i, key in enumerate(keys):
        extra, plus_minus = _person_effect(fit, [key])
        rows.append({"person": key, "hours_home_h": sums.home_h[i], "extra_w": extra, "plus_minus_w": plus_minus})
    return rows


def _caveats(keys, sums, fit):
    notes = []
    for i, key in enumerate(keys):
        if sums.home_h[i] == 0:
            notes.append(f"{key} was never home in this period: no estimate.")
        elif ("person", key) not in fit["coefficients"]:
            twins = [other for j, other in enumerate(keys)
                     if j != i and _together(sums, i, j) >= defaults.TOGETHER_SHARE]
            alike = f"with {', '.join(twins)}" if twins else "alone, or whenever anyone is"
            notes.append(f"{key} is always home {alike}: the data cannot separate {key}'s power from "
                         "theirs or from the house being occupied, so there is no estimate; "
                         "compare the 'People home' rows instead.")
    for i, first in enumerate(keys):
        for j in range(i + 1, len(keys)):
            if ("person", first) not in fit["coefficients"] or ("person", keys[j]) not in fit["coefficients"]:
                continue
            share = _together(sums, i, j)
            if share < defaults.TOGETHER_SHARE:
                continue
            second = keys[j]
            both, plus_minus = _person_effect(fit, [first, second])
            together = (f"; together they add {both:.0f} ± {plus_minus:.0f} W" if both is not None else "")
            notes.append(f"{first} and {second} were home together {100 * share:.0f} % of "
                         f"the time either was: the data cannot say which of them uses the power, so their "
                         f"separate figures are unreliable{together}.")
    return notes


def _together(sums, i, j):
    """Share of the time either of two people was home that both were."""
    i, j = min(i, j), max(i, j)
    either = sums.home_h[i] + sums.home_h[j] - sums.together_h[i][j]
    return sums.together_h[i][j] / either if either > 0 else 0.0


def _idle(idle_w, hours_used, sums, percentile):
    hours_with_power = sums.power_bins_h()
    idle_kwh = idle_w * hours_with_power / 1000 if idle_w is not None else None
    return {"idle_w": idle_w, "method": f"{percentile}th percentile of hourly mean power",
            "hours_used_h": hours_used, "idle_kwh": idle_kwh,
            "share_pct": _pct(idle_kwh * 1000, sums.total_wh) if idle_kwh is not None else None,
            "empty_above_idle_kwh": (sums.empty_wh - idle_w * sums.empty_h) / 1000 if idle_w is not None else None}


def _pct(part, whole):
    return 100.0 * part / whole if whole else None


def _ratio(part, whole):
    return part / whole if whole else None


def _iso(stamp, tz):
    return datetime.fromtimestamp(stamp, tz).isoformat()
