"""The tick loop: the only place that reads the clock, folds the sources' reports into the state and hands
each decision to the outputs."""

import logging
import queue
import threading
from dataclasses import dataclass, field, replace

from presence.clock import SystemClock
from presence.config import defaults
from presence.config.model import ConfigError
from presence.daemon.notify import Notifier
from presence.daemon.outputs import Outputs
from presence.daemon.store import StateStore
from presence.daemon.supervisor import Supervisor
from presence.metrics import tick_time
from presence.outputs.base import Tick
from presence.state.machine import evaluate, ingest, lan_outages_now

log = logging.getLogger(__name__)

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING}


@dataclass(frozen=True)
class Setup:
    """What a reload runs with, built from the config file: the new sources, and the outputs to replace
    (name -> its new output, or None to remove it); every other output takes the new config in place."""

    config: object
    sources: list
    outputs: dict = field(default_factory=dict)


class Daemon:
    """Holds the state; folds in reports, decides, and hands each decision to every output."""

    def __init__(self, config, state, outputs, state_path, clock=None, notifier=None, lock=None):
        self.config = config
        self.state = state
        self.outputs = outputs if isinstance(outputs, Outputs) else Outputs(outputs)
        self.state_path = state_path
        self.clock = clock or SystemClock()
        self.store = StateStore(state_path, state, lock)
        self.supervisor = Supervisor(self.clock, notifier or Notifier({}))
        self.reports = queue.Queue()
        self.last_snapshot = None
        self.last_scan = None
        self.reload_requested = threading.Event()

    def ingest(self, report):
        """Fold one source's report into the state."""
        if report.source == "wifi" and report.ok:
            self.last_scan = report.at
        self.state, events = ingest(self.state, report, self.config)
        for event in events:
            log.log(_LEVELS[event.level], "%s", event.message)

    def decide(self, at, scheduled=False):
        """Decide who is home at `at`, log what changed, hand it to the outputs; return the snapshot."""
        self.state, snapshot, transitions, events = evaluate(self.state, self.config, at)
        for event in events:
            log.log(_LEVELS[event.level], "%s", event.message)
        for transition in transitions:
            log.info("%s", transition.message)
        closed = self.state.history_out
        if closed:
            self.state = replace(self.state, history_out=())
        self.last_snapshot = snapshot
        self.outputs.emit(Tick(at, snapshot, self.state, self.config, tuple(transitions), tuple(closed), scheduled))
        return snapshot

    def tick(self, at):
        """Fold in pending reports, decide who is home at `at` (a scheduled tick), save the state."""
        self._fold_in_pending()
        snapshot = self.decide(at, scheduled=True)
        self.save(at)
        return snapshot

    def save(self, now, force=False):
        """Write state.json when the save policy says (always with `force`); return whether the file will do."""
        return self.store.save(self.state, self.config, now, force)

    def once(self, sources):
        """Take one report from each source that the first tick waits for, tick once, close the outputs:
        `once` on the command line."""
        self.outputs.start()
        for source in sources:
            if source.first_wait:
                self._one_report(source)
        snapshot = self.tick(tick_time(self.clock.now(), self.config.graphite.send_interval))
        self.outputs.close(self.clock.monotonic() + defaults.ONCE_DEADLINE)
        return snapshot

    def _one_report(self, source):
        done = threading.Event()

        def take(report):
            self.ingest(report)
            done.set()

        try:
            source.run(take, done, self.clock)
        except Exception as error:  # a failed source is said; `once` goes on with the others
            log.error("%s: %s: %s", source.name, type(error).__name__, error)
        finally:
            source.close()

    def run(self, sources, stop, reload=None):
        """Tick on every aligned send interval until `stop` is set; sources run in their own threads.

        `reload()`, called when `reload_requested` is set (SIGHUP), returns a `Setup` from the config
        file as it is now, or raises ConfigError: then the daemon runs on as it was."""
        self.outputs.start()
        generation = self.supervisor.start(sources, self.reports, stop)
        log.info("Running: %d people, ticks every %d s", len(self.config.people), self.config.graphite.send_interval)
        late = None  # a tick time a reload kept the loop from: still made, late, with its own time
        while not stop.is_set():
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                generation = self._reload(reload, generation, stop)
            interval = self.config.graphite.send_interval
            due = late if late is not None else tick_time(self.clock.now(), interval) + interval
            self._fold_in_until(due, stop)
            if stop.is_set():
                break
            if self.reload_requested.is_set():
                late = due  # the tick the reload keeps from its time (already `late` when one did before)
                continue
            self.tick(due)
            # Every tick time the reload took is made up for, so a reload leaves no hole in Graphite.
            after = tick_time(due, interval) + interval
            late = after if late is not None and after <= self.clock.now() else None
            self.supervisor.ready(self.status_line)
            self._progress()
        self.supervisor.notifier.stopping()
        generation.set()
        self.shutdown()

    def _reload(self, reload, generation, stop):
        notifier = self.supervisor.notifier
        notifier.notify("RELOADING=1", "STATUS=Reloading the configuration")
        try:
            if reload is None:
                raise ConfigError(self.config.path, ["this command cannot reload its configuration"])
            setup = reload()
        except ConfigError as error:
            log.error("Reload refused; running on with the configuration loaded before. %s", error)
            notifier.notify("READY=1", f"STATUS={self.status_line()}")
            return generation
        except Exception as error:  # a reload must never end a daemon that runs well
            log.error("Reload failed (%s: %s); running on with the configuration loaded before",
                      type(error).__name__, error, exc_info=log.isEnabledFor(logging.DEBUG))
            notifier.notify("READY=1", f"STATUS={self.status_line()}")
            return generation
        self.supervisor.stop_sources(generation, self.clock.monotonic() + 1.0)
        self._fold_in_pending()
        # A source of the old generation that ends late reports into a queue nobody reads any more: its
        # reading, made with the old config, never overwrites the new sources' fresher ones.
        self.reports = queue.Queue()
        self.save(self.clock.now(), force=True)
        self.outputs.reload(setup.outputs, setup.config, self.clock.monotonic() + defaults.SHUTDOWN_DEADLINE)
        self.config = setup.config
        log.info("Reloaded %s: %d people", setup.config.path, len(setup.config.people))
        generation = self.supervisor.start(setup.sources, self.reports, stop)
        notifier.notify("READY=1", f"STATUS={self.status_line()}")
        return generation

    def status_line(self):
        """`3 home: nick, susan, tom; last scan 0.3 s ago`, for `systemctl status`; problems first."""
        home = [person.key for person in (self.last_snapshot.people if self.last_snapshot else ()) if person.is_home]
        scan = "no scan yet" if self.last_scan is None else f"last scan {self.clock.now() - self.last_scan:.1f} s ago"
        line = f"{len(home)} home{': ' + ', '.join(home) if home else ''}; {scan}"
        problems = [self.supervisor.unhealthy] if self.supervisor.unhealthy else []
        for cidr, (since, reason) in sorted(lan_outages_now(self.state).items()):
            problems.append(f"LAN {cidr} unreachable for {self.clock.now() - since:.0f} s ({reason}), "
                            "presence held")
        problems += self.outputs.problems()
        if (problem := self.store.problem()) is not None:
            problems.append(problem)
        return "; ".join(problems + [line])

    def _progress(self):
        self.supervisor.progress(self.status_line, self.outputs)

    def _fold_in_pending(self):
        while True:
            try:
                self.ingest(self.reports.get_nowait())
            except queue.Empty:
                return

    def _fold_in_until(self, due, stop):
        # Whatever waits is folded in at once and decided on together, so an arrival is logged at
        # once, not at the tick, and a burst of reports costs one decision, not one each.
        while not stop.is_set() and not self.reload_requested.is_set() and (remaining := due - self.clock.now()) > 0:
            report = self.clock.get(self.reports, min(remaining, defaults.STOP_CHECK))
            if report is None:
                self._progress()
                continue
            self.ingest(report)
            for _ in range(defaults.MAX_REPORTS_PER_DECISION):
                try:
                    self.ingest(self.reports.get_nowait())
                except queue.Empty:
                    break
            self.decide(self.clock.now())

    def shutdown(self):
        """Stop the sources, save the state, and close the outputs within the shutdown deadline."""
        started = self.clock.monotonic()
        self.supervisor.join(started + defaults.SHUTDOWN_DEADLINE / 10)
        saved = self.save(self.clock.now(), force=True)
        # The outputs close together: Graphite may need most of the deadline to spool what waits.
        self.outputs.close(started + defaults.SHUTDOWN_DEADLINE * 0.8)
        if saved:
            log.info("Stopped; state saved to %s", self.state_path)
        else:
            log.error("Stopped; the state could NOT be saved to %s (%s)", self.state_path, self.store.error)
