"""The fakes the loop's tests share: a sink that keeps what it is sent, and one clock of virtual time.

The clock serves every test of the loop, the watchdog and the source threads.

Time stands still while any thread that waits on this clock is busy. Once every such thread is
parked in `wait` or `get` (and a short real quiet has shown no other is about to run), time jumps to
the earliest deadline among them, or to a callback set with `at`. So a loop that ticks every second
runs an hour in a fraction of a second of real time, in the order its deadlines say.

A thread blocked elsewhere (a real `Event.wait`, a socket) holds time still once it has waited here
before: the fakes that stand for something slow wait on this clock instead.
"""

import heapq
import itertools
import math
import queue
import threading

T0 = 1_800_000_000.0
# Real seconds with no clock activity before time may jump: lets a thread that was just started or
# woken reach its next wait first.
QUIET = 0.002


class FakeClock:
    def __init__(self, start=T0):
        self.start = self._now = float(start)
        self._lock = threading.Condition()
        self._parked = {}  # thread -> (deadline, ready)
        # Every thread that ever waited here, and the one that made the clock and drives the code under test:
        # before its first wait (starting the source threads), time must not move for the others.
        self._waiters = {threading.current_thread()}
        self._timers = []  # heap of (at, order, action)
        self._order = itertools.count()
        self._activity = 0

    def now(self):
        with self._lock:
            return self._now

    def monotonic(self):
        return self.now() - self.start + 1000.0

    def wait(self, event, seconds):
        self._park(event.is_set, seconds)
        return event.is_set()

    def get(self, items, seconds):
        if self._park(lambda: not items.empty(), seconds):
            try:
                return items.get_nowait()
            except queue.Empty:
                return None
        return None

    def sleep(self, seconds):
        """A pause of `seconds` of virtual time (for fakes that stand for something slow)."""
        self._park(lambda: False, seconds)

    def waited(self, thread):
        """Whether `thread` has waited here yet: from then on, time stands still while it is busy (a test
        that starts one waits for this before it lets time run)."""
        with self._lock:
            return thread in self._waiters

    def at(self, when, action):
        """Call `action()` (from the thread that moves time) once the time reaches `when`."""
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._order), action))
            self._activity += 1
            self._lock.notify_all()

    def _park(self, ready, seconds):
        me = threading.current_thread()
        with self._lock:
            deadline = self._now + max(0.0, seconds) if seconds != math.inf else math.inf
            self._waiters.add(me)
            self._parked[me] = (deadline, ready)
            self._activity += 1
            self._lock.notify_all()
            try:
                while True:
                    if ready():
                        return True
                    if self._now >= deadline:
                        return False
                    seen = self._activity
                    self._lock.wait(QUIET)
                    if seen == self._activity:
                        self._advance_when_all_parked()
            finally:
                del self._parked[me]
                self._activity += 1

    def _advance_when_all_parked(self):
        busy = [t for t in self._waiters if t.is_alive() and t not in self._parked]
        if busy or any(ready() for _, ready in self._parked.values()):
            return
        deadlines = [deadline for deadline, _ in self._parked.values()]
        if self._timers:
            deadlines.append(self._timers[0][0])
        upcoming = min(deadlines)
        if upcoming == math.inf:
            raise RuntimeError("every thread waits for ever on the fake clock: nothing can happen")
        self._now = max(self._now, upcoming)
        while self._timers and self._timers[0][0] <= self._now:
            _, _, action = heapq.heappop(self._timers)
            action()
        self._activity += 1
        self._lock.notify_all()


class ListSink:
    """Keeps every message; a real sender's health is what `alive` and `problem` say."""

    def __init__(self):
        self.messages = []
        self.closed = False

    def send(self, message):
        self.messages.append(message)

    def close(self, timeout=None):
        self.closed = True

    def alive(self):
        return True

    def problem(self):
        return None


class FakeMonotonic:
    """A monotonic clock that moves only when a test sets `value`."""

    def __init__(self):
        self.value = 0.0

    def __call__(self):
        return self.value


class ListPublisher:
    """Records what the loop tells a publisher: ("publish", snapshot, state), ("reconfigure", config), ("close",)."""

    def __init__(self, fail=None, problem=None):
        self.calls = []
        self.fail = fail  # raised by publish(), to stand for a bug
        self.trouble = problem
        self.living = True
        self.on_start = None  # called at start(), to see what the loop did before

    def start(self):
        self.calls.append(("start",))
        if self.on_start:
            self.on_start()

    def publish(self, snapshot, state):
        self.calls.append(("publish", snapshot, state))
        if self.fail:
            raise self.fail

    def reconfigure(self, config):
        self.calls.append(("reconfigure", config))

    def settle(self, timeout):
        self.calls.append(("settle",))

    def close(self, timeout=None):
        self.calls.append(("close",))

    def alive(self):
        return self.living

    def problem(self):
        return self.trouble

    def published(self):
        return [call[1] for call in self.calls if call[0] == "publish"]


class RecordingOutput:
    """A test-only output: keeps every tick it is handed, and what else the loop asks of it."""

    name = "recorder"

    def __init__(self, fail=None):
        self.ticks = []
        self.calls = []
        self.fail = fail  # raised by emit(), to stand for a bug

    def start(self):
        self.calls.append(("start",))

    def emit(self, tick):
        self.ticks.append(tick)
        if self.fail:
            raise self.fail

    def problem(self):
        return None

    def alive(self):
        return True

    def reconfigure(self, config):
        self.calls.append(("reconfigure", config))

    def close(self, deadline):
        self.calls.append(("close", deadline))


def make_daemon(config, state, sink, state_path, clock=None, notifier=None, publisher=None, lock=None,
                outputs=()):
    """A Daemon whose Graphite output sends to `sink` and, with `publisher`, whose MQTT output publishes
    through it; `outputs` are added after them."""
    from presence.clock import SystemClock
    from presence.daemon.loop import Daemon
    from presence.outputs.graphite.output import GraphiteOutput
    from presence.outputs.mqtt.output import MqttOutput

    clock = clock or SystemClock()
    made = [GraphiteOutput(config, lambda _config: sink, clock)]
    if publisher is not None:
        made.append(MqttOutput(publisher, clock))
    return Daemon(config, state, made + list(outputs), state_path, clock, notifier=notifier, lock=lock)
