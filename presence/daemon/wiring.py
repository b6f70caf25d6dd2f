"""From the config to the running parts: the registry of sources and outputs, built at the start and
again at each reload. The loop knows only the `Source` and `Output` interfaces; this is the one place
that knows their kinds."""

import logging
import os
import sys
from dataclasses import dataclass
from typing import Callable

from presence.config import defaults
from presence.config.secrets import read_mqtt_password, read_token
from presence.daemon.loop import Setup
from presence.outputs.base import Output
from presence.outputs.graphite.output import GraphiteOutput
from presence.outputs.history.output import HistoryOutput
from presence.outputs.mqtt.output import MqttOutput
from presence.outputs.mqtt.topics import own_entities_mapped, own_output
from presence.sources.base import Every
from presence.sources.listener import WifiListener
from presence.sources.loop_guard import loop_problem
from presence.sources.wifi import WifiSource
from presence.state.machine import reprobe_targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One kind of output: `make(config, wiring)` builds it (None: not configured). At a reload, a change of
    `settings(config)` makes a new one; otherwise the running one takes the new config in place."""

    name: str
    make: Callable[[object, "Wiring"], Output | None]
    settings: Callable[[object], object] = lambda config: None


def _graphite(config, wiring):
    return GraphiteOutput(config, wiring.graphite_transport, wiring.clock)


def _graphite_printed(config, wiring):
    from presence.outputs.printing.stdout import StdoutSink

    return GraphiteOutput(config, lambda _config: StdoutSink(), wiring.clock)


def _mqtt(config, wiring):
    if config.mqtt is None:
        return None
    # Imported only with an mqtt section: paho and its TLS cost the daemon memory otherwise unused.
    from presence.outputs.mqtt.publisher import MqttPublisher

    password = read_mqtt_password(config.mqtt, config.path)
    return MqttOutput(MqttPublisher(config, password, clock=wiring.clock, on_birth=wiring.on_birth), wiring.clock)


def _mqtt_printed(config, wiring):
    if config.mqtt is None:
        return None
    from presence.outputs.mqtt.wanted import PrintingPublisher

    return MqttOutput(PrintingPublisher(config, sys.stdout), wiring.clock)


def _history(_config, wiring):
    return HistoryOutput(wiring.beside_state(defaults.HISTORY_FOLDER), wiring.clock)


def _mqtt_settings(config):
    return config.mqtt


# The outputs, in the order each decision reaches them; `--dry-run` prints instead of sending.
OUTPUTS = [Entry("Graphite", _graphite), Entry("MQTT", _mqtt, _mqtt_settings), Entry("history", _history)]
DRY_RUN_OUTPUTS = [Entry("Graphite", _graphite_printed), Entry("MQTT", _mqtt_printed, _mqtt_settings),
                   Entry("history", _history)]


class Wiring:
    """Builds the sources and outputs for a config; `view()` returns the running (state, config), which the
    WiFi source reads at each sweep for the devices to probe again."""

    def __init__(self, state_path, clock, dry_run=False, known_ips=None):
        self.state_path, self.clock = state_path, clock
        self.registry = DRY_RUN_OUTPUTS if dry_run else OUTPUTS
        self.known_ips = known_ips if known_ips is not None else {}
        self.view = None
        # The sources that guard against loops through our own trackers, asked again when Home Assistant
        # announces itself (a restarted one may have renamed or remade them).
        self._guards = []

    def beside_state(self, name):
        """A folder next to the state file (the spool, the history): the same place the service may write."""
        return os.path.join(os.path.dirname(os.path.abspath(self.state_path)), name)

    def on_birth(self):
        """Home Assistant announced itself: the loop guards look at its trackers again."""
        for source in list(self._guards):
            source.recheck_own()

    def graphite_transport(self, config):
        """Stdout without graphite.host; else the sender, spooling beside the state file."""
        graphite = config.graphite
        if not graphite.host:
            from presence.outputs.printing.stdout import StdoutSink

            return StdoutSink()
        from presence.outputs.graphite.sender import GraphiteSender
        from presence.outputs.graphite.spool import Spool

        tls = None
        if graphite.tls is not None:
            from presence.outputs.graphite.tls import TlsClient

            tls = TlsClient(graphite.tls, graphite.host, config.path)
        spool = Spool(self.beside_state(defaults.SPOOL_FOLDER), max_bytes=int(graphite.spool_max_mb * 1_000_000))
        return GraphiteSender(graphite.host, graphite.port, spool=spool, clock=self.clock, tls=tls)

    def outputs(self, config):
        """Every configured output, not yet started; none left running when one cannot be made."""
        made = []
        try:
            for entry in self.registry:
                if (output := entry.make(config, self)) is not None:
                    made.append(output)
        except Exception:
            for output in made:
                output.close(self.clock.monotonic())
            raise
        return made

    def sources(self, config):
        """The WiFi sweep and the passive listener always; Home Assistant when configured and mapped."""
        say_loops(config)
        # Read at each sweep, from the source's thread: the state and config are replaced, never changed.
        wifi = WifiSource(config.network, reprobe=lambda: reprobe_targets(*self.view()), known_ips=self.known_ips,
                          knock=config.wifi.wake_knock)
        sources = [Every(wifi, config.wifi.scan_interval),
                   WifiListener(config.network, self.known_ips, urgent=frozenset(config.mac_owner))]
        entities = [e for person in config.people for e in person.homeassistant_entities]
        guards = []
        token = read_token(config.homeassistant, config.path) if config.homeassistant else None
        if config.homeassistant and entities:
            # Imported only when used: its HTTP client and TLS cost the daemon memory otherwise unused.
            from presence.sources.homeassistant import HomeAssistantSource

            guards.append(HomeAssistantSource(config.homeassistant, dict.fromkeys(entities), token,
                                              own=own_output(config)))
            sources.append(Every(guards[-1], config.homeassistant.poll_interval))
        self._guards = guards
        return sources

    def reload(self, running, new):
        """The `Setup` for a reload from config `running` to config `new`; raises ConfigError (a bad secret,
        an unusable mqtt.ca_file or graphite.tls file) before anything changes."""
        if new.graphite.tls is not None and new.graphite != running.graphite:
            from presence.outputs.graphite.tls import client_context

            client_context(new.graphite.tls, new.path)  # the Graphite output remakes its sender in place
        if new.state_file != running.state_file:
            log.warning("Reload: state_file is now %s, but the daemon keeps %s until it restarts",
                        new.state_file, self.state_path)
        replaced = {entry.name: entry.make(new, self) for entry in self.registry
                    if entry.settings(new) != entry.settings(running)}
        return Setup(new, self.sources(new), replaced)


def say_loops(config):
    """Warn, from the config alone, of entities mapped to people that this daemon publishes itself."""
    for path, entity in own_entities_mapped(config):
        log.warning("%s: %s", path, loop_problem(entity, entity))
