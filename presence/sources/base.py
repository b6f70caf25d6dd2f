"""The one interface every source offers the loop, and the adapter that runs a polled source as one."""

import logging
import threading
from typing import Callable, Protocol

from presence.clock import Clock
from presence.observations import SourceReport

log = logging.getLogger(__name__)


class Source(Protocol):
    """Reports what it sees until `stop` is set, through `emit`, stamped with `clock.now()`.

    `first_wait`: the first tick waits (a few seconds at most) for this source's first report, so that the
    daemon does not start by calling everyone away."""

    name: str
    first_wait: bool

    def run(self, emit: Callable[[SourceReport], None], stop: threading.Event, clock: Clock) -> None:
        """Report until `stop` is set; returning or raising earlier is a failure (it is run again)."""

    def close(self) -> None:
        """Let go of sockets and files."""


class Poller(Protocol):
    """Asked on its interval: returns what it saw by `now`. Never raises on a failed poll."""

    name: str

    def poll(self, now: float) -> SourceReport:
        """One look."""

    def close(self) -> None:
        """Let go of sockets and files."""


def poll_safely(poller, now):
    """Poll once; turn any exception into a failed report so no source can stop the loop."""
    try:
        return poller.poll(now)
    except Exception as error:  # a bug in one source must not stop the others
        log.debug("%s: poll raised", poller.name, exc_info=True)
        return SourceReport(source=poller.name, at=now, ok=False, error=f"{type(error).__name__}: {error}")


class Every:
    """A `Poller` run as a `Source`: polled every `interval` seconds (or when its last report asks); a slow
    poll delays the next."""

    first_wait = True

    def __init__(self, poller: Poller, interval: float):
        self.poller, self.interval = poller, interval

    @property
    def name(self):
        """The poller's name."""
        return self.poller.name

    def run(self, emit, stop, clock):
        """Poll until `stop` is set."""
        next_due = clock.now()
        while not stop.is_set():
            report = poll_safely(self.poller, clock.now())
            emit(report)
            now = clock.now()
            if report.retry_after is not None:
                next_due = now + report.retry_after
            else:
                next_due += self.interval
                if now > next_due:
                    skipped = int((now - next_due) // self.interval) + 1
                    log.debug("%s: poll took longer than its interval; skipping %d", self.name, skipped)
                    next_due += skipped * self.interval
            if clock.wait(stop, next_due - now):
                break

    def close(self):
        """Close the poller."""
        self.poller.close()
