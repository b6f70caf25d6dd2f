"""The daemon loop: the only place that reads the clock, runs the sources and talks to the sink."""

import logging
import math
import queue
import threading
from dataclasses import dataclass, replace

from graphite_helper import build_message
from presence.config import defaults
from presence.config.model import ConfigError
from presence.metrics import event_values, metric_values, tick_time
from presence.clock import SystemClock
from presence.daemon.notify import Notifier
from presence.daemon.runners import ListenerRunner, SourceRunner, poll_safely
from presence.daemon.store import StateStore
from presence.state.machine import evaluate, ingest, lan_outages_now
from presence.state.vanished import describe, vanished_devices
from presence.history.hints import new_address_hint

log = logging.getLogger(__name__)

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING}


@dataclass(frozen=True)
class Setup:
    """What the daemon runs with; a reload builds a new one from the config file."""

    config: object
    sources: list
    listeners: list
    # Builds the new sink when the Graphite settings changed (None: keep the one running).
    make_sink: object = None
    # Builds the new MQTT publisher when the mqtt section changed (None: keep the one running, if any,
    # told of the new config).
    make_publisher: object = None


class Daemon:
    """Holds the state; folds in reports, and on each tick evaluates, sends and saves."""

    def __init__(self, config, state, sink, state_path, clock=None, notifier=None, history=None, publisher=None,
                 lock=None):
        self.config = config
        self.state = state
        self.sink = sink
        # Where each decision goes at once (presence.outputs.mqtt.publisher, to Home Assistant); None: nowhere.
        self.publisher = publisher
        self._publish_error = None
        self.state_path = state_path
        self.clock = clock or SystemClock()
        self.notifier = notifier or Notifier({})
        # Where closed history records go (presence.outputs.history.writer); None: nowhere.
        self.history = history
        self.reports = queue.Queue()
        self.last_snapshot = None
        self.last_scan = None
        self.reload_requested = threading.Event()
        self.store = StateStore(state_path, state, lock)
        self._last_ping = self._last_status = -math.inf
        self._ready = False
        self._unhealthy = None
        self._unhealthy_logged = False
        self._unsent_transitions = []
        self._threads = []
        self._vanished_said = set()

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
        self._publish(snapshot)
        if self.state.history_out:
            if self.history is not None:
                self.history.write(list(self.state.history_out), at, people_macs=self.config.mac_owner)
            self.state = replace(self.state, history_out=())
        return snapshot

    def tick(self, at):
        """Fold in pending reports, decide who is home at `at`, send the metrics, save the state."""
        self._fold_in_pending()
        snapshot = self.decide(at)
        self._say_vanished(at)
        values = metric_values(snapshot) + event_values(self._unsent_transitions)
        self._unsent_transitions = []
        self.sink.send(build_message(self.config.graphite.prefix, values, at))
        self.save(at)
        return snapshot

    def _fold_in_pending(self):
        while True:
            try:
                self.ingest(self.reports.get_nowait())
            except queue.Empty:
                return

    def _flush_history(self):
        if self.history is not None:
            self.history.flush(self.clock.now())

    def _publish(self, snapshot):
        if self.publisher is None:
            return
        try:
            self.publisher.publish(snapshot, self.state)
        except Exception as error:  # publishing for Home Assistant must never stop the metrics
            if repr(error) != self._publish_error:
                log.error("Publishing to MQTT failed: %s: %s", type(error).__name__, error,
                          exc_info=log.isEnabledFor(logging.DEBUG))
            self._publish_error = repr(error)

    def _say_vanished(self, at):
        # Said once per device; said again only after it was seen and then vanished anew.
        found = vanished_devices(self.state, self.config, at)
        for item in found:
            if item.mac not in self._vanished_said:
                hint = new_address_hint(self.history.folder, self.state, self.config, at, item.key,
                                        held=self.history.pending) if self.history is not None else ""
                log.warning("%s%s", describe(item), hint)
        self._vanished_said = {item.mac for item in found}

    def save(self, now, force=False):
        """Write state.json when the save policy says (always with `force`); return whether the file will do."""
        return self.store.save(self.state, self.config, now, force)

    def once(self, sources):
        """Poll every source once, then tick once and close the sink: `once` on the command line."""
        for source in sources:
            try:
                self.ingest(poll_safely(source, self.clock.now()))
            finally:
                source.close()
        snapshot = self.tick(tick_time(self.clock.now(), self.config.graphite.send_interval))
        self._flush_history()
        self.sink.close()
        if self.publisher is not None:
            self.publisher.settle(defaults.MQTT_TIMEOUT)
            self.publisher.close()
        return snapshot

    def run(self, sources, stop, listeners=(), reload=None):
        """Tick on every aligned send interval until `stop` is set; sources run in their own threads.

        `reload()`, called when `reload_requested` is set (SIGHUP), returns a `Setup` from the config
        file as it is now, or raises ConfigError: then the daemon runs on as it was."""
        generation = self._start(sources, listeners, stop)
        interval = self.config.graphite.send_interval
        log.info("Running: %d people, ticks every %d s", len(self.config.people), interval)
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
            if not self._ready:
                self.notifier.ready(self.status_line())
                self._ready = True
            self._progress()
        self.notifier.stopping()
        generation.set()
        self.shutdown()

    def _start(self, sources, listeners, stop):
        """Start one generation of sources; the returned event stops them (at a reload or the end)."""
        generation = threading.Event()
        runners = [SourceRunner(source, interval, self.reports, self.clock, generation) for source, interval in sources]
        threads = runners + [ListenerRunner(listener, self.reports, self.clock, generation) for listener in listeners]
        for thread in threads:
            thread.start()
        self._threads = threads
        first_deadline = self.clock.monotonic() + defaults.FIRST_SCAN_WAIT
        while not all(r.first_done.is_set() for r in runners) and self.clock.monotonic() < first_deadline:
            if self.clock.wait(stop, 0.05):
                break
        return generation

    def _reload(self, reload, generation, stop):
        self.notifier.notify("RELOADING=1", "STATUS=Reloading the configuration")
        try:
            if reload is None:
                raise ConfigError(self.config.path, ["this command cannot reload its configuration"])
            setup = reload()
        except ConfigError as error:
            log.error("Reload refused; running on with the configuration loaded before. %s", error)
            self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
            return generation
        except Exception as error:  # a reload must never end a daemon that runs well
            log.error("Reload failed (%s: %s); running on with the configuration loaded before",
                      type(error).__name__, error, exc_info=log.isEnabledFor(logging.DEBUG))
            self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
            return generation
        generation.set()
        for thread in self._threads:
            thread.join(1.0)
        self._fold_in_pending()
        # A source of the old generation that ends late reports into a queue nobody reads any more: its
        # reading, made with the old config, never overwrites the new sources' fresher ones.
        self.reports = queue.Queue()
        self.save(self.clock.now(), force=True)
        self._flush_history()
        if setup.make_sink is not None:
            # The old sender spools what it could not deliver before the new one reads the spool.
            self.sink.close(timeout=defaults.SHUTDOWN_DEADLINE)
            self.sink = setup.make_sink()
        if setup.make_publisher is not None:
            if self.publisher is not None:
                self.publisher.close(timeout=defaults.SHUTDOWN_DEADLINE)
            self.publisher = setup.make_publisher()
        elif self.publisher is not None:
            self.publisher.reconfigure(setup.config)
        self.config = setup.config
        log.info("Reloaded %s: %d people", setup.config.path, len(setup.config.people))
        generation = self._start(setup.sources, setup.listeners, stop)
        self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
        return generation

    def status_line(self):
        """`3 home: nick, susan, tom; last scan 0.3 s ago`, for `systemctl status`; problems first."""
        home = [person.key for person in (self.last_snapshot.people if self.last_snapshot else ()) if person.is_home]
        scan = "no scan yet" if self.last_scan is None else f"last scan {self.clock.now() - self.last_scan:.1f} s ago"
        line = f"{len(home)} home{': ' + ', '.join(home) if home else ''}; {scan}"
        problems = [self._unhealthy] if self._unhealthy else []
        for cidr, (since, reason) in sorted(lan_outages_now(self.state).items()):
            problems.append(f"LAN {cidr} unreachable for {self.clock.now() - since:.0f} s ({reason}), "
                            "presence held")
        for part in (self.sink, self.publisher):
            problem = part.problem() if part is not None else None
            if problem:
                problems.append(problem)
        for problem in (self.store.problem(), self.history.problem() if self.history is not None else None):
            if problem:
                problems.append(problem)
        return "; ".join(problems + [line])

    def _progress(self):
        # Only this loop pings the watchdog, and only while every part of the daemon lives: when one
        # hangs or dies, the pings stop and systemd restarts the service.
        if not self._ready:
            return
        self._unhealthy = self._health()
        if self._unhealthy and not self._unhealthy_logged:
            log.error("%s; no longer telling the watchdog all is well", self._unhealthy)
            self._unhealthy_logged = True
        if not self.notifier.enabled:
            return
        now = self.clock.monotonic()
        interval = self.notifier.watchdog_interval
        if not self._unhealthy and interval is not None and now - self._last_ping >= interval:
            self.notifier.notify("WATCHDOG=1", f"STATUS={self.status_line()}")
            self._last_ping = self._last_status = now
        elif now - self._last_status >= defaults.STATUS_EVERY:
            # The status line costs more than this loop's other work: at most once a second.
            self.notifier.status(self.status_line())
            self._last_status = now

    def _health(self):
        """None when every thread of the daemon lives, else what died."""
        if not self.sink.alive():
            return "the Graphite sender thread has stopped"
        if self.publisher is not None and not self.publisher.alive():
            return "the MQTT publisher thread has stopped"
        dead = [thread.name for thread in self._threads if not thread.is_alive()]
        if dead:
            return f"thread {', '.join(dead)} has stopped"
        return None

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
        # Sources hold nothing worth waiting for; the sink may: give it most of the deadline.
        started = self.clock.monotonic()
        for thread in self._threads:
            thread.join(max(0.0, started + defaults.SHUTDOWN_DEADLINE / 10 - self.clock.monotonic()))
        saved = self.save(self.clock.now(), force=True)
        self._flush_history()
        if self.publisher is not None:
            self.publisher.close(timeout=max(0.1, started + defaults.SHUTDOWN_DEADLINE * 0.3 - self.clock.monotonic()))
        self.sink.close(timeout=max(0.1, started + defaults.SHUTDOWN_DEADLINE * 0.8 - self.clock.monotonic()))
        if saved:
            log.info("Stopped; state saved to %s", self.state_path)
        else:
            log.error("Stopped; the state could NOT be saved to %s (%s)", self.state_path, self.store.error)
