"""The real clock: the only place the daemon reads the time or sleeps (tests hand in a fake one)."""

import queue
import time


class SystemClock:
    """Wall-clock and monotonic time; waits that an event or a new item cuts short."""

    def now(self):
        return time.time()

    def monotonic(self):
        return time.monotonic()

    def wait(self, event, seconds):
        return event.wait(max(0.0, seconds))

    def get(self, items, seconds):
        try:
            return items.get(timeout=max(0.0, seconds))
        except queue.Empty:
            return None
