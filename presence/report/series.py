"""Series of any step onto one time grid; a cumulative energy counter into power. Gaps stay None."""

from dataclasses import dataclass

from presence.config import report_defaults


@dataclass(frozen=True)
class Grid:
    """`count` bins of `step` seconds from `start`; bin i covers [start + i*step, start + (i+1)*step)."""

    start: int
    step: int
    count: int


def common_grid(series, start, end, min_step):
    """The finest grid no series is coarser than: nothing finer than the data is invented."""
    step = max([min_step] + [s.step for s in series if s.values])
    first = start - start % step
    return Grid(first, step, max(0, -(-(end - first) // step)))


def on_grid(series, grid):
    """Mean of the series' known values in each bin; None where it has none."""
    offset, remainder = divmod(series.start - grid.start, grid.step)
    if series.step == grid.step and remainder == 0:
        values = series.values[max(0, -offset):max(0, grid.count - offset)]
        lead = [None] * max(0, offset)
        return (lead + values + [None] * grid.count)[:grid.count]
    sums, counts = [0.0] * grid.count, [0] * grid.count
    for index, value in enumerate(series.values):
        if value is None:
            continue
        bin_ = (series.start + index * series.step - grid.start) // grid.step
        if 0 <= bin_ < grid.count:
            sums[bin_] += value
            counts[bin_] += 1
    return [total / n if n else None for total, n in zip(sums, counts)]


def hourly_means(values, grid, coverage):
    """`(start, mean)` for each whole clock hour in the grid; the mean is None when less than
    `coverage` of the hour is known. A grid coarser than an hour gives its own bins."""
    if grid.step > 3600 or 3600 % grid.step:
        return [(grid.start + i * grid.step, v) for i, v in enumerate(values)]
    per_hour = 3600 // grid.step
    first = (-grid.start % 3600) // grid.step
    hours = []
    for start in range(first, grid.count - per_hour + 1, per_hour):
        known = [v for v in values[start:start + per_hour] if v is not None]
        enough = known and len(known) >= coverage * per_hour
        hours.append((grid.start + start * grid.step, sum(known) / len(known) if enough else None))
    return hours


def counter_power(readings, step, wh_per_unit):
    """Watts over each step from cumulative readings (the reading at the end of each step).

    A drop to less than half the previous reading (`COUNTER_RESET_SHARE`) is a reset (the meter or
    exporter restarted from zero): that step used the new reading. A smaller drop is a glitch and leaves a gap. Across a gap
    in the readings the energy is known but not when it was used: those steps stay None and the
    energy is returned apart. Returns `(watts, energy_in_gaps_wh, resets)`.
    """
    watts = [None] * len(readings)
    in_gaps, resets, last, last_index = 0.0, 0, None, None
    for index, reading in enumerate(readings):
        if reading is None:
            continue
        if last is not None:
            used = reading - last
            if used < 0 and reading < last * report_defaults.COUNTER_RESET_SHARE:
                used, resets = reading, resets + 1
            if used >= 0 and index - last_index == 1:
                watts[index] = used * wh_per_unit * 3600 / step
            elif used >= 0:
                in_gaps += used * wh_per_unit
        last, last_index = reading, index
    return watts, in_gaps, resets
