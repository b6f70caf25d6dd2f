"""The one interface every output offers the loop, and the `Tick` each one is handed."""

from dataclasses import dataclass
from typing import Protocol

from presence.config.model import Config
from presence.state.model import Snapshot, State


@dataclass(frozen=True)
class Tick:
    """One decision of who is home, as every output gets it.

    `scheduled`: made on the aligned send interval (what Graphite records); else a decision between two
    ticks (an arrival heard at once). `transitions`: who arrived or left in this decision. `history`: the
    device sessions the state closed in it."""

    at: float
    snapshot: Snapshot
    state: State
    config: Config
    transitions: tuple = ()
    history: tuple = ()
    scheduled: bool = False


class Output(Protocol):
    """Where decisions go. No call blocks the loop for long or raises for a server that is away; a call
    that raises anyway is the output's own failure, kept from the other outputs by the loop."""

    name: str

    def start(self) -> None:
        """Begin (connect, start a thread); called once, before the first `emit`."""

    def emit(self, tick: Tick) -> None:
        """Take one decision."""

    def problem(self) -> str | None:
        """One line on what keeps this output's data from its destination (for `systemctl status`), or None."""

    def alive(self) -> bool:
        """False when a thread of the output has died (the watchdog then stops being told all is well)."""

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded config in place (SIGHUP)."""

    def close(self, deadline: float) -> None:
        """Deliver what it holds until `deadline` (the clock's monotonic time), keep the rest, and stop."""
