"""The figures a household acts on: what the home uses with nobody in and always, each with its 95 %
interval (days resampled, presence.report.bootstrap), in money, where the waste is, and the trend."""

import numpy as np

from presence.config import report_defaults
from presence.report.bootstrap import (effective_days, tail_dof, interval, mean_with_rare_loads, percentile_replicates,
                                       ratio_replicates, resample)
from presence.report.series import clock_hours
from presence.report.trend import trend
from presence.report.waste import hour_of_week, waste


class Days:
    """Per local day sums of a report's bins (Wh, hours), and the well-covered clock hours' means by day."""

    def __init__(self, grid, power, anyone, clock, coverage):
        self.hour_s = hour_s = grid.step / 3600
        first = int(clock.day[0]) if grid.count else 0
        self.index = index = (clock.day - first).astype(np.int64)
        self.count = size = int(index[-1]) + 1 if grid.count else 0
        known_p = np.isfinite(power)
        both = known_p & np.isfinite(anyone)
        watts = np.where(known_p, power, 0.0)
        nobody = np.where(both, 1 - np.where(both, anyone, 0.0), 0.0)
        self.empty_wh = np.bincount(index, weights=watts * nobody, minlength=size) * hour_s
        self.empty_h = np.bincount(index, weights=nobody, minlength=size) * hour_s
        self.measured_wh = np.bincount(index, weights=np.where(both, watts, 0.0), minlength=size) * hour_s
        self.power_wh = np.bincount(index, weights=watts, minlength=size) * hour_s
        self.power_h = np.bincount(index, weights=known_p, minlength=size) * hour_s
        self.nobody = nobody
        self.large_wh = np.zeros(size)
        self.number = first + np.arange(size)
        self.weekend = (self.number + 3) % 7 >= 5
        starts, means = clock_hours(power, grid, coverage)
        keep = np.isfinite(means)
        self.hour_means = means[keep]
        self.hour_days = index[((starts[keep] - grid.start) // grid.step).astype(np.int64)] if grid.count else keep
        self.hour_count = np.bincount(self.hour_days, minlength=size) if len(self.hour_means) else np.zeros(size)

    def count_large(self, power, always_on_w):
        """Each day's nobody-home energy above always-on + the waste threshold (presence.report.bootstrap)."""
        if always_on_w is not None:
            above = np.maximum(np.nan_to_num(power) - always_on_w - report_defaults.WASTE_ABOVE_W, 0.0)
            self.large_wh = np.bincount(self.index, weights=above * self.nobody, minlength=self.count) * self.hour_s

    def empty_days(self):
        """Days with any time nobody was home."""
        return int((self.empty_h > 0).sum())


def insight(grid, power, anyone, clock, tz, result, pricing, idle_percentile, idle_coverage, study=False):
    """The keys nobody_home, always_on, total, price, waste, hour_of_week, weeks and changes of a report."""
    days = Days(grid, power, anyone, clock, idle_coverage)
    days.count_large(power, result["idle"]["idle_w"])
    counts = resample(days.weekend)
    prices = _bin_prices(pricing, clock)
    nobody = _nobody_home(result, days, counts, power, anyone, prices)
    always = _always_on(result, days, counts, idle_percentile, power, prices, pricing)
    blocks = {"nobody_home": nobody, "always_on": always, "total": _total(result, power, prices),
              "price": _describe(pricing)}
    blocks["waste"] = waste(grid, power, anyone, always["w"], prices, tz)
    if not study:  # a study's report keeps a home's headline figures, not its week by week (memory, time)
        blocks["hour_of_week"] = hour_of_week(power, anyone, clock, grid.step)
        blocks["weeks"], blocks["changes"] = trend(days, idle_percentile)
    return blocks


def _nobody_home(result, days, counts, power, anyone, prices):
    energy = result["energy"]
    mean = energy["mean_empty_w"]
    n_eff = effective_days(days.empty_h)
    low, high, large = (mean_with_rare_loads(days.empty_wh, days.empty_h, days.large_wh, counts, n_eff)
                        if mean is not None else (None, None, 0))
    share = energy["empty_share_pct"]
    share_low, share_high = interval(share, 100 * ratio_replicates(days.empty_wh, days.measured_wh, counts), n_eff)
    block = {"mean_w": mean, "low_w": low, "high_w": high, "kwh": energy["empty_kwh"], "hours_h": energy["empty_h"],
             "share_pct": share, "share_low_pct": share_low, "share_high_pct": share_high,
             "days": days.empty_days(), "effective_days": n_eff, "large_load_days": large,
             "interval": _how(n_eff, days, large) if low is not None else None,
             "note": None}
    if mean is not None and low is None:
        block["note"] = (f"nobody was home on {days.empty_days()} day(s), {energy['empty_h']:.0f} h in all, worth "
                         f"about {n_eff:.1f} whole days: too few to say how far {mean:.0f} W may be off "
                         f"(an interval needs {report_defaults.MIN_INTERVAL_DAYS}); take it as a rough figure")
    if prices is not None and mean is not None:
        nobody = days.nobody
        block["cost"] = float(np.nansum(power * nobody * prices)) * days.hour_s / 1000
        per_kwh = float((nobody * prices).sum() / nobody.sum())
        block.update(_per_year(mean, low, high, per_kwh))
        share_of_time = energy["empty_h"] / result["period"]["hours_h"]
        block["cost_per_year_like_this_period"] = mean * share_of_time * report_defaults.HOURS_PER_YEAR / 1000 * per_kwh
    else:
        block.update(cost=None, cost_per_year=None, cost_per_year_low=None, cost_per_year_high=None,
                     cost_per_year_like_this_period=None)
    return block


def _always_on(result, days, counts, percentile, power, prices, pricing):
    idle = result["idle"]
    w = idle["idle_w"]
    replicates = percentile_replicates(days.hour_means, days.hour_days, counts, percentile)
    n_eff = effective_days(days.hour_count)
    low, high = interval(w, replicates, n_eff)
    mean_reps = ratio_replicates(days.power_wh, days.power_h, counts)
    share_low, share_high = interval(idle["share_pct"], 100 * replicates / mean_reps, n_eff,
                                     dof=tail_dof(days.power_wh, days.power_h))
    block = {"w": w, "low_w": low, "high_w": high, "kwh": idle["idle_kwh"], "share_pct": idle["share_pct"],
             "share_low_pct": share_low, "share_high_pct": share_high, "method": idle["method"],
             "days": int((days.hour_count > 0).sum()), "effective_days": n_eff,
             "interval": _how(n_eff, days) if low is not None else None, "note": None}
    if w is not None and low is None:
        block["note"] = (f"power was known for whole hours on only about {n_eff:.1f} days: too few for an interval "
                         f"(it needs {report_defaults.MIN_INTERVAL_DAYS})")
    if prices is not None and w is not None:
        from presence.report.money import week_mean

        block["cost"] = idle["idle_kwh"] * float(prices[np.isfinite(power)].mean())
        block.update(_per_year(w, low, high, week_mean(pricing)))
    else:
        block.update(cost=None, cost_per_year=None, cost_per_year_low=None, cost_per_year_high=None)
    return block


def _total(result, power, prices):
    energy = result["energy"]
    block = {"kwh": energy["total_kwh"], "mean_w": energy["mean_w"], "cost": None, "cost_per_year": None}
    if prices is not None and energy["mean_w"] is not None:
        known = np.isfinite(power)
        block["cost"] = float((power[known] * prices[known]).sum()) * result["period"]["step_s"] / 3600 / 1000
        block["cost_per_year"] = (energy["mean_w"] * report_defaults.HOURS_PER_YEAR / 1000
                                  * float(prices[known].mean()))
    return block


def _per_year(w, low, high, per_kwh):
    scale = report_defaults.HOURS_PER_YEAR / 1000 * per_kwh
    return {"cost_per_year": w * scale, "cost_per_year_low": low * scale if low is not None else None,
            "cost_per_year_high": high * scale if high is not None else None}


def _how(n_eff, days, large=None):
    text = (f"95 % bootstrap over {days.count} local days (about {n_eff:.0f} days' worth), weekdays and weekend "
            "days resampled apart, widened for the number of days")
    if large is not None:
        text += (f"; days with a large load while nobody was home (at least {report_defaults.LARGE_LOAD_WH} Wh "
                 f"above always-on + {report_defaults.WASTE_ABOVE_W} W: {large} here) counted as a Poisson "
                 "count, so that a month without one does not rule them out")
    return text


def _bin_prices(pricing, clock):
    if pricing is None:
        return None
    from presence.report.money import minute_prices

    return minute_prices(pricing)[clock.minute_of_week.astype(np.int64)]


def _describe(pricing):
    if pricing is None:
        return None
    from presence.report.money import describe

    return describe(pricing)
