"""`report`: read presence and electricity back from Graphite and say what the home uses when empty."""

import logging
import os
import re
import time
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as date_parser

from presence import exits
from presence.config import defaults, report_defaults
from presence.report.analysis import analyse
from presence.report.fetch import FetchError, fetch_all
from presence.report.output import as_json, as_table
from presence.report.series import common_grid, counter_power, has_data, on_grid

log = logging.getLogger(__name__)

_RELATIVE = re.compile(r"-(\d+)(s|min|h|d|w|mon|y)")
_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mon": 30 * 86400, "y": 365 * 86400}


class ReportError(Exception):
    """The report cannot be made; `status` is the exit status."""

    def __init__(self, message, status=exits.EX_FAILURE):
        super().__init__(message)
        self.status = status


def parse_when(text, now, tz):
    """`now`, Graphite-style `-7d` / `-12h` / `-30min` / `-2w` / `-1y`, epoch seconds, or a date or
    date-time (`2026-03-29`, `2026-03-29 18:00`) on the household's clock. Returns epoch seconds."""
    text = text.strip()
    if text == "now":
        return int(now)
    match = _RELATIVE.fullmatch(text)
    if match:
        return int(now) - int(match.group(1)) * _SECONDS[match.group(2)]
    if text.isdigit():
        return int(text)
    try:
        moment = date_parser.isoparse(text)
    except ValueError:
        raise ReportError(f"cannot read the time {text!r}: use now, -7d, -12h, -30min, -2w, -1y, "
                          "a date such as 2026-03-29, or 2026-03-29T18:00", exits.EX_USAGE) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp())


def household_zone(name=None, environ=os.environ):
    """The configured zone, else the system's ($TZ, then /etc/localtime), else UTC."""
    for candidate in (name, environ.get("TZ", "").lstrip(":") or None):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("Unknown time zone %r; ignoring it", candidate)
    try:
        link = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in link:
            return ZoneInfo(link.split("/zoneinfo/", 1)[1])
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return ZoneInfo("UTC")


def electricity_metric(config, power=None, energy_counter=None):
    """(the electricity's metric, whether it is a counter, the option or key that named it)."""
    report = config.report
    for metric, is_counter, flag in ((energy_counter, True, "--energy-counter"), (power, False, "--power"),
                                     (report.energy_counter, True, "report.energy_counter"),
                                     (report.power, False, "report.power")):
        if metric:
            return metric, is_counter, flag
    raise ReportError("report needs the household's electricity: set report.power (watts) or "
                      "report.energy_counter in the config, or pass --power / --energy-counter", exits.EX_CONFIG)


def report_targets(config, power=None, energy_counter=None):
    """`{name: (target, keep_last)}` for the render API, and whether electricity is a counter."""
    electricity, is_counter, flag = electricity_metric(config, power, energy_counter)
    if "{home}" in electricity:
        raise ReportError(f"{flag} {electricity!r} has {{home}}, which stands for each home of --homes: pass "
                          "--homes PATTERN, or name this home's metric", exits.EX_USAGE)
    prefix = config.graphite.prefix
    targets = {"electricity": (electricity, is_counter), "anyone_home": (f"{prefix}.anyone_home", False)}
    targets.update({f"person:{p.key}": (f"{prefix}.{p.key}.is_home", False) for p in config.people})
    return targets, is_counter


def report_pricing(config, args):
    """The run's prices (--price over report.tariff over report.price), or None; raises ReportError."""
    from presence.report.money import pricing

    try:
        return pricing(config.report, getattr(args, "price", None), getattr(args, "currency", None))
    except ValueError as error:
        raise ReportError(str(error), exits.EX_CONFIG) from None


