"""The benchmark's pandas baseline: what a user would otherwise write instead of `presence report`.

Reads occupancy and electricity from Graphite's render API with requests, analyses them with pandas/numpy
and prints one JSON object; fetch and analysis times go to stderr. The figures of issue 26 (intervals by a
day bootstrap, waste periods, hour of week, weeks and their changes, money) follow the report's recipe.

    python benchmarks/report_pandas_baseline.py --render-url URL --prefix home.presence \
        --people nick,anna,ben --power METRIC --from EPOCH --until EPOCH [--tz Europe/Berlin] [--price 0.32]
"""

import argparse
import json
import math
import sys
import time
from statistics import NormalDist

import numpy as np
import pandas as pd
import requests

STEP_S = 60
H = STEP_S / 3600
# The report's recipe (issue 26): bootstrap replicates and seed, always-on percentile and hour coverage, waste
# (W above always-on, minutes bridged, shortest period, periods listed), changes (smallest W and share, alpha).
B, SEED, PERCENTILE, HOUR_COVERAGE = 1000, 26, 5, 0.9
WASTE_ABOVE_W, BRIDGE_MIN, SHORTEST_MIN, LISTED = 200.0, 10, 15, 10
CHANGE_W, CHANGE_SHARE, CHANGE_ALPHA = 10.0, 0.10, 0.05
HOURS_A_YEAR = 8760


def fetch(render_url, target, start, until):
    """One render request; returns the series resampled to 60 s means, NaN where Graphite had null."""
    response = requests.get(f"{render_url}/render", timeout=60, params={
        "target": target, "from": start, "until": until, "format": "json"})
    response.raise_for_status()
    points = [point for series in response.json() for point in series["datapoints"]]
    values = pd.Series([v for v, _ in points], dtype="float64",
                       index=pd.to_datetime([t for _, t in points], unit="s", utc=True))
    return values.sort_index().resample(f"{STEP_S}s").mean()


def clean(value):
    """JSON-safe float: NaN (or None) becomes null."""
    return None if value is None or math.isnan(value) else round(float(value), 4)


def ols(y, x):
    """Plain least squares: coefficients and their standard errors."""
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    residuals = y - x @ coef
    sigma2 = residuals @ residuals / max(len(y) - rank, 1)
    # pinv, not inv, so that a collinear design still gives an answer
    se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(x.T @ x)))
    return coef, se


def analyse(df, people, tz, price=None):
    """Everything the report prints, from the 60 s frame."""
    power, anyone = df["power"], df["anyone_home"]
    kwh = power * STEP_S / 3.6e6
    empty_weight = (1 - anyone).where(power.notna())
    local = df.tz_convert(tz)
    hour, weekend = local.index.hour, local.index.day_of_week >= 5

    by_count = power.groupby(df["count_home"].round()).mean()
    # the mean power of each clock hour with >= 90 % of its minutes known
    hours = power.resample("1h").agg(["mean", "count"])
    hourly = hours["mean"][hours["count"] >= HOUR_COVERAGE * 3600 / STEP_S].tz_convert(tz)
    profile = {}
    for name, mask in (("weekday", ~weekend), ("weekend", weekend)):
        means = local[mask].groupby(hour[mask])[["anyone_home", "power"]].mean().reindex(range(24))
        profile[name] = {str(h): {"anyone_home": clean(row.anyone_home), "power_w": clean(row.power)}
                         for h, row in means.iterrows()}

    design = df[people].copy()
    for h in range(24):
        design[f"h{h}_empty"] = (hour == h) * (1 - anyone)
        design[f"h{h}_occupied"] = (hour == h) * anyone
    rows = pd.concat([design, power], axis=1).dropna()
    # an hour never seen empty (or occupied) gives an all-zero column: leave it out
    used = people + [c for c in design.columns[len(people):] if rows[c].any()]
    coef, se = ols(rows["power"].to_numpy(), rows[used].to_numpy())

    result = {
        "total_kwh": clean(kwh.sum()),
        "empty_kwh": clean((kwh * (1 - anyone)).sum()),
        "occupied_kwh": clean((kwh * anyone).sum()),
        "empty_mean_w": clean((power * empty_weight).sum() / empty_weight.sum()),
        "mean_w_by_count_home": {str(int(k)): clean(v) for k, v in by_count.items()},
        "idle_w": clean(hourly.quantile(PERCENTILE / 100)),
        "hour_profile": profile,
        "people": {person: {"hours_home": clean(df[person].sum() * STEP_S / 3600),
                            "extra_w": clean(coef[i]), "extra_w_se": clean(se[i])}
                   for i, person in enumerate(people)},
        "regression_rows": len(rows),
    }
    result.update(issue_26(df, local, hourly, price))
    return result


