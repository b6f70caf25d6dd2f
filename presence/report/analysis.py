"""Occupancy against electricity: pure arithmetic over series already on one grid (no I/O, no clock).

numpy float64 arrays a bin long (NaN: unknown). The split of energy, the profiles and the normal equations of
the fit are sums over bins, by local hour (np.bincount); the figures a user acts on, with their intervals,
money, waste and trend, are in presence.report.insight.
"""

import math
from datetime import datetime

import numpy as np

from presence.config import defaults, report_defaults
from presence.report.calendar import local_clock
from presence.report.fit import solve_normal
from presence.report.insight import insight
from presence.report.series import clock_hours, floats


def idle_load(power, grid, percentile, coverage):
    """The `percentile`-th percentile of hourly mean power over clock hours with enough data."""
    _, means = clock_hours(power, grid, coverage)
    means = means[np.isfinite(means)]
    if not len(means):
        return None, 0
    return float(np.percentile(means, percentile)), len(means)


def analyse(grid, power, anyone, people, tz, idle_percentile=report_defaults.IDLE_PERCENTILE,
            idle_coverage=report_defaults.IDLE_HOUR_COVERAGE, pricing=None, with_insight=True):
    """The report's figures as a dict whose keys end in their unit (`_kwh`, `_w`, `_h`, `_pct`).

    `people` is `{key: values}`; a person's unknown value while `anyone` is known counts as not home (the
    person was not configured then). Presence values are the share of the bin spent home. `with_insight` adds
    presence.report.insight's figures (priced with `pricing`, presence.report.money.Pricing, when given; "study":
    without the hours of the week and the weeks, for each home of --homes).
    """
    keys_ = list(people)
    power, anyone = floats(power), floats(anyone)
    clock = local_clock(grid, tz)
    known_a = np.isfinite(anyone)
    who = [_present(floats(people[k]), anyone, known_a) for k in keys_]
    sums = Sums(grid, power, anyone, who, clock)
    idle_w, idle_hours = idle_load(power, grid, idle_percentile, idle_coverage)
    fit = _fit(power, anyone, who, clock.hour, keys_)
    result = {
        "period": {"start": _iso(grid.start, tz), "end": _iso(grid.start + grid.count * grid.step, tz),
                   "hours_h": grid.count * sums.hour_s, "step_s": grid.step, "time_zone": str(tz)},
        "coverage": {"power_pct": _pct(sums.power_bins, grid.count),
                     "presence_pct": _pct(sums.presence_bins, grid.count),
                     "both_pct": _pct(sums.both_bins, grid.count)},
        "energy": sums.energy(),
        "by_people_home": sums.by_count(who),
        "idle": _idle(idle_w, idle_hours, sums, idle_percentile),
        "people": _people(keys_, sums, fit),
        "caveats": _caveats(keys_, sums, fit),
        "profile": sums.profile(anyone, clock),
        "fit": {"residual_w": fit["residual_w"], "lag1_autocorrelation": fit["rho"], "bins": fit["bins"]},
    }
    if with_insight:
        result.update(insight(grid, power, anyone, clock, tz, result, pricing, idle_percentile=idle_percentile,
                              idle_coverage=idle_coverage, study=with_insight == "study"))
    return result


def _present(values, anyone, known_a):
    """A person's shares with unknown as 0, and 0 wherever `anyone` is unknown (in place when it may be: the
    report's arrays are its own)."""
    mine = values.flags.writeable and values.flags.owndata and not np.shares_memory(values, anyone)
    out = values if mine else values.copy()
    out[~known_a] = 0.0
    return np.nan_to_num(out, copy=False)


class Sums:
    """Totals over the bins; Wh and hours split as the bins' presence shares say."""

    def __init__(self, grid, power, anyone, who, clock):
        self.hour_s = grid.step / 3600
        self.power, self.anyone = power, anyone
        self.known_p, self.known_a = np.isfinite(power), np.isfinite(anyone)
        both = self.both = self.known_p & self.known_a
        self.power_bins, self.presence_bins, self.both_bins = (int(self.known_p.sum()), int(self.known_a.sum()),
                                                               int(both.sum()))
        p = np.where(self.known_p, power, 0.0)
        a = np.where(both, anyone, 0.0)
        self.total_wh = float(p.sum()) * self.hour_s
        self.unknown_wh = float(p[~self.known_a].sum()) * self.hour_s
        self.empty_wh = float((p * (1 - a))[both].sum()) * self.hour_s
        self.occupied_wh = float((p * a)[both].sum()) * self.hour_s
        self.empty_h = float((1 - a)[both].sum()) * self.hour_s
        self.occupied_h = float(a[both].sum()) * self.hour_s
        self.home_h = [float(x.sum()) * self.hour_s for x in who]
        self.together_h = [[float(np.minimum(x, y).sum()) * self.hour_s if j > i else 0.0
                            for j, y in enumerate(who)] for i, x in enumerate(who)]

    def energy(self):
        """The energy split: total, while nobody was home, while someone was (kWh, shares, hours, means)."""
        measured = self.empty_wh + self.occupied_wh
        return {"total_kwh": self.total_wh / 1000, "empty_kwh": self.empty_wh / 1000,
                "occupied_kwh": self.occupied_wh / 1000, "unknown_occupancy_kwh": self.unknown_wh / 1000,
                "empty_share_pct": _pct(self.empty_wh, measured), "occupied_share_pct": _pct(self.occupied_wh, measured),
                "empty_h": self.empty_h, "occupied_h": self.occupied_h,
                "mean_w": _ratio(self.total_wh, self.power_bins_h()),
                "mean_empty_w": _ratio(self.empty_wh, self.empty_h),
                "mean_occupied_w": _ratio(self.occupied_wh, self.occupied_h)}

    def power_bins_h(self):
        """Hours with power data."""
        return self.power_bins * self.hour_s

    def by_count(self, who):
        """Mean power by how many people were home (each bin's sum of shares, rounded)."""
        total = np.zeros(len(self.power))
        for x in who:
            total += x
        count = np.rint(total).astype(np.int64)
        rows = []
        for n in np.unique(count[self.known_a]):
            chosen = self.both & (count == n)
            hours = float(chosen.sum()) * self.hour_s
            wh = float(self.power[chosen].sum()) * self.hour_s
            rows.append({"people_home": int(n), "hours_h": hours, "mean_w": _ratio(wh, hours), "energy_kwh": wh / 1000})
        return rows

    def profile(self, anyone, clock):
        """By hour of day, weekdays and weekends apart: how often someone is home, and the mean power."""
        slot = clock.weekend.astype(np.int64) * 24 + clock.hour
        home = np.bincount(slot[self.known_a], weights=anyone[self.known_a], minlength=48)
        known = np.bincount(slot[self.known_a], minlength=48)
        watts = np.bincount(slot[self.known_p], weights=self.power[self.known_p], minlength=48)
        with_power = np.bincount(slot[self.known_p], minlength=48)
        return {("weekend" if weekend else "weekday"): [
            {"hour": hour, "someone_home_pct": _pct(float(home[weekend * 24 + hour]), int(known[weekend * 24 + hour])),
             "mean_w": _ratio(float(watts[weekend * 24 + hour]), int(with_power[weekend * 24 + hour]))}
            for hour in range(24)] for weekend in (0, 1)}


