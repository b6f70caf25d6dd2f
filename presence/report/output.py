"""The report as a readable table or as JSON; every number carries its unit."""

import json
import math

from presence.report.output_insight import insight_lines
from presence.safe_text import safe


def as_json(result):
    """JSON proper: a number that is not finite (NaN, infinity) is null."""
    return json.dumps(_finite(result), indent=2, sort_keys=False, allow_nan=False)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def number(value, unit="", digits=0, sign=False):
    """`value` with thousands separators, `digits` decimals and its unit; `-` when it is unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:{'+' if sign else ''},.{digits}f}"
    return f"{text} {unit}".rstrip() if unit else text


def as_table(result, names, pricing=None):
    """`names` maps person keys to display names; `pricing` (presence.report.money.Pricing) shows money."""
    period, cover, energy, idle = result["period"], result["coverage"], result["energy"], result["idle"]
    lines = [
        f"Presence and electricity, {period['start'][:16]} to {period['end'][:16]} ({safe(period['time_zone'])}): "
        f"{number(period['hours_h'], 'h', 1)} at {period['step_s']} s steps",
        f"Data: power {number(cover['power_pct'], '%', 1)}, presence {number(cover['presence_pct'], '%', 1)}, "
        f"both {number(cover['both_pct'], '%', 1)} of the period",
    ]
    if result.get("counter"):
        counter = result["counter"]
        lines.append(f"Energy counter: {counter['resets']} reset(s); {number(counter['in_gaps_kwh'], 'kWh', 2)} used "
                     "across gaps in its readings (in the total, not in the split: when is unknown)")
    lines += [
        "",
        f"{'Energy':<34}{'energy':>12}{'share':>9}{'mean power':>13}{'time':>11}",
        f"{'  total':<34}{number(energy['total_kwh'], 'kWh', 2):>12}{'':>9}{number(energy['mean_w'], 'W'):>13}",
        f"{'  while nobody was home':<34}{number(energy['empty_kwh'], 'kWh', 2):>12}"
        f"{number(energy['empty_share_pct'], '%', 1):>9}{number(energy['mean_empty_w'], 'W'):>13}"
        f"{number(energy['empty_h'], 'h', 1):>11}",
        f"{'  while someone was home':<34}{number(energy['occupied_kwh'], 'kWh', 2):>12}"
        f"{number(energy['occupied_share_pct'], '%', 1):>9}{number(energy['mean_occupied_w'], 'W'):>13}"
        f"{number(energy['occupied_h'], 'h', 1):>11}",
    ]
    if energy["unknown_occupancy_kwh"]:
        lines.append(f"{'  presence unknown':<34}{number(energy['unknown_occupancy_kwh'], 'kWh', 2):>12}")
    lines += [
        "",
        f"Idle (\"always on\") load: {number(idle['idle_w'], 'W')} ({idle['method']}, "
        f"over {idle['hours_used_h']} hours with power data)",
        f"  {number(idle['idle_kwh'], 'kWh', 2)} over the period, {number(idle['share_pct'], '%', 1)} of the total",
        f"  used while nobody was home, above the idle load: {number(idle['empty_above_idle_kwh'], 'kWh', 2)}",
        "",
        f"{'People home':<14}{'time':>11}{'mean power':>13}{'energy':>12}",
    ]
    lines += [f"  {row['people_home']:<12}{number(row['hours_h'], 'h', 1):>11}{number(row['mean_w'], 'W'):>13}"
              f"{number(row['energy_kwh'], 'kWh', 2):>12}" for row in result["by_people_home"]]
    lines += ["", f"{'Person':<20}{'at home':>11}   extra power while home (95 % interval)"]
    for row in result["people"]:
        extra = (f"{number(row['extra_w'], '', 0, sign=True)} ± {number(row['plus_minus_w'])} W"
                 if row["extra_w"] is not None else "no estimate")
        name = safe(names.get(row["person"], row["person"]))
        lines.append(f"  {name:<18}{number(row['hours_home_h'], 'h', 1):>11}   {extra}")
    lines += [f"  Note: {safe(note)}" for note in result["caveats"]]
    lines += ["", f"{'Hour':<6}{'weekdays: someone home':>24}{'mean power':>12}{'weekends: someone home':>26}"
                  f"{'mean power':>12}"]
    for weekday, weekend in zip(result["profile"]["weekday"], result["profile"]["weekend"]):
        lines.append(f"{weekday['hour']:02d}:00{number(weekday['someone_home_pct'], '%'):>24}"
                     f"{number(weekday['mean_w'], 'W'):>12}{number(weekend['someone_home_pct'], '%'):>26}"
                     f"{number(weekend['mean_w'], 'W'):>12}")
    lines += insight_lines(result, pricing, number)
    return "\n".join(lines) + "\n"
