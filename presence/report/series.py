"""Series of any step onto one time grid; a cumulative energy counter into power. Gaps are NaN.

Every array here is numpy float64: a year of minutes is 4 MB a series, not the 17 MB of a list of floats.
"""

from dataclasses import dataclass

import numpy as np

from presence.config import report_defaults


@dataclass(frozen=True)
class Grid:
    """`count` bins of `step` seconds from `start`; bin i covers [start + i*step, start + (i+1)*step)."""

    start: int
    step: int
    count: int


def floats(values):
    """`values` (a list with None for gaps, or an array) as a float64 array with NaN for gaps."""
    return np.asarray(values if len(values) else [], dtype=np.float64)


def has_data(values):
    """Whether any value is known."""
    return bool(np.isfinite(floats(values)).any())


def common_grid(series, start, end, min_step):
    """The finest grid no series is coarser than: nothing finer than the data is invented."""
    step = max([min_step] + [s.step for s in series if len(s.values)])
    first = start - start % step
    return Grid(first, step, max(0, -(-(end - first) // step)))


def on_grid(series, grid):
    """Mean of the series' known values in each bin; NaN where it has none."""
    values = floats(series.values)
    offset, remainder = divmod(series.start - grid.start, grid.step)
    if series.step == grid.step and remainder == 0 and offset == 0 and len(values) == grid.count:
        return values  # already on the grid: no copy (a year of minutes is 4 MB a series)
    if series.step == grid.step and remainder == 0:
        out = np.full(grid.count, np.nan)
        first, last = max(0, offset), min(grid.count, offset + len(values))
        if first < last:
            out[first:last] = values[first - offset:last - offset]
        return out
    bins = (series.start + np.arange(len(values)) * series.step - grid.start) // grid.step
    keep = np.isfinite(values) & (bins >= 0) & (bins < grid.count)
    sums = np.bincount(bins[keep], weights=values[keep], minlength=grid.count)[:grid.count]
    counts = np.bincount(bins[keep], minlength=grid.count)[:grid.count]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def clock_hours(values, grid, coverage):
    """(starts, means) of each whole clock hour in the grid; a mean is NaN when less than `coverage` of
    the hour is known. A grid coarser than an hour gives its own bins."""
    values = floats(values)
    if grid.step > 3600 or 3600 % grid.step:
        return grid.start + np.arange(len(values)) * grid.step, values.copy()
    per_hour = 3600 // grid.step
    first = (-grid.start % 3600) // grid.step
    count = max(0, (grid.count - first) // per_hour)
    block = values[first:first + count * per_hour].reshape(count, per_hour)
    known = np.isfinite(block)
    n = known.sum(axis=1)
    sums = np.where(known, block, 0.0).sum(axis=1)
    enough = (n > 0) & (n >= coverage * per_hour)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(enough, sums / np.maximum(n, 1), np.nan)
    return grid.start + (first + np.arange(count) * per_hour) * grid.step, means


def hourly_means(values, grid, coverage):
    """`(start, mean)` for each whole clock hour (clock_hours as a list); the mean is None when unknown."""
    starts, means = clock_hours(values, grid, coverage)
    return [(int(s), float(m) if m == m else None) for s, m in zip(starts, means)]


def counter_power(readings, step, wh_per_unit):
    """Watts over each step from cumulative readings (the reading at the end of each step).

    A drop to less than half the previous reading (`COUNTER_RESET_SHARE`) is a reset (the meter or
    exporter restarted from zero): that step used the new reading. A smaller drop is a glitch and leaves a gap.
    Across a gap in the readings the energy is known but not when it was used: those steps stay NaN and the
    energy is returned apart. Returns `(watts, energy_in_gaps_wh, resets)`.
    """
    readings = floats(readings)
    watts = np.full(len(readings), np.nan)
    where = np.flatnonzero(np.isfinite(readings))
    if len(where) < 2:
        return watts, 0.0, 0
    now, last = readings[where[1:]], readings[where[:-1]]
    used = now - last
    reset = (used < 0) & (now < last * report_defaults.COUNTER_RESET_SHARE)
    used = np.where(reset, now, used)
    adjacent = np.diff(where) == 1
    good = used >= 0
    watts[where[1:][good & adjacent]] = used[good & adjacent] * wh_per_unit * 3600 / step
    in_gaps = float(used[good & ~adjacent].sum() * wh_per_unit)
    return watts, in_gaps, int(reset.sum())
