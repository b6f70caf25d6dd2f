"""The supervisor of the source threads: the first wait for their reports, the end of a generation, and what it
tells systemd (ready once, the watchdog only while every part lives, a status line at most once a second)."""

import logging
import math
import queue
import sys
import threading

import pytest

from presence.config import defaults
from presence.daemon.supervisor import Supervisor
from presence.observations import SourceReport
from tests.fakes import T0, FakeClock


class TimedSource:
    """Reports once after `after` seconds (never for None), then waits for the stop."""

    def __init__(self, name, after, first_wait=True):
        self.name, self.after, self.first_wait = name, after, first_wait
        self.closed = threading.Event()

    def run(self, emit, stop, clock):
        if self.after is not None and not clock.wait(stop, self.after):
            emit(SourceReport(source=self.name, at=clock.now(), ok=True))
        clock.wait(stop, math.inf)

    def close(self):
        self.closed.set()


class QuittingSource(TimedSource):
    """Reports, then calls sys.exit (as a library might), which ends its thread: SystemExit is no Exception."""

    def run(self, emit, stop, clock):
        emit(SourceReport(source=self.name, at=clock.now(), ok=True))
        sys.exit(1)


class StuckSource(TimedSource):
    """Ignores the stop until `release` is set (a wedged driver)."""

    def __init__(self, name):
        super().__init__(name, None, first_wait=False)
        self.release = threading.Event()

    def run(self, emit, stop, clock):
        clock.wait(self.release, math.inf)


class RecordingNotifier:
    """Keeps what the supervisor tells systemd, with the clock's time of each."""

    def __init__(self, clock, watchdog_interval=0.5, enabled=True):
        self.clock, self.watchdog_interval, self.enabled = clock, watchdog_interval, enabled
        self.sent = []

    def notify(self, *fields):
        self.sent.append((round(self.clock.now() - T0, 3), fields))

    def ready(self, status):
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status):
        self.notify(f"STATUS={status}")

    def pings(self):
        return [at for at, fields in self.sent if "WATCHDOG=1" in fields]

    def statuses(self):
        return [(at, fields) for at, fields in self.sent if fields[0].startswith("STATUS=")]


class Outputs:
    def __init__(self):
        self.died = None

    def dead(self):
        return self.died


def status():
    return "2 home: nick, susan"


def end(supervisor, generation, clock):
    supervisor.stop_sources(generation, clock.monotonic() + 1.0)
    assert not any(thread.is_alive() for thread in supervisor.threads)


def test_start_waits_for_the_first_report_of_each_source_that_wants_it_and_no_longer():
    clock, stop = FakeClock(), threading.Event()
    supervisor = Supervisor(clock, RecordingNotifier(clock))
    sources = [TimedSource("wifi", 1.0), TimedSource("homeassistant", 2.0), TimedSource("listener", None, False)]
    reports = queue.Queue()
    generation = supervisor.start(sources, reports, stop)
    try:
        last = max(report.at for report in [reports.get_nowait(), reports.get_nowait()])
        assert reports.empty()
        assert last <= clock.now() <= last + 0.1 and clock.now() - T0 < defaults.FIRST_SCAN_WAIT
        assert [thread.name for thread in supervisor.threads] == ["source-wifi", "source-homeassistant",
                                                                  "source-listener"]
        assert all(thread.is_alive() for thread in supervisor.threads) and not generation.is_set()
    finally:
        end(supervisor, generation, clock)
    assert all(source.closed.is_set() for source in sources)


def test_start_gives_up_on_a_silent_source_after_the_first_scan_wait():
    clock, stop, reports = FakeClock(), threading.Event(), queue.Queue()
    supervisor = Supervisor(clock, RecordingNotifier(clock))
    generation = supervisor.start([TimedSource("wifi", None), TimedSource("homeassistant", 0.5)], reports, stop)
    try:
        assert defaults.FIRST_SCAN_WAIT <= clock.now() - T0 <= defaults.FIRST_SCAN_WAIT + 0.1
        assert reports.get_nowait().source == "homeassistant" and reports.empty()
    finally:
        end(supervisor, generation, clock)


def test_the_daemons_stop_cuts_the_first_wait_short():
    clock, stop = FakeClock(), threading.Event()
    clock.at(T0 + 0.5, stop.set)
    supervisor = Supervisor(clock, RecordingNotifier(clock))
    generation = supervisor.start([TimedSource("wifi", None)], queue.Queue(), stop)
    try:
        assert clock.now() - T0 < 0.6
    finally:
        end(supervisor, generation, clock)


def test_ending_a_generation_stops_only_its_own_threads():
    clock, stop = FakeClock(), threading.Event()
    supervisor = Supervisor(clock, RecordingNotifier(clock))
    old_source = TimedSource("wifi", 0.0)
    old = supervisor.start([old_source], queue.Queue(), stop)
    old_threads = supervisor.threads
    new_source = TimedSource("wifi", 0.0)
    new = supervisor.start([new_source], queue.Queue(), stop)
    try:
        old.set()
        for thread in old_threads:
            thread.join(1.0)
        assert old_source.closed.is_set() and not new_source.closed.is_set()
        assert all(thread.is_alive() for thread in supervisor.threads)
    finally:
        end(supervisor, new, clock)


def test_ending_a_generation_waits_for_a_stuck_source_only_until_the_deadline():
    clock, stop = FakeClock(), threading.Event()
    supervisor = Supervisor(clock, RecordingNotifier(clock))
    stuck = StuckSource("wifi")
    generation = supervisor.start([stuck], queue.Queue(), stop)
    try:
        supervisor.stop_sources(generation, clock.monotonic() + 0.02)
        assert generation.is_set() and supervisor.threads[0].is_alive()
    finally:
        stuck.release.set()
        supervisor.join(clock.monotonic() + 1.0)
    assert not supervisor.threads[0].is_alive() and stuck.closed.is_set()


