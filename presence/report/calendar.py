"""Each bin of a grid on the household's clock: local day, weekday, hour, minute of the week (DST included)."""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

WEEKEND = (5, 6)
# Offsets change at most at quarter hours (every zone's rules since 1970 keep to them).
_BLOCK = 900


@dataclass(frozen=True, eq=False)
class Calendar:
    """Arrays a bin long: `day` (local days since 1970-01-01), `weekday` (0 = Monday), `hour`, `weekend`,
    `minute_of_week` (0 = Monday 00:00)."""

    day: np.ndarray
    weekday: np.ndarray
    hour: np.ndarray
    weekend: np.ndarray
    minute_of_week: np.ndarray


def _offset(stamp, tz):
    return int(datetime.fromtimestamp(stamp, tz).utcoffset().total_seconds())


# The homes of one study share the grid and the zone: their calendar is computed once.
@lru_cache(maxsize=4)
def local_clock(grid, tz):
    """The Calendar of `grid` in zone `tz`."""
    stamps = grid.start + np.arange(grid.count, dtype=np.int64) * grid.step
    if not grid.count:
        empty = np.empty(0, dtype=np.int64)
        return Calendar(empty, empty, empty, empty.astype(bool), empty)
    first, last = int(stamps[0]) // 3600, int(stamps[-1]) // 3600
    hourly = np.array([_offset(h * 3600, tz) for h in range(first, last + 2)], dtype=np.int64)
    blocks = np.repeat(hourly[:-1], 3600 // _BLOCK)
    # An hour whose offset differs from the next one's holds a change: find its quarter.
    for index in np.flatnonzero(hourly[:-1] != hourly[1:]):
        for quarter in range(3600 // _BLOCK):
            blocks[index * 4 + quarter] = _offset((first + int(index)) * 3600 + quarter * _BLOCK, tz)
    local = stamps + blocks[stamps // _BLOCK - first * (3600 // _BLOCK)]
    day = (local // 86400).astype(np.int32)
    weekday = ((day + 3) % 7).astype(np.int8)
    hour = (local // 3600 % 24).astype(np.int8)
    minute = (weekday.astype(np.int16) * 1440 + (local % 86400 // 60)).astype(np.int16)
    return Calendar(day, weekday, hour, weekday >= WEEKEND[0], minute)
