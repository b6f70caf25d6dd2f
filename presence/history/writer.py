"""The loop's side of the history: closed records appended to the journal, kept in memory while it
cannot be written, and a failure said once per kind."""

import logging

from presence.config import defaults
from presence.history import journal
from presence.logs import error_once

log = logging.getLogger(__name__)


class HistoryWriter:
    """Appends what the state closed; a failed write keeps the records (bounded) for the next one."""

    def __init__(self, folder, now):
        self.folder = folder
        self.pending = []
        self.error = None
        self.dropped = 0
        self._pruned_day = None
        self.prune(now)

    def write(self, records, now):
        self.pending += records
        if len(self.pending) > defaults.HISTORY_MAX_PENDING:
            self.dropped += len(self.pending) - defaults.HISTORY_MAX_PENDING
            self.pending = self.pending[-defaults.HISTORY_MAX_PENDING:]
        if not self.pending:
            return
        try:
            journal.append(self.folder, self.pending)
        except OSError as error:
            self.error = error_once(log, self.error, error, "Cannot write the device history to %s: %s; keeping it "
                                    "in memory and retrying", self.folder)
            return
        if self.error:
            log.info("Device history written to %s again%s", self.folder,
                     f" ({self.dropped} records lost meanwhile)" if self.dropped else "")
            self.error, self.dropped = None, 0
        self.pending = []
        self.prune(now)

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
