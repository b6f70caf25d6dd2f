"""The loop's side of the history: closed records appended to the journal in batches, kept in memory while
it cannot be written, and a failure said once per kind."""

import logging

from presence.config import defaults
from presence.history import journal
from presence.logs import error_once

log = logging.getLogger(__name__)


class HistoryWriter:
    """Appends what the state closed, at most every HISTORY_FLUSH_INTERVAL seconds and at `flush`; a failed
    write keeps the records (bounded, the oldest dropped first) for the next one."""

    def __init__(self, folder, now, flush_interval=None):
        self.folder = folder
        self.pending = []
        self.error = None
        self.dropped = 0
        self.people_macs = frozenset()
        self._flush_interval = defaults.HISTORY_FLUSH_INTERVAL if flush_interval is None else flush_interval
        self._flushed_at = now
        self._pruned_day = None
        self.prune(now)

    def write(self, records, now, people_macs=None):
        """Take closed records; append them once the batch is due. `people_macs`: the devices mapped to
        someone, whose records have the people's share of the day's budget."""
        if people_macs is not None:
            self.people_macs = frozenset(people_macs)
        self.pending += records
        if len(self.pending) > defaults.HISTORY_MAX_PENDING:
            self.dropped += len(self.pending) - defaults.HISTORY_MAX_PENDING
            self.pending = self.pending[-defaults.HISTORY_MAX_PENDING:]
        if now - self._flushed_at >= self._flush_interval or now < self._flushed_at:
            self.flush(now)

    def flush(self, now):
        """Append what is held now (SIGTERM, SIGHUP, and when a batch is due); True when nothing is held."""
        self._flushed_at = now
        if self.pending:
            try:
                journal.append(self.folder, self.pending, people_macs=self.people_macs)
            except OSError as error:
                self.error = error_once(log, self.error, error, "Cannot write the device history to %s: %s; "
                                        "keeping it in memory and retrying (a restart now loses it)", self.folder)
                return False
            self.pending = []
        if self.error:
            log.info("Device history written to %s again%s", self.folder,
                     f" ({self.dropped} records lost meanwhile)" if self.dropped else "")
            self.error, self.dropped = None, 0
        self.prune(now)
        return True

    def problem(self):
        """For the status line: what is not written and what it means, or None."""
        if self.error is None:
            return None
        return f"device history not written: {self.error} ({len(self.pending)} records held; a restart now loses them)"

    def prune(self, now):
        """Once a day: drop the days older than the history keeps."""
        day = int(now // 86400)
        if day == self._pruned_day:
            return
        try:
            journal.prune(self.folder, now)
            self._pruned_day = day
        except OSError as error:
            log.debug("Cannot prune the device history in %s: %s", self.folder, error)
