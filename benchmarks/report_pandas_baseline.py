"""The benchmark's pandas baseline: what a user would otherwise write instead of `presence report`.

Reads occupancy and electricity from Graphite's render API with requests, analyses them with
pandas/numpy and prints one JSON object; fetch and analysis times go to stderr.

    python benchmarks/report_pandas_baseline.py --render-url URL --prefix home.presence \
        --people nick,anna,ben --power METRIC --from EPOCH --until EPOCH [--tz Europe/Berlin]
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import pandas as pd
import requests

STEP_S = 60


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
    """JSON-safe float: NaN becomes null."""
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


def ols(y, x):
    """Plain least squares: coefficients and their standard errors."""
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    residuals = y - x @ coef
    sigma2 = residuals @ residuals / max(len(y) - rank, 1)
    # pinv, not inv, so that a collinear design still gives an answer
    se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(x.T @ x)))
    return coef, se


def analyse(df, people, tz):
    """Everything the report prints, from the 60 s frame."""
    power, anyone = df["power"], df["anyone_home"]
    kwh = power * STEP_S / 3.6e6
    empty_weight = (1 - anyone).where(power.notna())
    local = df.tz_convert(tz)
    hour, weekend = local.index.hour, local.index.day_of_week >= 5

    by_count = power.groupby(df["count_home"].round()).mean()
    hourly = local["power"].resample("1h").mean()
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

    return {
        "total_kwh": clean(kwh.sum()),
        "empty_kwh": clean((kwh * (1 - anyone)).sum()),
        "occupied_kwh": clean((kwh * anyone).sum()),
        "empty_mean_w": clean((power * empty_weight).sum() / empty_weight.sum()),
        "mean_w_by_count_home": {str(int(k)): clean(v) for k, v in by_count.items()},
        "idle_w": clean(hourly.quantile(0.05)),
        "hour_profile": profile,
        "people": {person: {"hours_home": clean(df[person].sum() * STEP_S / 3600),
                            "extra_w": clean(coef[i]), "extra_w_se": clean(se[i])}
                   for i, person in enumerate(people)},
        "regression_rows": len(rows),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--people", required=True, help="comma-separated names")
    parser.add_argument("--power", required=True, help="Graphite metric in watts")
    parser.add_argument("--from", dest="start", required=True, type=int)
    parser.add_argument("--until", required=True, type=int)
    parser.add_argument("--tz", default="UTC")
    args = parser.parse_args(argv)
    people = [p for p in args.people.split(",") if p]
    url = args.render_url.rstrip("/")

    began = time.perf_counter()
    targets = {p: f"{args.prefix}.{p}.is_home" for p in people}
    targets.update(anyone_home=f"{args.prefix}.anyone_home", count_home=f"{args.prefix}.count_home",
                   power=args.power)
    df = pd.DataFrame({name: fetch(url, target, args.start, args.until) for name, target in targets.items()})
    fetched = time.perf_counter()
    result = analyse(df, people, args.tz)
    done = time.perf_counter()

    json.dump(result, sys.stdout, indent=1)
    print()
    print(f"fetch {fetched - began:.3f} s, analysis {done - fetched:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