def issue_26(df, local, hourly, price):
    """Nobody-home and always-on with intervals, money, waste periods, hour of week, weeks and changes."""
    p, a = local["power"], local["anyone_home"]
    empty = (1 - a).where(p.notna() & a.notna())
    parts = pd.DataFrame({"e": p * empty, "h": empty}, index=local.index)
    days = parts.groupby(local.index.tz_localize(None).normalize()).sum()
    # each local day's hourly means in one row (23 to 25 of them), NaN-padded
    hour_day = hourly.index.tz_localize(None).normalize()
    hours = np.full((len(days), 25), np.nan)
    hours[days.index.get_indexer(hour_day), hourly.groupby(hour_day).cumcount().to_numpy()] = hourly.to_numpy()
    e, h = days["e"].to_numpy(), days["h"].to_numpy()
    sample = Days(e, h, hours, np.asarray(days.index.day_of_week >= 5), np.random.default_rng(SEED))

    known_h, total_kwh = p.notna().sum() * H, p.sum() * H / 1000
    measured_kwh = p.where(a.notna()).sum() * H / 1000
    cost = (lambda kwh: clean(kwh * price)) if price is not None else (lambda kwh: None)
    # what a load of so many W costs when it runs a whole year
    year = (lambda w: clean(w * HOURS_A_YEAR / 1000 * price)) if price is not None else (lambda w: None)

    def priced(w, low, high, hours, of_kwh):
        """A load's kWh over `hours`, its share of `of_kwh` and its money, with those of its interval's ends."""
        share = lambda x: clean(100 * x * hours / 1000 / of_kwh) if of_kwh else None
        return {"kwh": clean(w * hours / 1000), "share_pct": share(w), "share_low_pct": share(low),
                "share_high_pct": share(high), "cost": cost(w * hours / 1000), "cost_per_year": year(w),
                "cost_per_year_low": year(low), "cost_per_year_high": year(high)}

    mean_w, always_w, nobody_reps, always_reps = sample.figures(np.arange(len(days)))
    (low_w, high_w), (always_low, always_high) = interval(nobody_reps), interval(always_reps)
    hours_h, how = h.sum() * H, f"day bootstrap, {B} replicates, weekdays and weekend days resampled apart"
    return {
        "nobody_home": {"mean_w": clean(mean_w), "low_w": clean(low_w), "high_w": clean(high_w),
                        "hours_h": clean(hours_h), "days": int((h > 0).sum()), "interval": how, "note": None,
                        **priced(mean_w, low_w, high_w, hours_h, measured_kwh)},
        "always_on": {"w": clean(always_w), "low_w": clean(always_low), "high_w": clean(always_high),
                      "interval": how, "note": None, **priced(always_w, always_low, always_high, known_h, total_kwh)},
        "total": {"kwh": clean(total_kwh), "mean_w": clean(p.mean()), "cost": cost(total_kwh),
                  "cost_per_year": year(p.mean())},
        "price": None if price is None else {"currency": None, "source": "--price", "mean_per_kwh": price},
        "waste": waste(df, always_w, cost, local.index),
        "hour_of_week": hour_of_week(parts),
        **weeks_and_changes(days.index, sample),
    }


def interval(replicates):
    """The 95 % percentile interval of bootstrap replicates; NaN when there are none."""
    replicates = replicates[~np.isnan(replicates)]
    return tuple(np.percentile(replicates, [2.5, 97.5])) if len(replicates) else (np.nan, np.nan)


