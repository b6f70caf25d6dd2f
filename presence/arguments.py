"""The command line's grammar: every command and option, with its help."""

import argparse
import sys

from presence import exits
from presence.config import defaults


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error's exit status from the program's table rather than argparse's 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(exits.EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser():
    """The parser of every command and option."""
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
    electricity.add_argument("--power", metavar="METRIC", help="household power in watts (default: report.power); "
                                                              "with --homes, {home} stands for each home's name")
    electricity.add_argument("--energy-counter", metavar="METRIC",
                             help="cumulative energy meter reading in report.energy_unit (default: "
                                  "report.energy_counter)")
    report.add_argument("--homes", metavar="PATTERN",
                        help="report every home of a study: a Graphite glob over the prefixes before .presence "
                             "(e.g. study.*), each home's name being what its wildcards matched; then the study's "
                             "summary")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--csv", action="store_true", help="with --homes: print CSV, one row a home")
    report.add_argument("--png", metavar="FILE", help="also draw a figure (needs matplotlib)")

    def amount(text):
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not 0 < value <= defaults.MAX_PRICE:  # also refuses nan and inf
            raise argparse.ArgumentTypeError(f"{text!r} is not what a kWh costs: a number more than 0 and at most "
                                             f"{defaults.MAX_PRICE:.0f}")
        return value

    def currency(text):
        if not text.strip() or text != text.strip() or not text.isprintable() \
                or len(text) > defaults.MAX_CURRENCY_LENGTH:
            raise argparse.ArgumentTypeError(f"{text!r} is not a currency to show after amounts, e.g. EUR, € or "
                                             f"kr: 1 to {defaults.MAX_CURRENCY_LENGTH} printable characters")
        return text

    report.add_argument("--price", type=amount, metavar="AMOUNT",
                        help="what one kWh costs, flat, for this run (default: report.tariff, else report.price)")
    report.add_argument("--currency", type=currency, metavar="TEXT",
                        help="shown after amounts, e.g. EUR, € or kr (default: report.currency)")


def _share(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


def join_dash_values(argv):
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
