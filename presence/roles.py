"""The narrow interfaces between the parts: what a source, a listener, a sink, a publisher and a clock must offer."""

import queue
import threading
from typing import Callable, Protocol

from presence.observations import SourceReport


class PolledSource(Protocol):
    """Asked on its interval: returns what it saw by `now`. Never raises on a failed poll."""

    name: str

    def poll(self, now: float) -> SourceReport: ...

    def close(self) -> None: ...


class Listener(Protocol):
    """Runs until `stop` is set, handing each report to `emit`; `now()` is the time to stamp them with."""

    name: str

    def run(self, emit: Callable[[SourceReport], None], stop: threading.Event, now: Callable[[], float]) -> None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    """Takes one tick's metric lines; never blocks the loop. `problem()` says why data waits, if it does."""

    def send(self, message: bytes) -> None: ...

    def close(self, timeout: float = None) -> None: ...

    def alive(self) -> bool: ...

    def problem(self) -> str | None: ...


class Publisher(Protocol):
    """Told every decision at once (Home Assistant over MQTT); never blocks the loop, never raises for a
    broker that is away."""

    def publish(self, snapshot, state) -> None: ...

    def reconfigure(self, config) -> None: ...

    def settle(self, timeout: float) -> None: ...

    def close(self, timeout: float = None) -> None: ...

    def alive(self) -> bool: ...

    def problem(self) -> str | None: ...


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
