"""Polled sources run as sources: on their interval, following their retry hints, never raising."""

import queue
import threading

from presence.daemon.runners import SourceThread
from presence.observations import SourceReport
from presence.sources.base import Every, poll_safely
from tests.fakes import T0, FakeClock

T0 = int(T0)


class BrokenSource:
    name = "broken"

    def poll(self, now):
        raise RuntimeError("driver exploded")

    def close(self):
        pass


def test_a_raising_source_becomes_a_failed_report():
    report = poll_safely(BrokenSource(), T0)
    assert not report.ok and report.error == "RuntimeError: driver exploded"


class ScriptedSource:
    """Answers from a script of reports; stops the runner when the script ends."""

    name = "scripted"

    def __init__(self, retry_afters, stop):
        self.retry_afters, self.stop, self.polled_at = list(retry_afters), stop, []

    def poll(self, now):
        self.polled_at.append(now)
        retry_after = self.retry_afters.pop(0)
        if not self.retry_afters:
            self.stop.set()
        return SourceReport(source=self.name, at=now, ok=retry_after is None, retry_after=retry_after)

    def close(self):
        self.closed = True


def test_runner_keeps_its_interval_and_follows_retry_hints():
    stop, clock, reports = threading.Event(), FakeClock(), queue.Queue()
    source = ScriptedSource([None, 5.0, 10.0, 20.0, None, None], stop)
    runner = SourceThread(Every(source, 300.0), reports, clock, stop)
    runner.run()
    assert [at - T0 for at in source.polled_at] == [0, 300, 305, 315, 335, 635]
    assert reports.qsize() == 6 and source.closed


def test_a_poll_slower_than_its_interval_skips_the_missed_rounds():
    stop, clock = threading.Event(), FakeClock()

    class SlowSource(ScriptedSource):
        def poll(self, now):
            report = super().poll(now)
            clock.sleep(25.0 if len(self.polled_at) == 2 else 1.0)
            return report

    source = SlowSource([None, None, None, None], stop)
    SourceThread(Every(source, 10.0), queue.Queue(), clock, stop).run()
    # Polls at 0 and 10; the second takes 25 s, so 20 and 30 are skipped and the next is at 40.
    assert [at - T0 for at in source.polled_at] == [0, 10, 40, 50]