def test_ready_is_said_once_with_the_status_line():
    clock = FakeClock()
    notifier = RecordingNotifier(clock)
    supervisor = Supervisor(clock, notifier)
    supervisor.ready(status)
    supervisor.ready(lambda: "never asked")
    assert notifier.sent == [(0.0, ("READY=1", "STATUS=2 home: nick, susan"))]


def test_nothing_is_told_nor_judged_before_ready():
    clock = FakeClock()
    notifier, outputs = RecordingNotifier(clock), Outputs()
    outputs.died = "the Graphite output has stopped"
    supervisor = Supervisor(clock, notifier)
    supervisor.progress(status, outputs)
    assert notifier.sent == [] and supervisor.unhealthy is None


def test_the_watchdog_is_pinged_at_its_interval_with_a_status_line_at_most_each_second_between():
    clock = FakeClock()
    notifier = RecordingNotifier(clock, watchdog_interval=2.0)
    supervisor = Supervisor(clock, notifier)
    supervisor.ready(status)
    for _ in range(20):
        clock.sleep(0.25)
        supervisor.progress(status, Outputs())
    assert notifier.pings() == [0.25, 2.25, 4.25]
    assert [at for at, _ in notifier.statuses()] == [1.25, 3.25]
    assert all(fields[-1] == "STATUS=2 home: nick, susan" for _, fields in notifier.sent)
    assert supervisor.unhealthy is None


def test_without_a_watchdog_only_the_status_line_is_sent_once_a_second():
    clock = FakeClock()
    notifier = RecordingNotifier(clock, watchdog_interval=None)
    supervisor = Supervisor(clock, notifier)
    supervisor.ready(status)
    for _ in range(10):
        clock.sleep(0.3)
        supervisor.progress(status, Outputs())
    assert notifier.pings() == []
    assert [at for at, _ in notifier.statuses()] == [0.3, 1.5, 2.7]


def test_a_dead_output_stops_the_pings_is_logged_once_and_leaves_the_status_line(caplog):
    clock = FakeClock()
    notifier, outputs = RecordingNotifier(clock), Outputs()
    supervisor = Supervisor(clock, notifier)
    supervisor.ready(status)
    clock.sleep(1.0)
    supervisor.progress(status, outputs)
    assert notifier.pings() == [1.0]
    outputs.died = "the Graphite output has stopped"
    for _ in range(6):
        clock.sleep(0.5)
        supervisor.progress(status, outputs)
    assert notifier.pings() == [1.0]
    assert [at for at, _ in notifier.statuses() if at > 1.0] == [2.0, 3.0, 4.0]
    assert supervisor.unhealthy == "the Graphite output has stopped"
    assert caplog.text.count("the Graphite output has stopped; no longer telling the watchdog all is well") == 1


@pytest.fixture
def thread_deaths(monkeypatch):
    """The exceptions that ended threads, kept here rather than reported as the test's own failure."""
    deaths = []
    monkeypatch.setattr(threading, "excepthook", lambda args: deaths.append((args.thread.name, args.exc_type)))
    return deaths


def test_a_source_thread_that_ended_is_named_and_stops_the_pings(caplog, thread_deaths):
    clock, stop = FakeClock(), threading.Event()
    notifier = RecordingNotifier(clock)
    supervisor = Supervisor(clock, notifier)
    living = TimedSource("homeassistant", 0.0)
    generation = supervisor.start([living, QuittingSource("wifi", 0.0)], queue.Queue(), stop)
    try:
        supervisor.threads[1].join(1.0)
        assert thread_deaths == [("source-wifi", SystemExit)]
        supervisor.ready(status)
        clock.sleep(1.0)
        supervisor.progress(status, Outputs())
        assert supervisor.unhealthy == "thread source-wifi has stopped"
        assert notifier.pings() == []
        assert [record.levelname for record in caplog.records] == ["ERROR"]
        assert "thread source-wifi has stopped; no longer telling the watchdog" in caplog.text
    finally:
        end(supervisor, generation, clock)


def test_a_dead_output_is_named_before_a_dead_thread(thread_deaths):
    clock, stop = FakeClock(), threading.Event()
    supervisor = Supervisor(clock, RecordingNotifier(clock))
    generation = supervisor.start([QuittingSource("wifi", 0.0)], queue.Queue(), stop)
    try:
        supervisor.threads[0].join(1.0)
        outputs = Outputs()
        outputs.died = "the MQTT output has stopped"
        supervisor.ready(status)
        supervisor.progress(status, outputs)
        assert supervisor.unhealthy == "the MQTT output has stopped"
        outputs.died = None
        supervisor.progress(status, outputs)
        assert supervisor.unhealthy == "thread source-wifi has stopped"
    finally:
        end(supervisor, generation, clock)


def test_outside_systemd_the_health_is_still_judged_and_logged_but_nothing_is_sent(caplog):
    caplog.set_level(logging.ERROR)
    clock = FakeClock()
    notifier, outputs = RecordingNotifier(clock, enabled=False), Outputs()
    supervisor = Supervisor(clock, notifier)
    supervisor.ready(status)
    notifier.sent.clear()
    outputs.died = "the Graphite output has stopped"
    clock.sleep(1.0)
    supervisor.progress(status, outputs)
    assert notifier.sent == [] and supervisor.unhealthy == "the Graphite output has stopped"
    assert "no longer telling the watchdog" in caplog.text
