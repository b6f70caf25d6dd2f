"""The supervisor of the daemon's threads: it starts each generation of sources, and tells systemd how the
daemon is (ready, status, watchdog) only while every part lives."""

import logging
import math
import threading

from presence.config import defaults
from presence.daemon.runners import SourceThread

log = logging.getLogger(__name__)


class Supervisor:
    """Source threads by generation, and the watchdog pinged only while they and the outputs live."""

    def __init__(self, clock, notifier):
        self.clock, self.notifier = clock, notifier
        self.threads = []
        self.unhealthy = None
        self._ready = False
        self._unhealthy_logged = False
        self._last_ping = self._last_status = -math.inf

    def start(self, sources, reports, stop):
        """Start one generation of sources, and wait a little for the first report of those that want it;
        the returned event stops them (at a reload or the end)."""
        generation = threading.Event()
        self.threads = [SourceThread(source, reports, self.clock, generation) for source in sources]
        for thread in self.threads:
            thread.start()
        waited = [thread for thread in self.threads if thread.source.first_wait]
        first_deadline = self.clock.monotonic() + defaults.FIRST_SCAN_WAIT
        while not all(t.first_done.is_set() for t in waited) and self.clock.monotonic() < first_deadline:
            if self.clock.wait(stop, 0.05):
                break
        return generation

    def stop_sources(self, generation, deadline):
        """End a generation: stop its threads and wait for them until `deadline` (monotonic)."""
        generation.set()
        self.join(deadline)

    def join(self, deadline):
        """Wait for the source threads until `deadline` (monotonic)."""
        for thread in self.threads:
            thread.join(max(0.0, deadline - self.clock.monotonic()))

    def ready(self, status_line):
        """Tell systemd the daemon is up, after its first tick (once)."""
        if not self._ready:
            self.notifier.ready(status_line())
            self._ready = True

    def progress(self, status_line, outputs):
        """Ping the watchdog while every part lives; else say what died, once, and stop pinging."""
        # Only the loop calls this, so the pings also stop when the loop itself hangs.
        if not self._ready:
            return
        self.unhealthy = outputs.dead() or self._dead_threads()
        if self.unhealthy and not self._unhealthy_logged:
            log.error("%s; no longer telling the watchdog all is well", self.unhealthy)
            self._unhealthy_logged = True
        if not self.notifier.enabled:
            return
        now = self.clock.monotonic()
        interval = self.notifier.watchdog_interval
        if not self.unhealthy and interval is not None and now - self._last_ping >= interval:
            self.notifier.notify("WATCHDOG=1", f"STATUS={status_line()}")
            self._last_ping = self._last_status = now
        elif now - self._last_status >= defaults.STATUS_EVERY:
            # The status line costs more than this loop's other work: at most once a second.
            self.notifier.status(status_line())
            self._last_status = now

    def _dead_threads(self):
        dead = [thread.name for thread in self.threads if not thread.is_alive()]
        return f"thread {', '.join(dead)} has stopped" if dead else None
