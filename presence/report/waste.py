"""Where the waste is: the stretches when nobody was home and the home used clearly more than its always-on
load, and the mean power with nobody home by hour of the week."""

from datetime import datetime

import numpy as np

from presence.config import report_defaults

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def waste(grid, power, anyone, always_on_w, prices, tz, above_w=report_defaults.WASTE_ABOVE_W,
          gap_s=report_defaults.WASTE_GAP_S, min_s=report_defaults.WASTE_MIN_S, top=report_defaults.WASTE_TOP):
    """The waste periods, largest first: a bin wastes when nobody is home (a share under a half) and power is
    more than `above_w` over the always-on load; wasting bins at most `gap_s` apart with nobody home between
    them are one period, which counts from `min_s` on. Its kWh and cost are what it used above always-on."""
    block = {"threshold_w": above_w, "min_duration_min": min_s // 60, "count": 0, "kwh": 0.0, "cost": None,
             "periods": []}
    if always_on_w is None:
        block["kwh"] = None
        return block
    known = np.isfinite(power) & np.isfinite(anyone)
    with np.errstate(invalid="ignore"):
        nobody = known & (anyone < 0.5)
        wasting = np.flatnonzero(nobody & (power > always_on_w + above_w))
    if not len(wasting):
        return block
    hour_s = grid.step / 3600
    others = np.concatenate(([0], np.cumsum(~nobody)))
    # A break: a longer gap, or a bin between two wasting ones with someone home or no data.
    gaps = np.diff(wasting)
    breaks = (gaps - 1 > gap_s // grid.step) | (others[wasting[1:]] - others[wasting[:-1] + 1] > 0)
    starts = np.concatenate(([wasting[0]], wasting[1:][breaks]))
    ends = np.concatenate((wasting[:-1][breaks], [wasting[-1]]))
    long_enough = (ends - starts + 1) * grid.step >= min_s
    starts, ends = starts[long_enough], ends[long_enough]
    excess = np.where(nobody, np.maximum(np.nan_to_num(power) - always_on_w, 0.0), 0.0)
    above = np.concatenate(([0.0], np.cumsum(excess)))
    drawn = np.concatenate(([0.0], np.cumsum(np.where(nobody, power, 0.0))))
    kwh = (above[ends + 1] - above[starts]) * hour_s / 1000
    costs = None
    if prices is not None:
        paid = np.concatenate(([0.0], np.cumsum(excess * prices)))
        costs = (paid[ends + 1] - paid[starts]) * hour_s / 1000
    order = np.argsort(-kwh, kind="stable")
    block.update(count=len(starts), kwh=float(kwh.sum()), cost=float(costs.sum()) if costs is not None else None)
    for i in order[:top]:
        first, last = int(starts[i]), int(ends[i])
        bins = last - first + 1
        block["periods"].append({
            "start": _iso(grid.start + first * grid.step, tz), "end": _iso(grid.start + (last + 1) * grid.step, tz),
            "duration_min": bins * grid.step // 60, "kwh": float(kwh[i]),
            "mean_w": float((drawn[last + 1] - drawn[first]) / bins),
            "cost": float(costs[i]) if costs is not None else None})
    return block


def hour_of_week(power, anyone, clock, step):
    """168 rows, Monday 00:00 first: the mean power while nobody was home in that local hour, and for how long."""
    known = np.isfinite(power) & np.isfinite(anyone)
    slot = (clock.weekday.astype(np.int64) * 24 + clock.hour)[known]
    nobody = 1 - anyone[known]
    watts = np.bincount(slot, weights=power[known] * nobody, minlength=168)
    hours = np.bincount(slot, weights=nobody, minlength=168)
    return [{"day": day, "hour": hour, "nobody_home_mean_w": float(watts[day * 24 + hour] / hours[day * 24 + hour])
             if hours[day * 24 + hour] > 0 else None, "nobody_home_h": float(hours[day * 24 + hour]) * step / 3600}
            for day in range(7) for hour in range(24)]


def _iso(stamp, tz):
    return datetime.fromtimestamp(stamp, tz).isoformat()
