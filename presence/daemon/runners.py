"""The threads that run the sources: each polled source on its own interval, each listener until it stops."""

import logging
import threading

from presence.config import defaults
from presence.observations import SourceReport

log = logging.getLogger(__name__)


def poll_safely(source, now):
    """Poll one source; turn any exception into a failed report so no source can stop the loop."""
    try:
        return source.poll(now)
    except Exception as error:  # a bug in one source must not stop the others
        log.debug("%s: poll raised", source.name, exc_info=True)
        return SourceReport(source=source.name, at=now, ok=False, error=f"{type(error).__name__}: {error}")


class SourceRunner(threading.Thread):
    """Poll one source on its own interval (or when its last report asks); a slow poll delays the next."""

    def __init__(self, source, interval, reports, clock, stop):
        super().__init__(name=f"source-{source.name}", daemon=True)
        self.source, self.interval, self.reports = source, interval, reports
        self.clock, self.stop = clock, stop
        self.first_done = threading.Event()

    def run(self):
        try:
            self._poll_until_stopped()
        finally:
            self.source.close()

    def _poll_until_stopped(self):
        next_due = self.clock.now()
        while not self.stop.is_set():
            report = poll_safely(self.source, self.clock.now())
            self.reports.put(report)
            self.first_done.set()
            now = self.clock.now()
            if report.retry_after is not None:
                next_due = now + report.retry_after
            else:
                next_due += self.interval
                if now > next_due:
                    skipped = int((now - next_due) // self.interval) + 1
                    log.debug("%s: poll took longer than its interval; skipping %d", self.source.name, skipped)
                    next_due += skipped * self.interval
            if self.clock.wait(self.stop, next_due - now):
                break


class ListenerRunner(threading.Thread):
    """Run a passive listener until `stop`; start it again when it ends on its own (an error)."""

    def __init__(self, listener, reports, clock, stop):
        super().__init__(name=f"source-{listener.name}", daemon=True)
        self.listener, self.reports, self.clock, self.stop = listener, reports, clock, stop

    def run(self):
        try:
            self._listen_until_stopped()
        finally:
            self.listener.close()

    def _listen_until_stopped(self):
        while not self.stop.is_set():
            try:
                self.listener.run(self.reports.put, self.stop, self.clock.now)
            except Exception as error:  # a bug in the listener must not end passive listening for good
                log.error("%s: %s: %s; listening again in %.0f s", self.listener.name, type(error).__name__,
                          error, defaults.LISTENER_RESTART, exc_info=log.isEnabledFor(logging.DEBUG))
            if self.clock.wait(self.stop, defaults.LISTENER_RESTART):
                break
