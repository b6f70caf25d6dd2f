"""Start the daemon (`run`, `once`): the state loaded, the parts wired from the config, the loop run until
SIGTERM, the config read again at SIGHUP."""

import logging
import signal
import threading

from presence import exits
from presence.clock import SystemClock
from presence.config.load import load_config
from presence.daemon.loop import Daemon
from presence.daemon.notify import Notifier
from presence.daemon.wiring import Wiring
from presence.state.file import load_state

log = logging.getLogger(__name__)


def run_daemon(command, config, config_path, state, dry_run, reload_requested):
    """Run `command` ("run" or "once") with the state file and its lock `state` = (path, StateLock)."""
    clock = SystemClock()
    state_path, lock = state
    loaded = load_state(state_path, clock.now())
    known_ips = {mac: device.ip for mac, device in loaded.devices.items() if device.ip}
    wiring = Wiring(state_path, clock, dry_run, known_ips)
    sources = wiring.sources(config)
    daemon = Daemon(config, loaded, wiring.outputs(config), state_path, clock,
                    notifier=Notifier() if command == "run" else None, lock=lock)
    daemon.reload_requested = reload_requested
    wiring.view = lambda: (daemon.state, daemon.config)
    if command == "once":
        daemon.once(sources)  # a failed source is logged; `once` still succeeds
        return exits.EX_OK
    stop = threading.Event()
    stop_on_signals(stop, "saving state and stopping")
    daemon.run(sources, stop, lambda: wiring.reload(daemon.config, load_config(config_path)))
    return exits.EX_OK


def reload_on(reload_requested, config_path):
    """A SIGHUP handler that asks the loop to reload `config_path`."""
    def request_reload(_signum, _frame):
        log.info("Received SIGHUP; reloading %s", config_path)
        reload_requested.set()

    return request_reload


def stop_on_signals(stop, doing="stopping"):
    """Set `stop` at SIGTERM and SIGINT, saying so."""
    def request_stop(signum, _frame):
        log.info("Received %s; %s", signal.Signals(signum).name, doing)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
