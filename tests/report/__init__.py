import math


def listed(values):
    """An array of the report (NaN for gaps) as a list with None for gaps, to compare with a literal."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in map(float, values)]


def household(days, seed=1, start=1767571200, always_w=120.0, away=(8 * 60, 17 * 60), occupied_w=300.0):
    """A plain test household a minute a bin from `start` (a Monday 00:00 UTC): `always_w` plus a fridge's
    cycle, `occupied_w` more while someone is home, nobody home from `away[0]` to `away[1]` (minutes of the day)
    every day. Returns (Grid, power, anyone) as numpy arrays."""
    import numpy as np

    from presence.report.series import Grid

    minutes = np.arange(days * 1440)
    of_day = minutes % 1440
    anyone = ((of_day < away[0]) | (of_day >= away[1])).astype(float)
    rng = np.random.default_rng(seed)
    power = always_w + 90.0 * ((minutes % 47) < 17) + occupied_w * anyone + rng.normal(0, 5, len(minutes))
    return Grid(start, 60, len(minutes)), power, anyone
