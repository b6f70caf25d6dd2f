"""Command line: parse arguments, load the config once, and hand over to the right command."""

import logging
import os
import signal
import sys
import threading

from presence import exits
from presence.clock import SystemClock
from presence.config import defaults
from presence.config.load import default_config_path, load_config
from presence.config.model import ConfigError
from presence.arguments import build_parser, join_dash_values
from presence.logs import setup_logging

log = logging.getLogger(__name__)


def main(argv=None):
    """Parse the command line and run the command; return its exit status."""
    args = build_parser().parse_args(join_dash_values(sys.argv[1:] if argv is None else list(argv)))
    command = args.command or "run"
    setup_logging(args.log_level)
    config_path = args.config or default_config_path()
    reload_requested = threading.Event()
    if command == "run":
        from presence.daemon.start import reload_on

        # From the start: SIGHUP's default would end the daemon, and systemd takes that as a clean stop.
        signal.signal(signal.SIGHUP, reload_on(reload_requested, config_path))
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return exits.EX_CONFIG
    # Each command's modules are imported only for it: the daemon never loads the others'.
    state_path = args.state or config.state_file
    if command == "check":
        from presence.commands.check import run_check

        return run_check(config, sys.stdout, state_path, beside_state(state_path, defaults.HISTORY_FOLDER),
                         SystemClock().now())
    if command == "report" and getattr(args, "homes", None) is not None:
        from presence.report.homes.command import run_homes

        return run_homes(config, args, SystemClock().now(), sys.stdout)
    if command == "report":
        from presence.report.command import run_report

        return run_report(config, args, SystemClock().now(), sys.stdout)
    if command in ("stats", "suggest", "discover"):
        return _inspect(command, config, state_path, args)
    return _run(command, config, config_path, args, reload_requested)


def _inspect(command, config, state_path, args):
    """The commands that read the state without running the daemon."""
    from presence.state.file import peek_state

    state = peek_state(state_path)
    if command == "stats":
        from presence.commands.stats import run_stats

        return run_stats(config, state, sys.stdout, args.json)
    if command == "suggest":
        from presence.commands.suggest import run_suggest

        return run_suggest(config, _optional_token(config), state, beside_state(state_path, defaults.HISTORY_FOLDER),
                           SystemClock().now(), args, sys.stdout)
    return discover(config, state, args)


def _run(command, config, config_path, args, reload_requested):
    """`run` and `once`: the state folder checked and locked, then the daemon."""
    from presence.daemon.start import run_daemon
    from presence.state.folder import StateDirError, StateLock, StateLocked, check_state_path, remove_stale_temp_files

    state_path = args.state or config.state_file
    where = "--state" if args.state else f"{config.path}: state_file"
    try:
        check_state_path(state_path, where, config.path)
        lock = StateLock(state_path).acquire()
    except StateDirError as error:
        print(f"presence: {error}", file=sys.stderr)
        return exits.EX_TEMPFAIL if isinstance(error, StateLocked) else exits.EX_CONFIG
    try:
        remove_stale_temp_files(state_path)
        return run_daemon(command, config, config_path, (state_path, lock), args.dry_run, reload_requested)
    except ConfigError as error:  # a secret or mqtt.ca_file, found unusable when the parts are made
        print(error, file=sys.stderr)
        return exits.EX_CONFIG
    finally:
        lock.release()


def discover(config, state, args):
    """`discover`: the LAN's unmapped devices (or Home Assistant's entities), once or watching."""
    from presence.commands.discover import run_discover, run_discover_homeassistant, run_watch
    from presence.sources.network_interfaces import ScanError

    if args.homeassistant:
        return run_discover_homeassistant(config, sys.stdout, args.json)
    if args.yaml and args.watch:
        log.error("discover: --yaml prints a snapshot; use it without --watch")
        return exits.EX_USAGE
    try:
        if args.watch:
            from presence.daemon.start import stop_on_signals

            stop = threading.Event()
            stop_on_signals(stop)
            return run_watch(config, state, sys.stdout, stop, as_json=args.json)
        return run_discover(config, state, sys.stdout, as_json=args.json, as_yaml=args.yaml)
    except (ScanError, OSError) as error:
        log.error("discover: %s", error)
        return exits.EX_FAILURE


def _optional_token(config):
    """The token for Home Assistant's recorder history, when there is one: `suggest` also works without."""
    from presence.config.secrets import read_token

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
