"""Command line: parse arguments, load the config once, and hand over to the right command."""

import argparse
import logging
import os
import signal
import sys
import threading

from presence.config import defaults
from presence.commands.check import run_check
from presence import exits
from presence.config.model import ConfigError
from presence.outputs.mqtt.topics import own_entities_mapped, own_output
from presence.config.secrets import read_mqtt_password, read_token
from presence.config.load import default_config_path, load_config
from presence.commands.discover import run_discover, run_discover_homeassistant, run_watch
from presence.sources.homeassistant import HomeAssistantSource, loop_problem
from presence.logs import setup_logging
from presence.clock import SystemClock
from presence.daemon.loop import Daemon, Setup
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.mqtt.publisher import MqttPublisher, PrintingPublisher
from presence.outputs.graphite.spool import Spool
from presence.outputs.printing.stdout import StdoutSink
from presence.state.folder import StateDirError, StateLock, StateLocked, check_state_path, remove_stale_temp_files
from presence.state.machine import reprobe_targets
from presence.state.file import load_state, peek_state
from presence.commands.stats import run_stats
from presence.commands.suggest import run_suggest
from presence.outputs.history.writer import HistoryWriter
from presence.sources.network_interfaces import ScanError
from presence.daemon.notify import Notifier
from presence.sources.listener import WifiListener
from presence.sources.wifi import WifiSource

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error's exit status from the program's table rather than argparse's 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(exits.EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(
        prog="presence_to_graphite.py",
        description="Tell who of a household is home (WiFi ARP sweep + Home Assistant) and send it to Graphite.")
    parser.add_argument("--config", help=f"YAML config (default: ${defaults.CONFIG_ENV_VAR} or "
                                         f"{defaults.DEFAULT_CONFIG_PATH})")
    parser.add_argument("--state", help="state file (default: state_file from the config)")
    parser.add_argument("--log-level", default=defaults.DEFAULT_LOG_LEVEL, type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help=f"default: {defaults.DEFAULT_LOG_LEVEL}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in (("run", "run the daemon loop (default)"),
                       ("once", "one full cycle: scan, poll, update state, send one set of metrics")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--dry-run", action="store_true",
                             help="print the Graphite lines (and with an mqtt section, the MQTT messages) to stdout "
                                  "instead of sending them")
    discover = commands.add_parser("discover", help="list devices on the LAN that no person claims",
                                   description="Sweep the LAN and list unmapped, non-ignored devices.")
    output = discover.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON (with --watch: one object per line)")
    output.add_argument("--yaml", action="store_true", help="print a `people:` snippet to paste into the config")
    discover.add_argument("--watch", action="store_true",
                          help="keep sweeping; print devices as they appear and vanish (Ctrl-C to stop)")
    discover.add_argument("--homeassistant", action="store_true",
                          help="list Home Assistant's person.* and device_tracker.* entities instead")
    suggest = commands.add_parser(
        "suggest", help="whose each unmapped device is, from the history (start here to map devices)",
        description="Hold each unmapped device's comings and goings against each person's (Home Assistant, "
                    "their other devices) and name whose it is, with the evidence.")
    suggest_output = suggest.add_mutually_exclusive_group()
    suggest_output.add_argument("--json", action="store_true", help="print JSON, best first")
    suggest_output.add_argument("--yaml", action="store_true", help="print the `macs:` entries to paste")
    suggest.add_argument("--threshold", type=_share, default=defaults.SUGGEST_THRESHOLD, metavar="0..1",
                         help=f"the confidence that names a person (default {defaults.SUGGEST_THRESHOLD})")
    stats = commands.add_parser("stats", help="silence gaps per device, to choose a grace period",
                                description="Show each mapped device's silences while its person was home.")
    stats.add_argument("--json", action="store_true", help="print JSON")
    _add_report(commands)
    commands.add_parser("check", help="validate the config and try every endpoint; non-zero exit on failure",
                        description="Validate the config and try the raw socket, Home Assistant and Graphite.")
    return parser


def _add_report(commands):
    report = commands.add_parser(
        "report", help="what the home uses when nobody is there: occupancy against electricity, from Graphite",
        description="Read presence and the household's electricity from Graphite's render API and report "
                    "energy while empty vs occupied, the idle load, each person's extra power and the "
                    "hour-of-day profile.")
    report.add_argument("--from", dest="from_", default=defaults.DEFAULT_REPORT_FROM, metavar="WHEN",
                        help="start: -7d, -12h, -30min, -2w, -1y, a date (2026-03-29) or date-time, "
                             f"on the household's clock (default: {defaults.DEFAULT_REPORT_FROM})")
    report.add_argument("--until", default=defaults.DEFAULT_REPORT_UNTIL, metavar="WHEN",
                        help=f"end, same forms (default: {defaults.DEFAULT_REPORT_UNTIL})")
    report.add_argument("--render-url", help="graphite-web's address (default: report.render_url, "
                                             "else graphite.render_url)")
    electricity = report.add_mutually_exclusive_group()
    electricity.add_argument("--power", metavar="METRIC", help="household power in watts (default: report.power)")
    electricity.add_argument("--energy-counter", metavar="METRIC",
                             help="cumulative energy meter reading in report.energy_unit (default: "
                                  "report.energy_counter)")
    report.add_argument("--json", action="store_true", help="print JSON")
    report.add_argument("--png", metavar="FILE", help="also draw a figure (needs matplotlib)")