def row_percentiles(rows, q):
    """The q-th percentile of each row, NaN left out, linear between ranks (as np.percentile)."""
    rows = np.sort(rows, axis=1)
    n = (~np.isnan(rows)).sum(axis=1)
    rank = np.maximum(n - 1, 0) * q / 100
    low = np.floor(rank).astype(int)
    below, above = np.take_along_axis(rows, np.stack([low, np.ceil(rank).astype(int)], axis=1), 1).T
    return np.where(n > 0, below + (above - below) * (rank - low), np.nan)


class Days:
    """Per local day: sum of p(1-a), sum of (1-a), the hourly means; bootstrapped by whole days."""

    def __init__(self, e, h, hours, weekend, rng):
        self.e, self.h, self.hours, self.weekend, self.rng = e, h, hours, weekend, rng

    def draws(self, rows):
        """B resamples of `rows`: weekdays among weekdays, weekend days among weekend days."""
        strata = [rows[self.weekend[rows] == w] for w in (False, True)]
        return np.hstack([s[self.rng.integers(0, len(s), (B, len(s)))] for s in strata if len(s)])

    def figures(self, rows):
        """(nobody-home mean, always-on, B replicates of each) over the days at `rows`."""
        with_empty = rows[self.h[rows] > 0]
        with_hours = rows[~np.isnan(self.hours[rows]).all(axis=1)]
        mean_w = self.e[with_empty].sum() / self.h[with_empty].sum() if len(with_empty) else np.nan
        always_w = np.nanpercentile(self.hours[with_hours], PERCENTILE) if len(with_hours) else np.nan
        nobody = always = np.full(B, np.nan)
        if len(with_empty) > 1:
            pick = self.draws(with_empty)
            nobody = self.e[pick].sum(axis=1) / self.h[pick].sum(axis=1)
        if len(with_hours) > 1:
            pick = self.draws(with_hours)
            # in chunks of about 2 M hours, so that the resampled hours stay small
            always = np.concatenate([row_percentiles(self.hours[c].reshape(len(c), -1), PERCENTILE)
                                     for c in np.array_split(pick, max(1, pick.size * 25 // 2_000_000))])
        return mean_w, always_w, nobody, always


def waste(df, always_w, cost, stamps):
    """Runs of nobody-home bins above always-on + 200 W, bridged over <= 10 min nobody-home, >= 15 min."""
    p, a = df["power"].to_numpy(), df["anyone_home"].to_numpy()
    nobody = (a < 0.5) & ~np.isnan(p)
    found = np.flatnonzero(nobody & (p > always_w + WASTE_ABOVE_W))
    # a stretch of nobody-home bins keeps its number until a bin with someone home or unknown data
    stretch = np.cumsum(~nobody)
    first = last = found
    if len(found):
        new = np.r_[True, (np.diff(found) - 1 > BRIDGE_MIN * 60 // STEP_S) | (np.diff(stretch[found]) != 0)]
        first, last = found[new], found[np.r_[new[1:], True]]
    keep = (last - first + 1) * STEP_S >= SHORTEST_MIN * 60
    first, last = first[keep], last[keep]
    bins = last - first + 1
    above = np.r_[0, np.cumsum(np.nan_to_num(np.clip(p - always_w, 0, None)))]
    watts = np.r_[0, np.cumsum(np.nan_to_num(p))]
    kwh = (above[last + 1] - above[first]) * H / 1000
    mean_w = (watts[last + 1] - watts[first]) / bins
    periods = [{"start": stamps[first[i]].isoformat(),
                "end": (stamps[last[i]] + pd.Timedelta(seconds=STEP_S)).isoformat(),
                "duration_min": int(bins[i] * STEP_S // 60), "kwh": clean(kwh[i]), "mean_w": clean(mean_w[i]),
                "cost": cost(kwh[i])} for i in np.argsort(-kwh, kind="stable")[:LISTED]]
    return {"threshold_w": clean(WASTE_ABOVE_W), "min_duration_min": SHORTEST_MIN, "count": len(first),
            "kwh": clean(kwh.sum()), "cost": cost(kwh.sum()), "periods": periods}


def hour_of_week(parts):
    """Nobody-home mean power and hours by local (weekday, hour)."""
    sums = parts.groupby([parts.index.day_of_week, parts.index.hour]).sum()
    sums = sums.reindex(pd.MultiIndex.from_product([range(7), range(24)]), fill_value=0.0)
    return [{"day": int(day), "hour": int(hour), "nobody_home_mean_w": clean(row.e / row.h) if row.h > 0 else None,
             "nobody_home_h": clean(row.h * H)} for (day, hour), row in sums.iterrows()]


def weeks_and_changes(day_index, sample):
    """Each local ISO week's figures, and the week boundaries where one of them changed."""
    monday = day_index - pd.to_timedelta(day_index.day_of_week, unit="D")
    groups = [np.flatnonzero(monday == m) for m in monday.unique()]
    labels, starts = zip(*((f"{m.isocalendar()[0]}-W{m.isocalendar()[1]:02d}", m.date().isoformat())
                           for m in monday.unique()))
    weeks = []
    for rows, label, start in zip(groups, labels, starts):
        mean_w, always_w, nobody, always = sample.figures(rows)
        (nlow, nhigh), (alow, ahigh) = interval(nobody), interval(always)
        weeks.append({"start": start, "label": label, "days": len(rows),
                      "nobody_home": {"mean_w": clean(mean_w), "low_w": clean(nlow), "high_w": clean(nhigh),
                                      "hours_h": clean(sample.h[rows].sum() * H)},
                      "always_on": {"w": clean(always_w), "low_w": clean(alow), "high_w": clean(ahigh)}})
    boundaries = range(2, len(groups) - 1)
    z = NormalDist().inv_cdf(1 - CHANGE_ALPHA / (2 * max(1, len(boundaries))))
    found = {"always_on": [], "nobody_home": []}
    for k in boundaries:
        before = sample.figures(np.concatenate(groups[max(0, k - 4):k]))
        after = sample.figures(np.concatenate(groups[k:k + 4]))
        for figure, at in (("nobody_home", 0), ("always_on", 1)):
            diff, spread = after[at] - before[at], after[at + 2] - before[at + 2]
            se = np.nanstd(spread, ddof=1) if (~np.isnan(spread)).sum() > 1 else np.nan
            if not abs(diff) > z * se or abs(diff) < max(CHANGE_W, CHANGE_SHARE * abs(before[at])):
                continue
            low, high = interval(spread)
            # every replicate the same (ties in the hourly means): as sure as a change can be
            found[figure].append((abs(diff) / se if se else math.inf, k, before[at], after[at], diff, low, high))
    changes = []
    for figure, candidates in found.items():
        kept = {}
        # of changes within 2 weeks of each other, the surest
        for strength, k, *rest in sorted(candidates, reverse=True):
            if all(abs(k - other) > 2 for other in kept):
                kept[k] = rest
        for k, (was, now, diff, low, high) in sorted(kept.items()):
            name = "always-on" if figure == "always_on" else "the nobody-home mean"
            changes.append({"figure": figure, "week": labels[k], "start": starts[k], "before_w": clean(was),
                            "after_w": clean(now), "change_w": clean(diff), "low_w": clean(low), "high_w": clean(high),
                            "text": f"{name} {'rose' if diff > 0 else 'fell'} from {was:.0f} W to {now:.0f} W "
                                    f"in week {int(labels[k][-2:])} ({starts[k]})"})
    return {"weeks": weeks, "changes": changes}


def main(argv=None):
    """Fetch, analyse, print the JSON; the two times to stderr."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--people", required=True, help="comma-separated names")
    parser.add_argument("--power", required=True, help="Graphite metric in watts")
    parser.add_argument("--from", dest="start", required=True, type=int)
    parser.add_argument("--until", required=True, type=int)
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--price", type=float, help="price of a kWh")
    args = parser.parse_args(argv)
    people = [p for p in args.people.split(",") if p]
    began = time.perf_counter()
    targets = {p: f"{args.prefix}.{p}.is_home" for p in people}
    targets.update(anyone_home=f"{args.prefix}.anyone_home", count_home=f"{args.prefix}.count_home",
                   power=args.power)
    df = pd.DataFrame({name: fetch(args.render_url.rstrip("/"), target, args.start, args.until)
                       for name, target in targets.items()})
    fetched = time.perf_counter()
    result = analyse(df, people, args.tz, args.price)
    done = time.perf_counter()

    json.dump(result, sys.stdout, indent=1)
    print()
    print(f"fetch {fetched - began:.3f} s, analysis {done - fetched:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