def _fit(power, anyone, who, hours, people):
    """Least squares of power on: per local hour, home empty / occupied (shares), plus each person.

    The hour-by-occupancy columns take up what happens whenever anyone is home at that hour (cooking
    at 19:00), so a person's coefficient is what changes when that person is home as well.
    """
    names = [("empty", h) for h in range(24)] + [("occupied", h) for h in range(24)] + [("person", k) for k in people]
    size = len(names)
    xtx, xty, bins = np.zeros((size, size)), np.zeros(size), 0
    # In slices, so that a year of minutes for six people needs a few MB, not a design matrix of 200.
    for p, a, hour, xs in _rows(power, anyone, who, hours):
        bins += len(p)
        columns = [(1 - a, 0), (a, 24)]
        for first, (u, at) in enumerate(columns):
            xty[at:at + 24] += np.bincount(hour, weights=u * p, minlength=24)
            for v, other in columns[first:]:
                block = np.bincount(hour, weights=u * v, minlength=24)
                xtx[at + np.arange(24), other + np.arange(24)] += block
                if other != at:
                    xtx[other + np.arange(24), at + np.arange(24)] += block
            for i, x in enumerate(xs):
                cross = np.bincount(hour, weights=u * x, minlength=24)
                xtx[at:at + 24, 48 + i] += cross
                xtx[48 + i, at:at + 24] += cross
        for i, x in enumerate(xs):
            xty[48 + i] += float(x @ p)
            for j in range(i, len(xs)):
                xtx[48 + i, 48 + j] += float(x @ xs[j])
                if j != i:
                    xtx[48 + j, 48 + i] += float(x @ xs[j])
    coefficients, inverse, kept = solve_normal(xtx.tolist(), xty.tolist(), names)
    beta = np.array([coefficients.get(name, 0.0) for name in names])
    sse, lagged, previous = 0.0, 0.0, math.nan
    for start in range(0, len(power), _SLICE):
        cut = slice(start, start + _SLICE)
        a = anyone[cut]
        hour = hours[cut].astype(np.int64)
        fitted = beta[:24][hour] * (1 - a) + beta[24:48][hour] * a
        for i, x in enumerate(who):
            fitted += beta[48 + i] * x[cut]
        residual = power[cut] - fitted  # NaN where power or anyone is unknown
        sse += float(np.nansum(residual * residual))
        lagged += float(np.nansum(residual[1:] * residual[:-1])) + (float(previous * residual[0])
                                                                    if len(residual) and previous == previous
                                                                    and residual[0] == residual[0] else 0.0)
        previous = residual[-1] if len(residual) else math.nan
    dof = bins - len(kept)
    variance = sse / dof if dof > 0 else float("nan")
    rho = lagged / sse if sse > 0 else 0.0
    # Neighbouring minutes are not independent (a fridge runs for many of them): widen the
    # errors by the AR(1) effective-sample-size factor.
    inflation = (1 + rho) / (1 - rho) if 0 < rho < 1 else 1.0
    return {"coefficients": coefficients, "inverse": inverse, "variance": variance * inflation,
            "rho": rho, "residual_w": math.sqrt(variance) if variance == variance else None, "bins": bins}


_SLICE = 1 << 16


def _rows(power, anyone, who, hours):
    """(power, anyone, hour, people) of the bins with power and presence known, a slice at a time."""
    for start in range(0, len(power), _SLICE):
        cut = slice(start, start + _SLICE)
        rows = np.isfinite(power[cut]) & np.isfinite(anyone[cut])
        yield (power[cut][rows], anyone[cut][rows], hours[cut][rows].astype(np.int64),
               [x[cut][rows] for x in who])


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
