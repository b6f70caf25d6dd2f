"""The daemon loop: the only place that reads the clock, runs the sources and talks to the sink."""

import logging
import queue
import threading
import time

from graphite_helper import build_message
from presence import defaults
from presence.metrics import event_values, metric_values, tick_time
from presence.notify import Notifier
from presence.observations import SourceReport
from presence.state import evaluate, ingest
from presence.state_file import save_state, state_to_dict

log = logging.getLogger(__name__)

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING}
# How long `run` waits for the first WiFi sweep before its first tick, so that a restart
# judges people on a fresh scan rather than on last-seen times from before the restart.
FIRST_SCAN_WAIT = 3.0
# How often the loop looks at the stop flag while it waits for reports.
STOP_CHECK = 0.2


class SystemClock:
    """Wall-clock time, and a wait that a stop event can cut short."""

    def now(self):
        return time.time()

    def wait(self, stop, seconds):
        """Wait up to `seconds`; return True when `stop` was set."""
        return stop.wait(max(0.0, seconds))


def poll_safely(source, now):
    """Poll one source; turn any exception into a failed report so no source can stop the loop."""
    try:
        return source.poll(now)
    except Exception as error:  # a bug in one source must not stop the others
        log.debug("%s: poll raised", source.name, exc_info=True)
        return SourceReport(source=source.name, at=now, ok=False, error=f"{type(error).__name__}: {error}")


class Daemon:
    """Holds the state; folds in reports, and on each tick evaluates, sends and saves."""

    def __init__(self, config, state, sink, state_path, clock=None, notifier=None):
        self.config = config
        self.state = state
        self.sink = sink
        self.state_path = state_path
        self.clock = clock or SystemClock()
        self.notifier = notifier or Notifier({})
        self.reports = queue.Queue()
        self.last_snapshot = None
        self.last_scan = None
        self._saved = state_to_dict(state, 0) | {"saved_at": 0}
        self._last_ping = 0.0
        self._ready = False
        self._unsent_transitions = []

    def ingest(self, report):
        if report.source == "wifi" and report.ok:
            self.last_scan = report.at
        self.state, events = ingest(self.state, report, self.config)
        for event in events:
            log.log(_LEVELS[event.level], "%s", event.message)

    def decide(self, at):
        """Decide who is home at `at`; log what changed; return the snapshot."""
        self.state, snapshot, transitions, events = evaluate(self.state, self.config, at)
        for event in events:
            log.log(_LEVELS[event.level], "%s", event.message)
        for transition in transitions:
            log.info("%s", transition.message)
        self._unsent_transitions += transitions
        self.last_snapshot = snapshot
        return snapshot

    def tick(self, at):
        """Fold in pending reports, decide who is home at `at`, send the metrics, save the state."""
        while True:
            try:
                self.ingest(self.reports.get_nowait())
            except queue.Empty:
                break
        snapshot = self.decide(at)
        values = metric_values(snapshot) + event_values(self._unsent_transitions)
        self._unsent_transitions = []
        self.sink.send(build_message(self.config.graphite.prefix, values, at))
        self.save(at)
        return snapshot

    def save(self, now):
        """Write state.json when it changed; a failed write is logged and retried next tick."""
        current = state_to_dict(self.state, 0) | {"saved_at": 0}
        if current == self._saved:
            return
        try:
            save_state(self.state_path, self.state, now)
            self._saved = current
        except OSError as error:
            log.error("Cannot save state to %s: %s", self.state_path, error.strerror or error)

    def run(self, sources, stop, listeners=()):
        """Tick on every aligned send interval until `stop` is set; sources run in their own threads."""
        runners = [SourceRunner(source, interval, self.reports, self.clock, stop) for source, interval in sources]
        for listener in listeners:
            threading.Thread(target=listener.run, args=(self.reports.put, stop, self.clock.now),
                             name=f"source-{listener.name}", daemon=True).start()
        for runner in runners:
            runner.start()
        first_deadline = time.monotonic() + FIRST_SCAN_WAIT
        while not all(r.first_done.is_set() for r in runners) and time.monotonic() < first_deadline:
            if stop.wait(0.05):
                break
        interval = self.config.graphite.send_interval
        log.info("Running: %d people, ticks every %d s", len(self.config.people), interval)
        while not stop.is_set():
            due = tick_time(self.clock.now(), interval) + interval
            self._fold_in_until(due, stop)
            if stop.is_set():
                break
            self.tick(due)
            if not self._ready:
                self.notifier.ready(self.status_line())
                self._ready = True
            self._progress()
        self.notifier.stopping()
        self.shutdown(runners)

    def status_line(self):
        """`3 home: nick, susan, tom; last scan 0.3 s ago`, for `systemctl status`."""
        home = [person.key for person in (self.last_snapshot.people if self.last_snapshot else ()) if person.is_home]
        scan = "no scan yet" if self.last_scan is None else f"last scan {self.clock.now() - self.last_scan:.1f} s ago"
        return f"{len(home)} home{': ' + ', '.join(home) if home else ''}; {scan}"

    def _progress(self):
        # Only this loop pings the watchdog: when it hangs, the pings stop and systemd restarts it.
        if not self._ready:
            return
        if self.notifier.watchdog_interval is None:
            self.notifier.status(self.status_line())
            return
        if time.monotonic() - self._last_ping >= self.notifier.watchdog_interval:
            self.notifier.notify("WATCHDOG=1", f"STATUS={self.status_line()}")
            self._last_ping = time.monotonic()

    def _fold_in_until(self, due, stop):
        # Each report is decided on as it arrives, so an arrival is logged at once, not at the tick.
        while not stop.is_set() and (remaining := due - self.clock.now()) > 0:
            try:
                report = self.reports.get(timeout=min(remaining, STOP_CHECK))
            except queue.Empty:
                self._progress()
                continue
            self.ingest(report)
            self.decide(self.clock.now())

    def shutdown(self, runners=()):
        # Sources hold nothing worth waiting for; the sink may: give it most of the deadline.
        started = time.monotonic()
        for runner in runners:
            runner.join(max(0.0, started + defaults.SHUTDOWN_DEADLINE / 10 - time.monotonic()))
        self.save(self.clock.now())
        self.sink.close(timeout=max(0.1, started + defaults.SHUTDOWN_DEADLINE * 0.8 - time.monotonic()))
        log.info("Stopped; state saved to %s", self.state_path)


class SourceRunner(threading.Thread):
    """Poll one source on its own interval (or when its last report asks); a slow poll delays the next."""

    def __init__(self, source, interval, reports, clock, stop):
        super().__init__(name=f"source-{source.name}", daemon=True)
        self.source, self.interval, self.reports = source, interval, reports
        self.clock, self.stop = clock, stop
        self.first_done = threading.Event()

    def run(self):
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
        close = getattr(self.source, "close", None)
        if close:
            close()
