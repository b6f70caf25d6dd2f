"""The study's report as a table (a line a home, then the summary), as JSON, or as CSV (a row a home)."""

import csv
import io

from presence.report.homes.summary import FIGURES, OK, figure
from presence.config import report_defaults
from presence.report.output import number
from presence.safe_text import safe

# The CSV's columns, fixed whatever the homes: (header, where a home's entry has it).
COLUMNS = (("home", ("home",)), ("prefix", ("prefix",)), ("status", ("status",)), ("why", ("why",)),
           ("people", ("people",)), ("start", ("period", "start")), ("end", ("period", "end")),
           ("step_s", ("period", "step_s")), ("power_pct", ("coverage", "power_pct")),
           ("presence_pct", ("coverage", "presence_pct")), ("both_pct", ("coverage", "both_pct")),
           ("total_kwh", ("energy", "total_kwh")), ("empty_kwh", ("energy", "empty_kwh")),
           ("occupied_kwh", ("energy", "occupied_kwh")),
           ("unknown_occupancy_kwh", ("energy", "unknown_occupancy_kwh")),
           ("empty_share_pct", ("energy", "empty_share_pct")), ("empty_h", ("energy", "empty_h")),
           ("occupied_h", ("energy", "occupied_h")), ("mean_w", ("energy", "mean_w")),
           ("mean_empty_w", ("energy", "mean_empty_w")), ("mean_occupied_w", ("energy", "mean_occupied_w")),
           ("idle_w", ("idle", "idle_w")), ("idle_kwh", ("idle", "idle_kwh")),
           ("idle_share_pct", ("idle", "share_pct")),
           ("empty_above_idle_kwh", ("idle", "empty_above_idle_kwh")),
           ("nobody_home_low_w", ("nobody_home", "low_w")), ("nobody_home_high_w", ("nobody_home", "high_w")),
           ("always_on_low_w", ("always_on", "low_w")), ("always_on_high_w", ("always_on", "high_w")),
           ("waste_kwh", ("waste", "kwh")), ("waste_periods", ("waste", "count")))
_FIGURE_NAMES = {"mean_empty_w": ("nobody-home mean power", "W", 0), "idle_w": ("always-on load", "W", 0),
                 "empty_share_pct": ("share used while empty", "%", 1),
                 "idle_share_pct": ("always-on share of the total", "%", 1)}


def _cell(entry, where):
    value = figure(entry, where)
    if where == ("people",):
        return ";".join(row["person"] for row in value) if isinstance(value, list) else ""
    return "" if value is None else value


def as_csv(study):
    """One row a home, the columns of COLUMNS, a header row first."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS])
    for entry in study["homes"]:
        writer.writerow([_cell(entry, where) for _, where in COLUMNS])
    return text.getvalue()


def _home_line(entry):
    head = f"  {safe(entry['home']):<16}"
    if "energy" not in entry:
        return f"{head}{entry['status']}: {safe(entry['why'])}"
    energy, idle, cover = entry["energy"], entry["idle"], entry["coverage"]
    line = (f"{head}{len(entry['people']):>6}{number(cover['both_pct'], '%', 1):>9}"
            f"{number(energy['total_kwh'], 'kWh', 1):>12}{number(energy['empty_kwh'], 'kWh', 1):>11}"
            f"{number(energy['empty_share_pct'], '%', 1):>8}{number(energy['mean_empty_w'], 'W'):>9}"
            f"{number(idle['idle_w'], 'W'):>9}{number(idle['share_pct'], '%', 1):>8}")
    return line if entry["status"] == OK else f"{line}   {entry['status']}: {safe(entry['why'])}"


def _figure_line(key, found):
    label, unit, digits = _FIGURE_NAMES[key]
    cells = "".join(f"{number(found[name], unit, digits):>10}" for name in ("min", "q1", "median", "q3", "max"))
    interval = found["median_interval"]
    said = (f"{number(interval['low'], unit, digits)} to {number(interval['high'], unit, digits)} "
            f"({interval['coverage_pct']:.1f} %)" if interval else found["note"])
    return f"  {label:<30}{cells}   {said}"


def as_study_table(study):
    """The homes, a line each (figures, or why there are none), then the study's summary."""
    summary = study["summary"]
    about = summary["study"]
    lines = [f"Homes matching {safe(about['homes'])}, {about['start'][:16]} to {about['end'][:16]} "
             f"({safe(about['time_zone'])}); electricity: {safe(about['electricity'])}", "",
             f"  {'home':<16}{'people':>6}{'data':>9}{'total':>12}{'empty':>11}{'share':>8}{'mean':>9}"
             f"{'always':>9}{'share':>8}",
             f"  {'':<16}{'':>6}{'both':>9}{'':>12}{'':>11}{'':>8}{'empty':>9}{'on':>9}{'':>8}"]
    lines += [_home_line(entry) for entry in study["homes"]]
    homes, energy = summary["homes"], summary["energy"]
    lines += ["", f"Study: {homes['with_enough_data']} of {homes['listed']} homes with enough data "
                  f"({homes['too_little_data']} with too little, {homes['unreadable']} unreadable)",
              f"  {'over the homes with enough data':<30}" + "".join(f"{name:>10}" for name in
                                                                 ("min", "q1", "median", "q3", "max"))
              + f"   the median's {report_defaults.FLEET_MEDIAN_CONFIDENCE:.0%} interval"]
    lines += [_figure_line(key, summary["distribution"][key]) for key, _ in FIGURES]
    lines += ["", f"Used while nobody was home: {number(energy['empty_kwh'], 'kWh', 1)} of "
                  f"{number(energy['total_kwh'], 'kWh', 1)} ({number(energy['empty_share_pct'], '%', 1)} of the energy "
                  f"whose occupancy is known), {number(energy['empty_above_idle_kwh'], 'kWh', 1)} of it above "
                  "the homes' always-on loads"]
    return "\n".join(lines) + "\n"