def build_report(config, series, start, end, tz, is_counter, pricing=None, insight=True):
    """Series from the render API into the report's figures (pure: no I/O, no clock)."""
    for name, flag in (("electricity", "--energy-counter" if is_counter else "--power"),
                       ("anyone_home", "graphite.prefix")):
        if not has_data(series[name].values):
            raise ReportError(f"Graphite has no data for {series[name].target!r} in this period: check the "
                              f"metric name ({flag}) and the period")
    grid = common_grid(series.values(), start, end, report_defaults.REPORT_MIN_STEP)
    electricity = series["electricity"]
    counter = None
    if is_counter:
        watts, in_gaps_wh, resets = counter_power(electricity.values, electricity.step,
                                                  defaults.ENERGY_UNITS[config.report.energy_unit])
        electricity = replace(electricity, values=watts)
        counter = {"resets": resets, "in_gaps_kwh": in_gaps_wh / 1000}
    power = on_grid(electricity, grid)
    anyone = on_grid(series["anyone_home"], grid)
    people = {p.key: on_grid(series[f"person:{p.key}"], grid) for p in config.people}
    result = analyse(grid, power, anyone, people, tz, report_defaults.IDLE_PERCENTILE,
                     report_defaults.IDLE_HOUR_COVERAGE, pricing, insight)
    if counter:
        result["counter"] = counter
        result["energy"]["total_kwh"] += counter["in_gaps_kwh"]
    result["caveats"] += [f"Graphite answered {s.dropped} value(s) of {s.target!r} that are not finite numbers "
                          f"(NaN, infinity, or beyond ±{report_defaults.MAX_RENDER_VALUE:g}): they count as gaps"
                          for s in series.values() if s.dropped]
    result["targets"] = {"electricity": series["electricity"].target,
                         "electricity_kind": "energy counter" if is_counter else "power"}
    return result, (grid, power, anyone)


def report_request(config, args, now):
    """(render URL, (start, end, step, zone)) of a `report` run, its options checked; raises ReportError."""
    homes = getattr(args, "homes", None)
    if homes is not None and args.png:
        raise ReportError("--png draws one home: leave it out with --homes (--csv gives every home's figures "
                          "for a figure of your own)", exits.EX_USAGE)
    if homes is None and getattr(args, "csv", False):
        raise ReportError("--csv gives a row a home of --homes PATTERN; for one home, use --json", exits.EX_USAGE)
    if args.png:
        from presence.report.plot import has_matplotlib

        if not has_matplotlib():
            raise ReportError("--png needs matplotlib, which the daemon itself does not: install it into the "
                              "same environment (e.g. .venv/bin/pip install matplotlib), or leave out --png")
    render_url = (args.render_url or config.report.render_url or "").rstrip("/")
    if not render_url:
        raise ReportError("report reads Graphite's render API: set report.render_url or graphite.render_url "
                          "in the config (graphite-web's address), or pass --render-url", exits.EX_CONFIG)
    tz = household_zone(config.report.timezone)
    start = parse_when(args.from_, now, tz)
    end = parse_when(args.until, now, tz)
    start -= start % report_defaults.REPORT_MIN_STEP
    end -= end % report_defaults.REPORT_MIN_STEP
    if end <= start:
        raise ReportError(f"--from ({args.from_}) must be before --until ({args.until})", exits.EX_USAGE)
    return render_url, (start, end, report_defaults.REPORT_MIN_STEP, tz)


def return_large_buffers():
    """Have glibc's malloc give every buffer of a megabyte or more back to the system when it is freed.

    Left to itself, it raises that threshold after the first large free, so the render answers read in
    parallel threads stay in its per-thread arenas: 85 MB of a year's report held for nothing. Elsewhere
    than glibc, nothing changes."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(report_defaults.M_MMAP_THRESHOLD, report_defaults.LARGE_BUFFER_BYTES)
    except (OSError, AttributeError):
        pass


def run_report(config, args, now, out):
    """The `report` command for one home: fetch, analyse, print (and draw with --png); returns the exit
    status (`--homes` is presence.report.homes.command.run_homes)."""
    try:
        render_url, (start, end, step, tz) = report_request(config, args, now)
        targets, is_counter = report_targets(config, args.power, args.energy_counter)
        pricing = report_pricing(config, args)
        return_large_buffers()
        began = time.monotonic()
        series = fetch_all(render_url, targets, start, end, step, config.report.timeout)
        fetched = time.monotonic()
        result, arrays = build_report(config, series, start, end, tz, is_counter, pricing)
        log.debug("report: fetched %d series (%d points) in %.2f s; analysed in %.2f s", len(series),
                  sum(len(s.values) for s in series.values()), fetched - began, time.monotonic() - fetched)
    except (ReportError, FetchError) as error:
        log.error("report: %s", error)
        return getattr(error, "status", exits.EX_FAILURE)
    names = {p.key: p.name for p in config.people}
    out.write(as_json(result) + "\n" if args.json else as_table(result, names, pricing))
    if args.png:
        from presence.report.plot import draw
        draw(args.png, result, *arrays)
        log.info("Figure written to %s", args.png)
    return exits.EX_OK
