"""The history output: the sessions each decision closed, to the journal; and the warning for a person's
device that seems gone for good, with what the history says of its new address."""

import logging

from presence.history.hints import new_address_hint
from presence.outputs.history.writer import HistoryWriter
from presence.state.vanished import describe, vanished_devices

log = logging.getLogger(__name__)


class HistoryOutput:
    """Closed records to `folder` in batches (see HistoryWriter); vanished devices said on scheduled ticks."""

    name = "history"

    def __init__(self, folder, clock):
        self.clock = clock
        self.writer = HistoryWriter(folder, clock.now())
        self._vanished_said = set()

    def start(self):
        """Nothing to start: the writer has no thread."""

    def emit(self, tick):
        """Hand on the closed records; on a scheduled tick, warn of newly vanished devices."""
        if tick.history:
            self.writer.write(list(tick.history), tick.at, people_macs=tick.config.mac_owner)
        if tick.scheduled:
            self._say_vanished(tick)

    def _say_vanished(self, tick):
        # Said once per device; said again only after it was seen and then vanished anew.
        found = vanished_devices(tick.state, tick.config, tick.at)
        for item in found:
            if item.mac not in self._vanished_said:
                hint = new_address_hint(self.writer.folder, tick.state, tick.config, tick.at, item.key,
                                        held=self.writer.pending)
                log.warning("%s%s", describe(item), hint)
        self._vanished_said = {item.mac for item in found}

    def problem(self):
        """What is not written and what it means, or None."""
        return self.writer.problem()

    def alive(self):
        """Always: no thread."""
        return True

    def reconfigure(self, config):
        """A reload is a moment to write what is held."""
        self.writer.flush(self.clock.now())

    def close(self, deadline):
        """Write what is held."""
        self.writer.flush(self.clock.now())
