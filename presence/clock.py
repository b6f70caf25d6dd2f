"""The real clock: the only place the daemon reads the time or sleeps (tests hand in a fake one)."""

import queue
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Every read of the time and every wait of the daemon goes through one of these."""

    def now(self) -> float:
        """Wall-clock time in epoch seconds: what reports and metrics are stamped with."""

    def monotonic(self) -> float:
        """Seconds that never go back: for intervals and deadlines."""

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds`; return whether `event` is set."""

    def get(self, items: queue.Queue, seconds: float):
        """The next item of `items`, waiting up to `seconds`; None when none came."""


class SystemClock:
    """Wall-clock and monotonic time; waits that an event or a new item cuts short."""

    def now(self):
        """time.time()."""
        return time.time()

    def monotonic(self):
        """time.monotonic()."""
        return time.monotonic()

    def wait(self, event, seconds):
        """event.wait, never for a negative time."""
        return event.wait(max(0.0, seconds))

    def get(self, items, seconds):
        """items.get with a timeout; None when it ran out."""
        try:
            return items.get(timeout=max(0.0, seconds))
        except queue.Empty:
            return None
