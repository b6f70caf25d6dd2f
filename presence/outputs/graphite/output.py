"""The Graphite output: on each scheduled tick, the metric lines under the prefix, handed to a transport
(the sender, or stdout without graphite.host); transitions between ticks go with the next one."""

from typing import Protocol

from graphite_helper import build_message
from presence.config import defaults
from presence.metrics import event_values, metric_values


class Transport(Protocol):
    """Takes one tick's lines and never blocks the loop: the sender (presence.outputs.graphite.sender), or
    stdout without graphite.host."""

    def send(self, message: bytes) -> None:
        """Hand over one tick's lines."""

    def close(self, timeout: float = None) -> None:
        """Deliver what it holds within `timeout`, keep the rest, stop."""

    def alive(self) -> bool:
        """False when its thread died."""

    def problem(self) -> str | None:
        """Why data waits, or None."""


class GraphiteOutput:
    """Graphite's lines for each scheduled tick; `make_transport(config)` builds what sends them (again
    when a reload changes the graphite section)."""

    name = "Graphite"

    def __init__(self, config, make_transport, clock):
        self.config, self.clock = config, clock
        self._make_transport = make_transport
        self.transport = make_transport(config)
        self._transitions = []  # since the last scheduled tick: its `events.*` lines

    def start(self):
        """Nothing to start: the sender's thread runs from its making."""

    def emit(self, tick):
        """Keep the transitions; on a scheduled tick, send every metric and the transitions since the last."""
        self._transitions += tick.transitions
        if not tick.scheduled:
            return
        values = metric_values(tick.snapshot) + event_values(self._transitions)
        self._transitions = []
        self.transport.send(build_message(tick.config.graphite.prefix, values, tick.at))

    def problem(self):
        """What keeps the metrics from Graphite, or None."""
        return self.transport.problem()

    def alive(self):
        """Whether the sender's thread lives."""
        return self.transport.alive()

    def reconfigure(self, config):
        """A new transport when the graphite section changed; the old one spools what it could not deliver
        before the new one reads the spool."""
        if config.graphite != self.config.graphite:
            self.transport.close(timeout=defaults.SHUTDOWN_DEADLINE)
            self.transport = self._make_transport(config)
        self.config = config

    def close(self, deadline):
        """Deliver until `deadline`, spool the rest."""
        self.transport.close(timeout=max(0.1, deadline - self.clock.monotonic()))
