"""What carbon has not confirmed yet, oldest first: the spool's segments, then the ticks in memory."""

import collections
import logging

log = logging.getLogger(__name__)


class Backlog:
    """The ticks not yet confirmed, in order: new ones in `memory`, moved to the end of `spool` (when there
    is one and it works, so a restart loses nothing) while there is no connection. Memory holds at most
    `max_pending` ticks: beyond, the oldest are dropped.

    A spool that failed is tried again every `spool_retry` seconds, needed or not, so that a problem
    report sees it mended.
    """

    def __init__(self, spool, max_pending, spool_retry, now):
        self.spool = spool
        self.memory = collections.deque()
        self.max_pending = max_pending
        self.spool_retry = spool_retry
        self.dropped = 0
        self.spool_error = None
        self._retry_at = 0.0
        if spool is not None:
            # Tried at once, not at the first outage: a full or read-only disk is said from the start.
            try:
                spool.check()
            except OSError as error:
                self._spool_failed(now, error)
                self._retry_at = 0.0

    def empty(self):
        """True when nothing waits for confirmation, in memory or in the spool."""
        return not self.memory and not (self.spool and len(self.spool))

    def keep(self, message):
        """Add one tick at the end; return how many of the oldest were dropped to stay within the bound."""
        self.memory.append(message)
        dropped = 0
        while len(self.memory) > self.max_pending:
            self.memory.popleft()
            dropped += 1
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Graphite unreachable and %d ticks pending: dropping the oldest "
                            "(%d dropped so far)", self.max_pending, self.dropped)
        return dropped

    def unsent_segments(self, sent_names):
        """The spool's segments, oldest first, but for `sent_names`."""
        if self.spool is None:
            return []
        sent = set(sent_names)
        return [name for name in self.spool.segments if name not in sent]

    def delivered(self, names, ticks):
        """Let go of the segments `names` and of the oldest `ticks` in memory: the server confirmed them."""
        if self.spool is not None and names:
            self.spool.remove(names)
        for _ in range(ticks):
            self.memory.popleft()

    def tend(self, now, spill):
        """Move the ticks in memory to the end of the spool when `spill` (no connection); retry a failed spool."""
        spill = spill and self.memory
        if self.spool is None or now < self._retry_at or not (spill or self.spool_error):
            return
        try:
            if not spill:
                self.spool.check()
            while spill and self.memory:
                self.spool.append(self.memory[0])
                self.memory.popleft()
        except OSError as error:
            self._spool_failed(now, error)
            return
        if self.spool_error is not None:
            log.info("Graphite spool %s is written again: ticks held in memory go to it", self.spool.folder)
            self.spool_error = None

    def finish(self, now):
        """Spool what memory holds, if the disk takes it, and make the spool durable (at shutdown)."""
        if self.spool is not None:
            self._retry_at = 0.0
            self.tend(now, spill=True)
            try:
                self.spool.close()
            except OSError as error:
                log.warning("Graphite spool: cannot make it durable: %s", error)
        if self.memory:
            log.warning("Graphite: %d tick(s) not delivered (or not confirmed) at shutdown", len(self.memory))

    def spool_problem(self):
        """None, or why ticks are held in memory instead of the spool."""
        error = self.spool_error
        return None if error is None else \
            f"spool unwritable: {_reason(error)}; {len(self.memory)} ticks held in memory only"

    def kept(self, with_memory):
        """[] or one `12.3 kB spooled, 4 ticks in memory` item for a problem report."""
        kept = [f"{_size(self.spool.bytes)} spooled"] if self.spool is not None and self.spool.bytes else []
        if self.memory and with_memory:
            kept.append(f"{len(self.memory)} ticks in memory")
        return [", ".join(kept)] if kept else []

    def _spool_failed(self, now, error):
        self._retry_at = now + self.spool_retry
        if self.spool_error is None or _kind(error) != _kind(self.spool_error):
            log.warning("Graphite spool %s not written (%s): ticks are held in memory only (%d at most); a restart "
                        "now loses them. Retrying every %g s", self.spool.folder, _reason(error), self.max_pending,
                        self.spool_retry)
        self.spool_error = error


def _kind(error):
    return (type(error), getattr(error, "errno", None)) if isinstance(error, OSError) else repr(error)


def _reason(error):
    if not isinstance(error, OSError) or not error.strerror:
        return str(error)
    return f"{error.strerror} ({error.filename})" if error.filename else error.strerror


def _size(count):
    if count < 1000:
        return f"{count} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"
