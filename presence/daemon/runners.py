"""The threads that run the sources: one each, run again when it ends on its own (an error)."""

import logging
import threading

from presence.config import defaults

log = logging.getLogger(__name__)


class SourceThread(threading.Thread):
    """Run one source until `stop`; `first_done` is set at its first report."""

    def __init__(self, source, reports, clock, stop):
        super().__init__(name=f"source-{source.name}", daemon=True)
        self.source, self.reports, self.clock, self.stop = source, reports, clock, stop
        self.first_done = threading.Event()

    def run(self):
        """Run the source, again after a pause when it fails, and close it at the end."""
        try:
            self._run_until_stopped()
        finally:
            self.source.close()

    def _emit(self, report):
        self.reports.put(report)
        self.first_done.set()

    def _run_until_stopped(self):
        while not self.stop.is_set():
            try:
                self.source.run(self._emit, self.stop, self.clock)
            except Exception as error:  # a bug in one source must not end it for good
                log.error("%s: %s: %s; running it again in %.0f s", self.source.name, type(error).__name__,
                          error, defaults.LISTENER_RESTART, exc_info=log.isEnabledFor(logging.DEBUG))
            if self.clock.wait(self.stop, defaults.LISTENER_RESTART):
                break
