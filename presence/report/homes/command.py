"""`report --homes PATTERN`: every home of a study through `report`'s own figures, then the study's summary."""

import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from dataclasses import replace

from presence import exits
from presence.config import report_defaults
from presence.config.model import Person
from presence.report.command import (ReportError, build_report, electricity_metric, report_request,
                                     return_large_buffers)
from presence.report.fetch import FetchError, Series
from presence.report.homes.fetch import expand, read_batch
from presence.report.homes.output import as_csv, as_study_table
from presence.report.homes.pattern import (ANYONE, ELECTRICITY, HomePattern, PatternError, batches,
                                           check_template, electricity_of)
from presence.report.homes.summary import OK, TOO_LITTLE, UNREADABLE, summarise
from presence.report.series import has_data
from presence.report.output import as_json

log = logging.getLogger(__name__)


def shortfalls(result):
    """Why a home's report is too thin for the study's figures ([] when it is not)."""
    why = []
    empty_h = result["energy"]["empty_h"]
    if not empty_h:
        why.append("never empty while its power was measured")
    elif empty_h < report_defaults.FLEET_MIN_EMPTY_H:
        why.append(f"only {empty_h:.2f} h empty while its power was measured (the study's figures need "
                   f"{report_defaults.FLEET_MIN_EMPTY_H:g} h)")
    if result["idle"]["idle_w"] is None:
        why.append(f"no clock hour with {report_defaults.IDLE_HOUR_COVERAGE:.0%} of its minutes of power data: "
                   "no always-on load")
    return why


def _missing(home, found, metric):
    """Why the home's series cannot make a report ([] when they can)."""
    why = []
    electricity = found[ELECTRICITY]
    if not electricity:
        why.append(f"no electricity series: {metric!r} names none")
    elif len(electricity) > 1:
        why.append(f"{metric!r} matches {len(electricity)} series: name exactly one (or combine them, e.g. "
                   "sumSeries(...))")
    elif not has_data(electricity[0].values):
        why.append(f"no electricity data in this period ({metric!r})")
    anyone = found[ANYONE]
    if not home.has_presence or not anyone:
        why.append(f"no presence series: nothing at {home.path}.presence.{ANYONE}")
    elif not has_data(anyone[0].values):
        why.append("no presence data in this period")
    return why


def home_entry(config, home, found, period, template, is_counter):
    """One home's entry: its report's figures with status ok, or too little data and why."""
    start, end, step, tz = period
    entry = {"home": home.name, "prefix": f"{home.path}.presence"}
    metric = electricity_of(template, home)
    why = _missing(home, found, metric)
    if why:
        return {**entry, "status": TOO_LITTLE, "why": "; ".join(why)}
    series = {"electricity": replace(found[ELECTRICITY][0], target=metric), "anyone_home": found[ANYONE][0]}
    for key in home.people:
        # A person found by the look-up but not answered since: never home in the period, as report counts it.
        series[f"person:{key}"] = (found.get(f"person:{key}") or [Series(key, start, step, [])])[0]
    people = tuple(Person(name=key, key=key) for key in home.people)
    try:
        result, _ = build_report(replace(config, people=people), series, start, end, tz, is_counter,
                                 insight="study")
    except ReportError as error:
        return {**entry, "status": TOO_LITTLE, "why": str(error)}
    why = shortfalls(result)
    return {**entry, "status": TOO_LITTLE if why else OK, **({"why": "; ".join(why)} if why else {}), **result}


def _read_batches(render_url, pattern, groups, template, is_counter, start, end, step, timeout):
    """(batch, Answer or FetchError) in order; the next batch is read while one is analysed."""
    def read(batch):
        try:
            return read_batch(render_url, pattern.requests(batch, template, is_counter), start, end, step, timeout)
        except FetchError as error:
            return error

    pool = ThreadPoolExecutor(max_workers=1)
    # The reading thread needs the interpreter for each block of an answer while this one analyses: at the
    # default 5 ms a hand-over, graphite-web would wait on a full socket for most of a batch.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, report_defaults.FLEET_SWITCH_INTERVAL))
    try:
        pending = pool.submit(read, groups[0]) if groups else None
        for index, batch in enumerate(groups):
            answer = pending.result()
            pending = pool.submit(read, groups[index + 1]) if index + 1 < len(groups) else None
            yield batch, answer
    finally:
        sys.setswitchinterval(interval)
        pool.shutdown(cancel_futures=True)


def study_report(config, homes_glob, metric, is_counter, render_url, period):
    """`{"homes": [...], "summary": {...}}` of every home `homes_glob` matches; raises FetchError when
    Graphite cannot be read at all (the look-up, or the first batch)."""
    start, end, step, tz = period
    pattern = HomePattern(homes_glob)
    timeout = config.report.timeout
    began = time.monotonic()
    queries = pattern.queries(metric)
    homes, odd = pattern.homes(expand(render_url, queries, timeout), metric)
    if not homes and not odd:
        raise ReportError(f"no home matches --homes {homes_glob!r}: Graphite has no series named "
                          f"{' or '.join(queries.values())}")
    entries = [{"home": pattern.name(path), "prefix": f"{path}.presence", "status": UNREADABLE, "why": why}
               for path, why in odd.items()]
    groups = batches(homes, (end - start) // step + 2, report_defaults.FLEET_BATCH_POINTS,
                     report_defaults.FLEET_BATCH_HOMES)
    requests, analysing = 1, 0.0
    for index, (batch, answer) in enumerate(_read_batches(render_url, pattern, groups, metric, is_counter,
                                                          start, end, step, timeout)):
        if isinstance(answer, FetchError):
            if index == 0:
                raise answer
            log.warning("report --homes: %d home(s) not read: %s", len(batch), answer)
            entries += [{"home": home.name, "prefix": f"{home.path}.presence", "status": UNREADABLE,
                         "why": str(answer)} for home in batch]
            continue
        requests += 1 + len(answer.requests)
        mark = time.monotonic()
        for home in batch:
            found = answer.take(home.path, (ANYONE, ELECTRICITY) + tuple(f"person:{key}" for key in home.people),
                                start, step)
            entries.append(home_entry(config, home, found, period, metric, is_counter))
        analysing += time.monotonic() - mark
    entries.sort(key=lambda entry: entry["prefix"])
    log.debug("report --homes: %d homes in %d batch(es), %d requests; %.2f s in all, %.2f s analysing",
              len(entries), len(groups), requests, time.monotonic() - began, analysing)
    summary = summarise(entries)
    summary["study"] = {"homes": homes_glob, "electricity": metric, "start": _iso(start, tz), "end": _iso(end, tz),
                        "time_zone": str(tz), "requests": requests}
    return {"homes": entries, "summary": summary}


def _iso(stamp, tz):
    return datetime.fromtimestamp(stamp, tz).isoformat()


def run_homes(config, args, now, out):
    """`report --homes`: the study's report printed as a table, JSON (--json) or CSV (--csv); the exit status."""
    try:
        render_url, period = report_request(config, args, now)
        metric, is_counter, flag = electricity_metric(config, args.power, args.energy_counter)
        check_template(metric, flag)
        return_large_buffers()
        study = study_report(config, args.homes, metric, is_counter, render_url, period)
    except PatternError as error:
        log.error("report: %s", error)
        return exits.EX_USAGE
    except (ReportError, FetchError) as error:
        log.error("report: %s", error)
        return getattr(error, "status", exits.EX_FAILURE)
    if args.json:
        out.write(as_json(study) + "\n")
    elif getattr(args, "csv", False):
        out.write(as_csv(study))
    else:
        out.write(as_study_table(study))
    return exits.EX_OK