def main(argv=None):
    args = build_parser().parse_args(_join_dash_values(sys.argv[1:] if argv is None else list(argv)))
    command = args.command or "run"
    setup_logging(args.log_level)
    config_path = args.config or default_config_path()
    reload_requested = threading.Event()
    if command == "run":
        # From the start: SIGHUP's default would end the daemon, and systemd takes that as a clean stop.
        signal.signal(signal.SIGHUP, _reload_on(reload_requested, config_path))
    try:
        config = load_config(config_path)
        token = password = None
        if config.homeassistant and command in ("run", "once"):
            token = read_token(config.homeassistant, config.path)
        if config.mqtt and command in ("run", "once") and not args.dry_run:
            password = read_mqtt_password(config.mqtt, config.path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return exits.EX_CONFIG
    if command == "check":
        state_path = args.state or config.state_file
        return run_check(config, sys.stdout, state_path, beside_state(state_path, defaults.HISTORY_FOLDER),
                         SystemClock().now())
    if command == "report":
        # Imported here: the daemon never needs the report's modules (about 23 ms at start-up).
        from presence.report.command import run_report

        return run_report(config, args, SystemClock().now(), sys.stdout)
    state_path = args.state or config.state_file
    if command == "stats":
        return run_stats(config, peek_state(state_path), sys.stdout, args.json)
    if command == "suggest":
        token = _optional_token(config)
        return run_suggest(config, token, peek_state(state_path), beside_state(state_path, defaults.HISTORY_FOLDER),
                           SystemClock().now(), args, sys.stdout)
    if command == "discover":
        return discover(config, peek_state(state_path), args)
    where = "--state" if args.state else f"{config.path}: state_file"
    try:
        check_state_path(state_path, where, config.path)
        lock = StateLock(state_path).acquire()
    except StateDirError as error:
        print(f"presence: {error}", file=sys.stderr)
        return exits.EX_TEMPFAIL if isinstance(error, StateLocked) else exits.EX_CONFIG
    try:
        remove_stale_temp_files(state_path)
        return run_daemon(command, config, config_path, (token, password), (state_path, lock), args.dry_run,
                          reload_requested)
    except ConfigError as error:  # mqtt.ca_file, found unusable when the publisher is made
        print(error, file=sys.stderr)
        return exits.EX_CONFIG
    finally:
        lock.release()


def run_daemon(command, config, config_path, secrets, state, dry_run, reload_requested):
    clock = SystemClock()
    token, password = secrets
    state_path, lock = state
    # The sources that guard against loops through our own trackers, asked again when Home Assistant
    # announces itself (a restarted one may have renamed or remade them).
    guards = []

    def on_birth():
        for source in list(guards):
            source.recheck_own()

    publisher = make_publisher(config, dry_run, password, on_birth)
    say_loops(config)
    state = load_state(state_path, clock.now())
    history = HistoryWriter(beside_state(state_path, defaults.HISTORY_FOLDER), clock.now())
    daemon = Daemon(config, state, make_sink(config, dry_run, state_path), state_path, clock,
                    notifier=Notifier() if command == "run" else None, history=history,
                    publisher=publisher and publisher.start(), lock=lock)
    daemon.reload_requested = reload_requested
    known_ips = {mac: device.ip for mac, device in state.devices.items() if device.ip}
    sources = make_sources(config, token, known_ips, daemon)
    guards[:] = _loop_guards(sources)
    if command == "once":
        daemon.once([source for source, _ in sources])  # a failed source is logged; `once` still succeeds
        return exits.EX_OK

    def reload():
        new = load_config(config_path)
        new_token = read_token(new.homeassistant, new.path) if new.homeassistant else None
        if new.state_file != config.state_file:
            log.warning("Reload: state_file is now %s, but the daemon keeps %s until it restarts",
                        new.state_file, state_path)
        say_loops(new)
        changed = new.graphite != daemon.config.graphite
        publisher = None
        if new.mqtt != daemon.config.mqtt:
            # Made now, so that a bad mqtt section refuses the reload; started once the old one is closed.
            new_password = read_mqtt_password(new.mqtt, new.path) if new.mqtt and not dry_run else None
            publisher = make_publisher(new, dry_run, new_password, on_birth) or _NoPublisher()
        new_sources = make_sources(new, new_token, known_ips, daemon)
        guards[:] = _loop_guards(new_sources)
        return Setup(new, new_sources, make_listeners(new, known_ips),
                     make_sink=(lambda: make_sink(new, dry_run, state_path)) if changed else None,
                     make_publisher=publisher and publisher.start)

    return run_forever(daemon, sources, make_listeners(config, known_ips), reload)


def say_loops(config):
    """Warn, from the config alone, of entities mapped to people that this daemon publishes itself."""
    for path, entity in own_entities_mapped(config):
        log.warning("%s: %s", path, loop_problem(entity, entity))


def make_publisher(config, dry_run, password, on_birth=None):
    """None without an mqtt section; the printer for `--dry-run`; else the MQTT publisher, not yet started,
    calling `on_birth()` whenever Home Assistant announces itself."""
    if config.mqtt is None:
        return None
    if dry_run:
        return PrintingPublisher(config, sys.stdout)
    return MqttPublisher(config, password, on_birth=on_birth)


def _loop_guards(sources):
    return [source for source, _ in sources if isinstance(source, HomeAssistantSource)]


class _NoPublisher:
    """What replaces the publisher when a reload removes the mqtt section."""

    def start(self):
        return None


def discover(config, state, args):
    if args.homeassistant:
        return discover_homeassistant(config, args.json)
    if args.yaml and args.watch:
        log.error("discover: --yaml prints a snapshot; use it without --watch")
        return exits.EX_USAGE
    try:
        if args.watch:
            stop = threading.Event()
            _stop_on_signals(stop)
            return run_watch(config, state, sys.stdout, stop, as_json=args.json)
        return run_discover(config, state, sys.stdout, as_json=args.json, as_yaml=args.yaml)
    except (ScanError, OSError) as error:
        log.error("discover: %s", error)
        return exits.EX_FAILURE


def discover_homeassistant(config, as_json):
    """List the entities a person can be mapped to, with what they read now."""
    return run_discover_homeassistant(config, sys.stdout, as_json)


def make_sink(config, dry_run, state_path):
    """Stdout for `--dry-run` or without graphite.host; else the sender, spooling beside the state file."""
    graphite = config.graphite
    if dry_run or not graphite.host:
        return StdoutSink()
    folder = beside_state(state_path, defaults.SPOOL_FOLDER)
    spool = Spool(folder, max_bytes=int(graphite.spool_max_mb * 1_000_000))
    return GraphiteSender(graphite.host, graphite.port, spool=spool)


def _optional_token(config):
    """The token for Home Assistant's recorder history, when there is one: `suggest` also works without."""
    if not config.homeassistant:
        return None
    try:
        return read_token(config.homeassistant, config.path)
    except ConfigError as error:
        log.warning("Home Assistant's history is not read: %s", str(error).splitlines()[-1].strip())
        return None


def beside_state(state_path, name):
    """A folder next to the state file (the spool, the history): the same place the service may write."""
    return os.path.join(os.path.dirname(os.path.abspath(state_path)), name)


def _share(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


def make_listeners(config, known_ips):
    """The passive listeners: people's devices are reported at once, others in batches."""
    return [WifiListener(config.network, known_ips, urgent=frozenset(config.mac_owner))]


def make_sources(config, token, known_ips, daemon):
    """Return [(source, interval)]: WiFi always, Home Assistant when configured and mapped."""
    # Read at each sweep, from the source's thread: the state and config are replaced, never changed.
    wifi = WifiSource(config.network, reprobe=lambda: reprobe_targets(daemon.state, daemon.config),
                      known_ips=known_ips, knock=config.wifi.wake_knock)
    sources = [(wifi, config.wifi.scan_interval)]
    entities = [e for person in config.people for e in person.homeassistant_entities]
    if config.homeassistant and entities:
        sources.append((HomeAssistantSource(config.homeassistant, dict.fromkeys(entities), token,
                                            own=own_output(config)),
                        config.homeassistant.poll_interval))
    return sources


def run_forever(daemon, sources, listeners, reload):
    stop = threading.Event()
    _stop_on_signals(stop, "saving state and stopping")
    daemon.run(sources, stop, listeners, reload)
    return exits.EX_OK


def _reload_on(reload_requested, config_path):
    def request_reload(_signum, _frame):
        log.info("Received SIGHUP; reloading %s", config_path)
        reload_requested.set()

    return request_reload


def _join_dash_values(argv):
    """`--from -30d` as `--from=-30d`: argparse would take a value that starts with `-` for an option."""
    joined, index = [], 0
    while index < len(argv):
        if argv[index] in ("--from", "--until") and index + 1 < len(argv) and argv[index + 1].startswith("-") \
                and argv[index + 1][1:2].isdigit():
            joined.append(f"{argv[index]}={argv[index + 1]}")
            index += 2
            continue
        joined.append(argv[index])
        index += 1
    return joined


def _stop_on_signals(stop, doing="stopping"):
    def request_stop(signum, _frame):
        log.info("Received %s; %s", signal.Signals(signum).name, doing)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
