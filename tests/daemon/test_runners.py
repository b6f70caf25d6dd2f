"""The thread that runs one source: its reports reach the queue, a failure is logged and run again after a
pause, the stop event ends it, and the source is closed at the end; on the fake clock, never sleeping."""

import logging
import math
import queue
import threading

from presence.config import defaults
from presence.daemon.runners import SourceThread
from presence.observations import SourceReport
from tests.fakes import T0, FakeClock

PAUSE = defaults.LISTENER_RESTART


class ScriptedSource:
    """A source that plays one step of `steps` per run: "raise", "return", or a number of reports to emit
    before it waits for `stop`. It sets `stop` itself when the script ends, unless told not to."""

    name = "scripted"
    first_wait = True

    def __init__(self, steps, stop_at_end=True):
        self.steps, self.stop_at_end = list(steps), stop_at_end
        self.runs, self.closed = [], 0

    def run(self, emit, stop, clock):
        self.runs.append(clock.now() - T0)
        step = self.steps.pop(0)
        if not self.steps and self.stop_at_end:
            stop.set()
        if step == "raise":
            raise RuntimeError("driver exploded")
        if step == "return":
            return
        for number in range(step):
            emit(SourceReport(source=self.name, at=clock.now(), ok=True, error=f"report {number}"))
        clock.wait(stop, math.inf)

    def close(self):
        self.closed += 1


def drained(reports):
    items = []
    while not reports.empty():
        items.append(reports.get_nowait())
    return items


def test_every_report_of_the_source_reaches_the_queue_in_order_and_the_source_is_closed_once():
    clock, stop, reports = FakeClock(), threading.Event(), queue.Queue()
    source = ScriptedSource([3])
    runner = SourceThread(source, reports, clock, stop)
    runner.run()
    assert [report.error for report in drained(reports)] == ["report 0", "report 1", "report 2"]
    assert runner.first_done.is_set() and source.closed == 1


def test_a_source_that_raises_is_logged_with_its_name_and_run_again_after_the_pause(caplog):
    caplog.set_level(logging.INFO, logger="presence.daemon.runners")
    clock, stop, reports = FakeClock(), threading.Event(), queue.Queue()
    source = ScriptedSource(["raise", "raise", 1])
    runner = SourceThread(source, reports, clock, stop)
    runner.run()
    assert source.runs == [0, PAUSE, 2 * PAUSE]
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in errors] == [
        f"scripted: RuntimeError: driver exploded; running it again in {PAUSE:.0f} s"] * 2
    assert not any(record.exc_info for record in errors), "the traceback is for debugging only"
    assert len(drained(reports)) == 1 and source.closed == 1


def test_the_traceback_of_a_failing_source_is_logged_when_debugging(caplog):
    caplog.set_level(logging.DEBUG, logger="presence.daemon.runners")
    clock, stop = FakeClock(), threading.Event()
    SourceThread(ScriptedSource(["raise", 0]), queue.Queue(), clock, stop).run()
    failure = next(record for record in caplog.records if record.levelname == "ERROR")
    assert failure.exc_info[0] is RuntimeError


def test_a_source_that_returns_before_the_stop_is_run_again_after_the_pause():
    clock, stop = FakeClock(), threading.Event()
    source = ScriptedSource(["return", "return", 0])
    SourceThread(source, queue.Queue(), clock, stop).run()
    assert source.runs == [0, PAUSE, 2 * PAUSE]


def test_a_stop_during_the_pause_after_a_failure_ends_the_thread_without_running_the_source_again():
    clock, stop = FakeClock(), threading.Event()
    source = ScriptedSource(["raise", 1], stop_at_end=False)
    clock.at(T0 + PAUSE / 2, stop.set)
    SourceThread(source, queue.Queue(), clock, stop).run()
    assert source.runs == [0] and clock.now() == T0 + PAUSE / 2
    assert source.closed == 1


def test_a_stop_set_before_the_start_never_runs_the_source_but_still_closes_it():
    stop = threading.Event()
    stop.set()
    source = ScriptedSource([1])
    runner = SourceThread(source, queue.Queue(), FakeClock(), stop)
    runner.run()
    assert source.runs == [] and source.closed == 1 and not runner.first_done.is_set()


def test_a_failure_never_sets_first_done_only_a_report_does():
    clock, stop = FakeClock(), threading.Event()
    runner = SourceThread(ScriptedSource(["raise", "return", 0]), queue.Queue(), clock, stop)
    runner.run()
    assert not runner.first_done.is_set()


class GatedSource:
    """Emits one report once `go` is set, then waits for the stop; says when it has started."""

    name = "gated"
    first_wait = True

    def __init__(self):
        self.started, self.go, self.closed = threading.Event(), threading.Event(), threading.Event()

    def run(self, emit, stop, clock):
        self.started.set()
        clock.wait(self.go, math.inf)
        emit(SourceReport(source=self.name, at=clock.now(), ok=True))
        clock.wait(stop, math.inf)

    def close(self):
        self.closed.set()


def test_as_a_thread_it_is_named_after_its_source_sets_first_done_at_the_first_report_and_ends_at_the_stop():
    clock, stop, reports, source = FakeClock(), threading.Event(), queue.Queue(), GatedSource()
    runner = SourceThread(source, reports, clock, stop)
    assert runner.name == "source-gated" and runner.daemon
    runner.start()
    try:
        assert source.started.wait(2)
        assert not runner.first_done.is_set() and reports.empty()
        source.go.set()
        assert runner.first_done.wait(2)
        assert reports.get_nowait().source == "gated"
    finally:
        stop.set()
        runner.join(2)
    assert not runner.is_alive() and source.closed.is_set()
