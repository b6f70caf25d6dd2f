"""Command line: parse arguments, load the config once, and hand over to the right command."""

import argparse
import logging
import signal
import sys
import threading

from graphite_helper import GraphiteSender, StdoutSink
from presence import defaults
from presence.check import run_check
from presence.config import ConfigError, default_config_path, load_config
from presence.discover import run_discover
from presence.homeassistant_api import HomeAssistantSource, read_token
from presence.logs import setup_logging
from presence.loop import Daemon, SystemClock, poll_safely
from presence.metrics import tick_time
from presence.state_file import load_state
from presence.wifi_scan import ScanError, WifiSource

log = logging.getLogger("presence")

COMMANDS = ("run", "once", "discover", "check")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="presence_to_graphite.py",
        description="Tell who of a household is home (WiFi ARP sweep + Home Assistant) and send it to Graphite.")
    parser.add_argument("--config", help=f"YAML config (default: ${defaults.CONFIG_ENV_VAR} or "
                                         f"{defaults.DEFAULT_CONFIG_PATH})")
    parser.add_argument("--state", help="state file (default: state_file from the config)")
    parser.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: INFO")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in (("run", "run the daemon loop (default)"),
                       ("once", "one full cycle: scan, poll, update state, send one set of metrics")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--dry-run", action="store_true",
                             help="print the Graphite lines to stdout instead of sending them")
    discover = commands.add_parser("discover", help="list devices on the LAN that no person claims",
                                   description="Sweep the LAN once and list unmapped, non-ignored devices.")
    discover.add_argument("--json", action="store_true", help="print a JSON list")
    commands.add_parser("check", help="validate the config and try every endpoint; non-zero exit on failure",
                        description="Validate the config and try the raw socket, Home Assistant and Graphite.")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    setup_logging(args.log_level)
    config_path = args.config or default_config_path()
    try:
        config = load_config(config_path)
        token = None
        if config.homeassistant and command in ("run", "once"):
            token = read_token(config.homeassistant, config.path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return defaults.EX_CONFIG
    if command == "check":
        return run_check(config, sys.stdout)
    if command == "discover":
        try:
            return run_discover(config, args.json, sys.stdout)
        except (ScanError, OSError) as error:
            log.error("discover: %s", error)
            return 1
    state_path = args.state or config.state_file
    clock = SystemClock()
    daemon = Daemon(config, load_state(state_path, clock.now()), make_sink(config, args.dry_run), state_path, clock)
    sources = make_sources(config, token)
    if command == "once":
        return run_once(daemon, [source for source, _ in sources], clock)
    return run_forever(daemon, sources)


def make_sink(config, dry_run):
    graphite = config.graphite
    if dry_run or not graphite.host:
        return StdoutSink()
    return GraphiteSender(graphite.host, graphite.port, connect_timeout=defaults.GRAPHITE_CONNECT_TIMEOUT,
                          send_timeout=defaults.GRAPHITE_SEND_TIMEOUT, max_pending=defaults.GRAPHITE_MAX_PENDING,
                          max_backoff=defaults.GRAPHITE_MAX_BACKOFF)


def make_sources(config, token):
    """Return [(source, interval)]: WiFi always, Home Assistant when configured and mapped."""
    sources = [(WifiSource(config.network), config.wifi.scan_interval)]
    entities = [e for person in config.people for e in person.homeassistant_entities]
    if config.homeassistant and entities:
        sources.append((HomeAssistantSource(config.homeassistant, dict.fromkeys(entities), token),
                        config.homeassistant.poll_interval))
    return sources


def run_once(daemon, sources, clock):
    """Poll every source once, then tick once; exit 0 even when a source failed (it is logged)."""
    for source in sources:
        daemon.ingest(poll_safely(source, clock.now()))
        close = getattr(source, "close", None)
        if close:
            close()
    daemon.tick(tick_time(clock.now(), daemon.config.graphite.send_interval))
    daemon.sink.close()
    return 0


def run_forever(daemon, sources):
    stop = threading.Event()

    def request_stop(signum, _frame):
        log.info("Received %s; saving state and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    daemon.run(sources, stop)
    return 0
