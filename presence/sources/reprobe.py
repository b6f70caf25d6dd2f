"""Which devices of unknown address the WiFi source searches the whole range for, and when."""

from presence.config import defaults


class SearchBackoff:
    """Choose which devices of unknown address get a whole-range search this sweep: rarely, less and less."""

    def __init__(self, first_gap=defaults.SEARCH_FIRST_GAP, max_gap=defaults.SEARCH_MAX_GAP,
                 per_sweep=defaults.SEARCHES_PER_SWEEP):
        self.first_gap, self.max_gap, self.per_sweep = first_gap, max_gap, per_sweep
        self.sweeps = 0
        # mac -> (sweep number it is next due, gap in sweeps after that, time of its last search)
        self.plans = {}

    def choose(self, macs, now, limit=None):
        """Return the MACs of `macs` (at most `limit`, else `per_sweep`) to search in this sweep at `now`;
        forget devices no longer asked about."""
        self.sweeps += 1
        self.plans = {mac: plan for mac, plan in self.plans.items() if mac in macs}
        due = [mac for mac in macs if self._due(mac, now)]
        due.sort(key=lambda mac: self.plans[mac][0] if mac in self.plans else float("-inf"))
        chosen = due[:self.per_sweep if limit is None else limit]
        for mac in chosen:
            _due_at, gap, _last = self.plans.get(mac, (None, self.first_gap, None))
            self.plans[mac] = (self.sweeps + gap, gap * 2, now)
        return chosen

    def _due(self, mac, now):
        if mac not in self.plans:
            return True
        due_at, _gap, last = self.plans[mac]
        return self.sweeps >= due_at or now - last >= self.max_gap
